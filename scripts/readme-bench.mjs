#!/usr/bin/env node
// The README's benchmark table comes from bench/results.md (which `npm run bench` writes), never by hand:
// this copies the measured block (the machine, the method and the results table) between the README's
// marker comments, and with --check (run by `npm run lint`) fails when the README holds a placeholder such
// as **BENCH**, lacks the markers, or shows a table that differs from bench/results.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const START = '<!-- bench:start: written by scripts/readme-bench.mjs from bench/results.md, not by hand -->';
const START_PREFIX = '<!-- bench:start';
const END = '<!-- bench:end -->';
/** A line that is only a bold all-caps word (`**BENCH**`, `**TABLE**`): text that was never filled in. */
const PLACEHOLDER = /^\s*\*\*[A-Z][A-Z0-9_-]*\*\*\s*$/;

const USAGE = `usage: node scripts/readme-bench.mjs [--check] [--readme FILE] [--results FILE]
  Copies the results table of bench/results.md into README.md between ${START_PREFIX} … --> and ${END}.
  --check   change nothing; exit 1 if README.md holds a placeholder or a table that differs from bench/results.md`;

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { check: false, readme: path.join(ROOT, 'README.md'), results: path.join(ROOT, 'bench', 'results.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') opts.check = true;
    else if (a === '--readme' || a === '--results') {
      const v = argv[++i];
      if (!v) throw new UsageError(`${a} needs a file`);
      opts[a.slice(2)] = path.resolve(v);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new UsageError(`unknown argument ${JSON.stringify(a)}`);
  }
  return opts;
}

const lines = (text) => text.replace(/\r\n/g, '\n').split('\n');

/** The block the README shows: from "Measured on:" to the end of the first table after it. */
export function measuredBlock(resultsText, resultsName = 'bench/results.md') {
  const all = lines(resultsText);
  const from = all.findIndex((l) => l.startsWith('Measured on:'));
  if (from < 0) throw new Error(`${resultsName} has no "Measured on:" line`);
  const tableStart = all.findIndex((l, i) => i > from && l.startsWith('|'));
  if (tableStart < 0) throw new Error(`${resultsName} has no results table after "Measured on:"`);
  let end = tableStart;
  while (end < all.length && all[end].startsWith('|')) end++;
  if (end - tableStart < 3) throw new Error(`${resultsName}: the results table has no rows`);
  const block = all.slice(from, end);
  const bad = block.findIndex((l) => PLACEHOLDER.test(l));
  if (bad >= 0) throw new Error(`${resultsName}:${from + bad + 1}: placeholder ${block[bad].trim()} in the results`);
  return block;
}

/** Where the markers are: line indexes of the start and end comments, or problems. */
function markers(readme) {
  const starts = [];
  const ends = [];
  readme.forEach((l, i) => {
    if (l.trim().startsWith(START_PREFIX)) starts.push(i);
    if (l.trim() === END) ends.push(i);
  });
  return { starts, ends };
}

/** What is wrong with the README's benchmark section; empty when it shows exactly the measured block. */
export function problems(readmeText, resultsText, names = { readme: 'README.md', results: 'bench/results.md' }) {
  const out = [];
  const readme = lines(readmeText);
  readme.forEach((l, i) => {
    if (PLACEHOLDER.test(l) || l.includes('**BENCH**')) out.push(`${names.readme}:${i + 1}: placeholder ${l.trim()} where text belongs`);
  });
  let block;
  try {
    block = measuredBlock(resultsText, names.results);
  } catch (err) {
    return [...out, err.message];
  }
  const { starts, ends } = markers(readme);
  if (starts.length !== 1 || ends.length !== 1 || ends[0] < starts[0]) {
    out.push(
      `${names.readme}: needs one "${START_PREFIX} … -->" line and one "${END}" line after it (found ${starts.length} and ${ends.length})`,
    );
    return out;
  }
  const shown = readme.slice(starts[0] + 1, ends[0]);
  const expected = ['', ...block, ''];
  const n = Math.max(shown.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (shown[i] !== expected[i]) {
      out.push(
        `${names.readme}:${starts[0] + 2 + i}: differs from ${names.results}` +
          `\n  README:  ${shown[i] === undefined ? '(missing)' : shown[i].slice(0, 160)}` +
          `\n  results: ${expected[i] === undefined ? '(nothing more)' : expected[i].slice(0, 160)}` +
          `\n  run: node scripts/readme-bench.mjs`,
      );
      break;
    }
  }
  // A copy of the results table elsewhere in the README would go stale unseen.
  const header = block.find((l) => l.startsWith('|'));
  const norm = (l) => l.replace(/\s+/g, ' ').trim();
  readme.forEach((l, i) => {
    if ((i < starts[0] || i > ends[0]) && l.startsWith('|') && norm(l) === norm(header))
      out.push(`${names.readme}:${i + 1}: a results table outside the bench markers`);
  });
  return out;
}

/** The README with the measured block between the markers (put where the placeholder was, the first time). */
export function updated(readmeText, resultsText, names = { readme: 'README.md', results: 'bench/results.md' }) {
  const block = measuredBlock(resultsText, names.results);
  const readme = lines(readmeText);
  const section = [START, '', ...block, '', END];
  const { starts, ends } = markers(readme);
  if (starts.length === 1 && ends.length === 1 && ends[0] > starts[0]) readme.splice(starts[0], ends[0] - starts[0] + 1, ...section);
  else if (starts.length === 0 && ends.length === 0) {
    const at = readme.findIndex((l) => l.trim() === '**BENCH**');
    if (at < 0) throw new Error(`${names.readme} has neither the bench markers nor a **BENCH** placeholder to replace`);
    readme.splice(at, 1, ...section);
  } else throw new Error(`${names.readme}: the bench markers are broken (found ${starts.length} start and ${ends.length} end lines)`);
  return readme.join('\n');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const names = { readme: path.relative(process.cwd(), opts.readme) || opts.readme, results: path.relative(process.cwd(), opts.results) };
  const readmeText = fs.readFileSync(opts.readme, 'utf8');
  const resultsText = fs.readFileSync(opts.results, 'utf8');
  if (opts.check) {
    const found = problems(readmeText, resultsText, names);
    if (found.length > 0) {
      process.stderr.write(`readme-bench: ${found.join('\nreadme-bench: ')}\n`);
      return 1;
    }
    return 0;
  }
  const next = updated(readmeText, resultsText, names);
  if (next !== readmeText) {
    fs.writeFileSync(opts.readme, next);
    process.stdout.write(`readme-bench: copied the table of ${names.results} into ${names.readme}\n`);
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main();
  } catch (err) {
    process.stderr.write(`readme-bench: ${err.message}\n${err instanceof UsageError ? `\n${USAGE}\n` : ''}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}
