// Loads the cgroup fixture trees of test/fixtures/cgroups: each holds a host's mountinfo, a container
// init's /proc/PID/cgroup and the cgroup files under sys/fs/cgroup, read through DirectHostFiles.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { CgroupMounts, findCgroupMounts } from '../../../src/core/cgroups/parse';
import { parseMountinfo } from '../../../src/core/procfs/mountinfo';
import { DirectHostFiles, HostFileError, HostFiles } from '../../../src/core/util/hostFiles';

// Compiled tests run from out/test/unit/cgroups; the fixtures stay in the source tree.
export const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/cgroups');

export interface Fixture {
  /** The fixture directory, the root files are read under. */
  dir: string;
  files: HostFiles;
  procCgroup: string;
  mounts: CgroupMounts;
}

export function loadFixture(name: string): Fixture {
  const dir = path.join(FIXTURES, name);
  const mi = parseMountinfo(readFileSync(path.join(dir, 'mountinfo'), 'utf8'));
  if (mi.errors.length) throw new Error(`fixture ${name} mountinfo: ${mi.errors.join('; ')}`);
  return {
    dir,
    files: new DirectHostFiles(dir),
    procCgroup: readFileSync(path.join(dir, 'proc-cgroup'), 'utf8'),
    mounts: findCgroupMounts(mi.entries),
  };
}

/** The 64-hex container id in a fixture's /proc/PID/cgroup. */
export function fixtureId(f: Fixture): string {
  const m = /[0-9a-f]{64}/.exec(f.procCgroup);
  if (!m) throw new Error('no container id in proc-cgroup');
  return m[0];
}

/**
 * The fixture's files with chosen ones replaced: a string is the file's text, `{ code }` makes the
 * read fail with that errno code (EACCES, ENOENT …). Extends DirectHostFiles so it keeps up with
 * the HostFiles interface.
 */
export class OverrideFiles extends DirectHostFiles {
  constructor(
    root: string,
    private readonly overrides: Map<string, string | { code: string }>,
  ) {
    super(root);
  }

  private override(file: string): string | undefined {
    const o = this.overrides.get(file);
    if (o === undefined) return undefined;
    if (typeof o === 'string') return o;
    throw new HostFileError(o.code, file, `${o.code}: ${file}`);
  }

  override async readText(file: string): Promise<string> {
    return this.override(file) ?? super.readText(file);
  }

  override async listDir(dir: string): Promise<string[]> {
    this.override(dir);
    return super.listDir(dir);
  }
}

/** Every text file and directory listing under a fixture's sys/fs/cgroup, as a helper batch would hold them. */
export function gatherBatch(root: string): { texts: Map<string, string>; listings: Map<string, string[]> } {
  const texts = new Map<string, string>();
  const listings = new Map<string, string[]>();
  const walk = (rel: string): void => {
    const names = readdirSync(path.join(root, rel));
    listings.set(rel, names);
    for (const n of names) {
      const child = `${rel}/${n}`;
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else texts.set(child, readFileSync(path.join(root, child), 'utf8'));
    }
  };
  walk('/sys/fs/cgroup');
  return { texts, listings };
}
