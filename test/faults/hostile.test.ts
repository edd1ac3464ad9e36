// Hostile names are data, never markup or terminal control: labels, command lines, process names and file
// names (in an image layer and in a container's writable layer) holding HTML, script, Markdown links,
// `command:` URIs, newlines, tabs, ESC, bidi overrides, 4 000-byte paths and invalid UTF-8, put into real
// containers, then read through the CLI: escaped in its tables, exact in its JSON.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import { DirectHostFiles } from '../../src/core/util/hostFiles';
import type { LayerChange, LayerReport, Snapshot } from '../../src/shared/model';
import { printable } from '../../src/shared/text';
import { buildImage, docker, ensureBaseImage, inspect, removeContainers, requireDocker, runContainer } from '../support/docker';
import { DANGEROUS, cli, decodeTarName, waitFor } from './support';

const IMAGE = 'xray-fault-hostile:1';
const NAME = 'xray-fault-hostile';

/** Creates the hostile names under $1 (bytes through printf octal escapes, so invalid UTF-8 is possible). */
const MAKE_NAMES = String.raw`set -e
mkdir -p "$1" && cd "$1"
touch 'img<img src=x onerror=alert(1)>'
mkdir -p '<script>alert(1)<' && touch '<script>alert(1)</script>'
touch '[x](command:workbench.action.terminal.new)'
touch "$(printf 'nl\nname')"
touch "$(printf 'tab\tname')"
touch "$(printf 'esc\033[31mred\033[0m')"
touch "$(printf 'bidi\342\200\256txt.exe')"
touch "$(printf 'bad\377\376.txt')"
mkdir "$(printf 'baddir\377')" && touch "$(printf 'baddir\377/inside')"
d=$(head -c 250 /dev/zero | tr '\0' 'd')
p=deep
for i in $(seq 1 15); do p="$p/$d"; done
p="$p/$(head -c 216 /dev/zero | tr '\0' 'e')"
mkdir -p "$p" && echo end > "$p/end"
`;

// NAME_MAX is 255 bytes, so a long path is a deep one: /hostile/deep/<250 d>×15/<216 e>/end is 3 999 bytes,
// as long as a path in a layer can be while its host path (/var/lib/docker/overlay2/<id>/diff/…, 94 bytes
// more) still fits PATH_MAX (4 096). Docker itself drops deeper entries from a built layer.
const DEEP = ['deep', ...Array.from({ length: 15 }, () => 'd'.repeat(250)), 'e'.repeat(216)];
/** The names MAKE_NAMES creates, as the engine must show them (invalid UTF-8 bytes as U+FFFD). */
const HOSTILE_PATHS = [
  'img<img src=x onerror=alert(1)>',
  '<script>alert(1)<',
  '<script>alert(1)</script>',
  '[x](command:workbench.action.terminal.new)',
  'nl\nname',
  'tab\tname',
  'esc\x1b[31mred\x1b[0m',
  'bidi\u202etxt.exe',
  'bad\ufffd\ufffd.txt',
  'baddir\ufffd',
  'baddir\ufffd/inside',
  ...DEEP.map((_, i) => DEEP.slice(0, i + 1).join('/')),
  [...DEEP, 'end'].join('/'),
];

/** Processes with a hostile command line (invalid UTF-8 in argv) and a hostile name (comm, set by the exec'd file's name). */
const PROCS = String.raw`n="/tmp/$(printf 'busybox\\n\n\033\342\200\256')"
ln -sf /bin/busybox "$n"
"$n" sleep 1002 &
sh -c 'sleep 1003; :' "$(printf 'argv0\377\376\033[31m')" &
wait
`;
/** The kernel truncates comm to 15 bytes: "busybox" + backslash, "n", newline, ESC, U+202E (3 bytes). */
const HOSTILE_COMM = 'busybox\\n\n\x1b\u202e';

const LONG = `${'<img src=x onerror=alert(1)>'.repeat(150)}`;
const LABELS: Record<string, string> = {
  'container-xray.test': '1',
  'xray.html': '<img src=x onerror=alert(1)><script>alert(1)</script>',
  'xray.md': '[x](command:workbench.action.terminal.new) **bold** `code`',
  'xray.ctl': 'line1\nline2\ttab\x1b[31mred\x1b[0m\u202eevil\u2066',
  'xray.long': LONG,
};
const SCRIPT = `: '<img src=x onerror=alert(1)>' '[x](command:workbench.action.terminal.new)' '\x1b[31mred\x1b[0m' '\u202eevil' 'line1\nline2'; sh /procs.sh; :`;

function dockerfile(base: string): string {
  return [
    `FROM ${base}`,
    'COPY make.sh procs.sh /',
    'RUN sh /make.sh /hostile',
    // A RUN line that is itself hostile: its text becomes the layer's CREATED BY.
    `RUN : '\x1b[31mred\x1b[0m' '\u202eevil' '<img src=x onerror=alert(1)>' '[x](command:workbench.action.terminal.new)' && touch /run-marker`,
    'LABEL xray.image="<script>alert(1)</script>"',
    '',
  ].join('\n');
}

/** Each layer tar of `docker save`, listed by tar(1) with its escapes decoded: the paths it holds. */
function savedLayerPaths(ref: string): string[][] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-fault-save-'));
  try {
    execFileSync('sh', ['-c', 'docker save "$1" | tar -C "$2" -x', 'sh', ref, dir], { maxBuffer: 1024 * 1024 });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    return manifest[0].Layers.map((l) =>
      execFileSync('tar', ['--quoting-style=escape', '-tf', path.join(dir, l)], {
        encoding: 'latin1',
        env: { ...process.env, LC_ALL: 'C' },
        maxBuffer: 256 * 1024 * 1024,
      })
        .split('\n')
        .filter((n) => n !== '')
        .map((n) => decodeTarName(n).replace(/^\.\//, '').replace(/\/$/, ''))
        .filter((n) => n !== '' && n !== '.'),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A human CLI output: no raw control character but the line breaks between rows. */
function assertNoRawControls(out: string, what: string): void {
  const bad = out.split('\n').find((l) => DANGEROUS.test(l));
  assert.equal(bad, undefined, `${what}: a raw control or bidi character reaches the terminal in ${JSON.stringify(bad)}`);
}

describe('faults: hostile names in containers and layers, through the CLI', function () {
  this.timeout(240000);
  let id = '';

  before(async () => {
    requireDocker();
    const base = await ensureBaseImage();
    await docker(['rm', '-f', NAME]).catch(() => undefined);
    await buildImage(IMAGE, dockerfile(base), { 'make.sh': MAKE_NAMES, 'procs.sh': PROCS });
    const labelArgs = Object.entries(LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    id = await runContainer([
      '--name',
      NAME,
      '--network',
      'none',
      ...labelArgs,
      '--env',
      `EVIL=${LABELS['xray.ctl']}`,
      IMAGE,
      'sh',
      '-c',
      SCRIPT,
    ]);
    // The hostile names in the container's writable layer.
    await docker(['exec', NAME, 'sh', '/make.sh', '/w']);
    await waitFor(
      async () => ((await docker(['top', NAME, '-o', 'pid,args'])).includes('sleep 1003') ? true : undefined),
      20000,
      'the hostile processes to start',
    );
  });

  after(async () => {
    await removeContainers([NAME]);
    await docker(['rmi', '-f', IMAGE]).catch(() => undefined);
  });

  it('snapshot --json: labels come back exactly as docker inspect holds them', async () => {
    const r = cli(['snapshot', '--json', NAME]);
    assert.equal(r.code, 0, r.stderr);
    const snap = JSON.parse(r.stdout) as Snapshot;
    const c = snap.containers.find((x) => x.id === id);
    assert.ok(c, `the container ${id} is in the snapshot`);
    const info = await inspect<{ Config: { Labels: Record<string, string> } }>(id);
    assert.deepEqual(c.labels, info.Config.Labels);
    for (const [k, v] of Object.entries(LABELS)) assert.equal(c.labels[k], v, `label ${k}`);
  });

  it('snapshot --json: command lines and process names as the kernel holds them (invalid UTF-8 as U+FFFD)', () => {
    const r = cli(['snapshot', '--json', NAME]);
    assert.equal(r.code, 0, r.stderr);
    const c = (JSON.parse(r.stdout) as Snapshot).containers.find((x) => x.id === id)!;
    assert.equal(c.state, 'running', JSON.stringify(c.errors));
    const init = c.processes.find((p) => p.hostPid === c.pid);
    assert.ok(init, 'the init process is listed');
    assert.equal(init.command, `sh -c ${SCRIPT}`);
    // Every process: the command equals /proc/PID/cmdline decoded as UTF-8 (what JSON can carry).
    for (const p of c.processes) {
      let raw: Buffer;
      try {
        raw = fs.readFileSync(`/proc/${p.hostPid}/cmdline`);
      } catch {
        continue; // exited since
      }
      const args = raw.toString('utf8').split('\0');
      if (args[args.length - 1] === '') args.pop();
      assert.equal(p.command, args.join(' '), `command of PID ${p.hostPid}`);
    }
    const argv = c.processes.find((p) => p.command.includes('argv0'));
    assert.ok(argv, `a process whose argv holds invalid UTF-8: ${JSON.stringify(c.processes.map((p) => p.command))}`);
    assert.equal(argv.command, 'sh -c sleep 1003; : argv0\ufffd\ufffd\x1b[31m');
    const comm = c.processes.find((p) => p.name.startsWith('busybox'));
    assert.ok(comm, `a process named by its hostile file name: ${JSON.stringify(c.processes.map((p) => p.name))}`);
    assert.equal(comm.name, HOSTILE_COMM, 'the Name of /proc/PID/status, unescaped exactly');
  });

  it('snapshot (table): every cell printable, no raw ESC, newline or bidi control reaches the terminal', () => {
    const r = cli(['snapshot', NAME]);
    assert.equal(r.code, 0, r.stderr);
    assertNoRawControls(r.stdout, 'snapshot');
    assertNoRawControls(r.stderr, 'snapshot stderr');
    assert.match(r.stdout.split('\n')[1], new RegExp(`^${NAME}\\s+${id.slice(0, 12)}\\s+running`));
  });

  let imageReport: LayerReport;

  it('layers IMAGE --json: every layer holds exactly the paths its tar in docker save holds (tar -t, escapes decoded)', () => {
    const r = cli(['layers', '--json', IMAGE]);
    assert.equal(r.code, 0, r.stderr);
    imageReport = JSON.parse(r.stdout) as LayerReport;
    const saved = savedLayerPaths(IMAGE);
    assert.equal(imageReport.layers.length, saved.length);
    imageReport.layers.forEach((l, i) => {
      const held = l.changes.filter((c) => c.kind !== 'deleted').map((c) => c.path.slice(1));
      assert.deepEqual([...held].sort(), [...saved[i]].sort(), `layer ${i}`);
    });
    const hostileLayer = imageReport.layers.find((l) => l.changes.some((c) => c.path === '/hostile'))!;
    const paths = new Set(hostileLayer.changes.map((c) => c.path));
    for (const p of HOSTILE_PATHS) assert.ok(paths.has(`/hostile/${p}`), `the image layer lists /hostile/${JSON.stringify(p)}`);
    const deepEnd = hostileLayer.changes.find((c) => c.path.endsWith('/end'))!;
    assert.equal(Buffer.byteLength(deepEnd.path), 3999);
    assert.equal(deepEnd.type, 'file');
    assert.equal(deepEnd.sizeBytes, 4);
    assert.equal(
      hostileLayer.changes.find((c) => c.path === '/hostile/baddir\ufffd')?.type,
      'dir',
      'a directory with an invalid UTF-8 name keeps its type',
    );
  });

  it('layers IMAGE read through docker save (tar-split unreadable) lists the same paths as from tar-split', async () => {
    // Denying layerdb's tar-split files sends the engine to `docker save`, read by tar-stream.
    class NoTarSplit extends DirectHostFiles {
      override readBytes(file: string): Promise<Buffer> {
        if (file.endsWith('/tar-split.json.gz'))
          return Promise.reject(Object.assign(new Error(`EACCES: permission denied, open '${file}'`), { code: 'EACCES' }));
        return super.readBytes(file);
      }
    }
    const engine = await Engine.create({ files: new NoTarSplit(), diskCache: false });
    const saved = await engine.layers(IMAGE);
    assert.ok(
      saved.layers.every((l) => l.source === 'image-tar'),
      `read through docker save: ${saved.layers.map((l) => l.source).join(', ')}`,
    );
    assert.equal(saved.layers.length, imageReport.layers.length);
    saved.layers.forEach((l, i) => {
      const paths = (changes: LayerChange[]) =>
        changes.map((c) => `${c.kind} ${c.type} ${c.path} ${c.sizeBytes} ${c.linkTarget ?? ''}`).sort();
      assert.deepEqual(paths(l.changes), paths(imageReport.layers[i].changes), `layer ${i}: docker save and tar-split agree`);
    });
  });

  it('layers IMAGE (table, --all): hostile names and the hostile RUN line shown escaped, one line per change', () => {
    const r = cli(['layers', '--all', IMAGE]);
    assert.equal(r.code, 0, r.stderr);
    assertNoRawControls(r.stdout, 'layers --all');
    for (const p of HOSTILE_PATHS.slice(0, 11)) assert.ok(r.stdout.includes(printable(`/hostile/${p}`)), `shows ${printable(p)}`);
    assert.ok(
      r.stdout.includes(printable("/bin/sh -c : '\x1b[31mred\x1b[0m' '\u202eevil' '<img src=x onerror=alert(1)>'")),
      'the RUN line is shown with its controls escaped',
    );
    const lines = r.stdout.split('\n');
    imageReport.layers.forEach((l) => {
      const start = lines.indexOf(`Layer ${l.index}:`);
      assert.ok(start >= 0, `a "Layer ${l.index}:" section`);
      const section = lines.slice(start + 1);
      const end = section.indexOf('');
      assert.equal(end < 0 ? section.length : end, l.changes.length, `layer ${l.index}: one line per change, none broken by a name`);
    });
  });

  it('layers CONTAINER --json: the writable layer lists every hostile name the container created', () => {
    const r = cli(['layers', '--json', NAME]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as LayerReport;
    assert.ok(report.upper, 'a writable layer');
    const byPath = new Map<string, LayerChange>(report.upper.changes.map((c) => [c.path, c]));
    const missing = HOSTILE_PATHS.filter((p) => !byPath.has(`/w/${p}`));
    assert.deepEqual(
      missing,
      [],
      `names missing from the writable layer (upper dir ${report.upper.dir}); errors: ${JSON.stringify(report.errors)}`,
    );
    assert.equal(byPath.get('/w/baddir\ufffd')?.type, 'dir');
    assert.equal(byPath.get('/w/baddir\ufffd/inside')?.type, 'file');
    assert.equal(byPath.get(`/w/${[...DEEP, 'end'].join('/')}`)?.sizeBytes, 4);
    // The daemon's own change list (docker diff) fails on the 3 990-byte path (its host path exceeds
    // PATH_MAX), so the oracle is find(1) inside the container: /w exists only in its writable layer.
    const daemon = JSON.parse(
      execFileSync('curl', ['-s', '--unix-socket', '/var/run/docker.sock', `http://localhost/containers/${id}/changes`], {
        encoding: 'utf8',
      }),
    ) as { Path: string }[] | { message: string };
    assert.ok(
      !Array.isArray(daemon) && /too long/i.test(daemon.message),
      `docker diff gives up on the long path: ${JSON.stringify(daemon).slice(0, 200)}`,
    );
    const found = execFileSync('docker', ['exec', NAME, 'find', '/w', '-print0'], { maxBuffer: 64 * 1024 * 1024 })
      .toString('utf8')
      .split('\0')
      .filter((p) => p.startsWith('/w'));
    const ours = new Set(report.upper.changes.map((c) => c.path).filter((p) => p.startsWith('/w')));
    assert.deepEqual([...ours].sort(), [...new Set(found)].sort(), 'the writable layer under /w equals find /w inside the container');
  });

  it('layers CONTAINER (table): the writable layer printed escaped, one line per change', () => {
    const r = cli(['layers', NAME]);
    assert.equal(r.code, 0, r.stderr);
    assertNoRawControls(r.stdout, 'layers CONTAINER');
    const lines = r.stdout.split('\n');
    const start = lines.indexOf('Writable layer:');
    assert.ok(start >= 0, r.stdout.slice(0, 2000));
    const section = lines.slice(start + 1, start + 1 + lines.slice(start + 1).indexOf(''));
    assert.ok(
      section.every((l) => /^ {2}[ACD] \//.test(l)),
      `every line is one change: ${JSON.stringify(section.find((l) => !/^ {2}[ACD] \//.test(l)))}`,
    );
    for (const p of ['esc\x1b[31mred\x1b[0m', 'nl\nname', 'bidi\u202etxt.exe', 'tab\tname'])
      assert.ok(
        section.some((l) => l.includes(printable(`/w/${p}`))),
        `shows ${printable(p)}`,
      );
  });

  it('layers CONTAINER still reports when a path in the writable layer is too long for the host (PATH_MAX)', async () => {
    // 4 028 bytes inside the container, 4 122 on the host: lstat(2) of the host path fails with ENAMETOOLONG
    // (docker diff fails on it too). The report must still come, with the rest of the layer.
    await docker([
      'exec',
      NAME,
      'sh',
      '-c',
      `d=$(head -c 250 /dev/zero | tr '\\0' 'd'); p=/w2/deep; for i in $(seq 1 16); do p="$p/$d"; done; mkdir -p "$p" && echo end > "$p/end"`,
    ]);
    const r = cli(['layers', '--json', NAME]);
    assert.equal(r.code, 0, `layers of a container holding a 4 028-byte path: ${r.stderr.slice(0, 300)}…`);
    const report = JSON.parse(r.stdout) as LayerReport;
    const paths = new Set(report.upper?.changes.map((c) => c.path));
    for (const p of HOSTILE_PATHS) assert.ok(paths.has(`/w/${p}`), `still lists /w/${JSON.stringify(p).slice(0, 80)}`);
    const listed = [...paths].some((p) => p.startsWith('/w2/deep/') && p.endsWith('/end'));
    assert.ok(
      listed || report.errors.some((e) => /too long|ENAMETOOLONG/.test(e.reason)),
      'the too-long path is listed, or the report says it could not be read',
    );
  });
});
