// Resolution inside a root, as pure state, for readers that cannot hold fds of the root's directories
// themselves (the helper container: its script goes down plain names it is given and stops at a link).
// The rules are those of the direct path's resolveInRoot (confined/resolve.ts), after openat2's
// RESOLVE_IN_ROOT: a link's target is resolved here, inside the root; an absolute one starts again at
// the root; `..` goes back one directory and stops at the root; more than MAX_LINKS links is a loop.
// `..` is applied only to components the reader has gone down (so known to be directories, not links),
// since `a/b/..` is `a` only if `b` is no link.
import { MAX_LINKS } from '../confined/fd';
import { splitPath } from '../confined/resolve';

const DOT = 0x2e;
const SLASH = 0x2f;

function isDot(name: Buffer): boolean {
  return name.length === 1 && name[0] === DOT;
}

function isDotDot(name: Buffer): boolean {
  return name.length === 2 && name[0] === DOT && name[1] === DOT;
}

/** The names of a path, `.` dropped (`..` kept, for the resolver to apply). */
export function pathTokens(p: string | Buffer): Buffer[] {
  return splitPath(typeof p === 'string' ? Buffer.from(p, 'utf8') : p).filter((c) => !isDot(c));
}

/**
 * One request to make: go down `components` (all but the last, for a final step that reads, readlinks or
 * lstats the last one; all of them for a `descend` step, which makes sure they are directories before a
 * `..` is applied).
 */
export interface ResolveStep {
  kind: 'descend' | 'final';
  components: Buffer[];
}

export class TooManyLinks extends Error {
  constructor() {
    super(`more than ${MAX_LINKS} links`);
    this.name = 'TooManyLinks';
  }
}

/** What is left of a path to resolve inside a root: drive it with next() and the reader's answers. */
export class InRootResolver {
  /** Components gone down already: directories, never links. */
  private confirmed: Buffer[] = [];
  /** Still to resolve: names and `..`. */
  private pending: Buffer[];
  private step: ResolveStep | null = null;
  links = 0;

  constructor(relPath: string | Buffer) {
    this.pending = pathTokens(relPath);
  }

  /** The next request. */
  next(): ResolveStep {
    for (;;) {
      while (this.pending.length > 0 && isDotDot(this.pending[0])) {
        this.pending.shift();
        this.confirmed.pop();
      }
      const run: Buffer[] = [];
      while (this.pending.length > 0 && !isDotDot(this.pending[0])) run.push(this.pending.shift()!);
      const components = [...this.confirmed, ...run];
      if (this.pending.length === 0) {
        this.step = { kind: 'final', components };
        return this.step;
      }
      if (run.length === 0) continue;
      this.step = { kind: 'descend', components };
      return this.step;
    }
  }

  /** The last step's components were all gone down (a `descend` succeeded). */
  descended(): void {
    if (this.step) this.confirmed = this.step.components;
    this.step = null;
  }

  /**
   * Component `at` of the last step is a link to `target`: what comes before it was gone down, the
   * target replaces it. Throws TooManyLinks past MAX_LINKS.
   */
  link(at: number, target: Buffer): void {
    const step = this.step;
    if (!step || at < 0 || at >= step.components.length) throw new Error(`no component ${at} in the last step`);
    if (++this.links > MAX_LINKS) throw new TooManyLinks();
    const rest = step.components.slice(at + 1);
    // What the last step held past the link goes back in front of what it had not taken yet.
    this.pending = [...pathTokens(target), ...rest, ...this.pending];
    this.confirmed = target[0] === SLASH ? [] : step.components.slice(0, at);
    this.step = null;
  }

  /** Where resolution is, as a path inside the root (for messages). */
  where(): string {
    const comps = this.step?.components ?? this.confirmed;
    return `/${comps.map((c) => c.toString('utf8')).join('/')}`;
  }
}
