// Compose projects, grouping and filtering of containers and images. Which project a container claims to be
// in comes from its labels, which whoever runs it writes: they serve for display, grouping and filtering
// only, bounded in length, and never choose anything else (no path from a label is opened, no command run).
import { ComposeRef, ContainerSnapshot, ContainerState, ImageFacts } from './model';
import { labelText, truncate } from './text';

/** The labels Compose (v1.29 and v2) puts on the containers it creates. */
export const COMPOSE_LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  workingDir: 'com.docker.compose.project.working_dir',
  /** Comma-separated paths of the compose files. */
  configFiles: 'com.docker.compose.project.config_files',
} as const;

/** Length caps for label values: a project or service name longer than this was not written by Compose. */
const MAX = { project: 128, service: 128, path: 1024, files: 16 } as const;

/** The Compose project and service a container's labels place it in; null when it carries no project label. */
export function composeFromLabels(labels: Record<string, string> | null | undefined): ComposeRef | null {
  if (!labels || typeof labels !== 'object') return null;
  const project = labelText(labels, COMPOSE_LABELS.project, MAX.project);
  if (project === undefined) return null;
  const service = labelText(labels, COMPOSE_LABELS.service, MAX.service) ?? null;
  const workingDir = labelText(labels, COMPOSE_LABELS.workingDir, MAX.path);
  const files: unknown = Object.prototype.hasOwnProperty.call(labels, COMPOSE_LABELS.configFiles)
    ? labels[COMPOSE_LABELS.configFiles]
    : undefined;
  const configFiles =
    typeof files === 'string'
      ? files
          // Bounded before it is split, so a huge label costs no more than a bounded one.
          .slice(0, MAX.path * MAX.files)
          .split(',')
          .map((f) => f.trim())
          .filter((f) => f !== '')
          .slice(0, MAX.files)
          .map((f) => truncate(f, MAX.path))
      : [];
  return {
    project,
    service,
    ...(workingDir !== undefined ? { workingDir } : {}),
    ...(configFiles.length > 0 ? { configFiles } : {}),
  };
}

/** How the Containers view groups the containers that are in no pod. */
export type GroupBy = 'compose' | 'image' | 'state' | 'none';
export const GROUP_BY: readonly GroupBy[] = ['compose', 'image', 'state', 'none'];

export function isGroupBy(v: unknown): v is GroupBy {
  return typeof v === 'string' && (GROUP_BY as readonly string[]).includes(v);
}

/**
 * The grouping in effect: the one chosen in the view for this workspace (its workspaceState), else the
 * setting, else by Compose project. A value that is no grouping (an old or hand-edited one) counts as unset.
 */
export function effectiveGroupBy(chosen: unknown, setting: unknown): GroupBy {
  if (isGroupBy(chosen)) return chosen;
  return isGroupBy(setting) ? setting : 'compose';
}

export interface ContainerGroup {
  /** What the group is: a Compose project, an image, a state, or the containers in no Compose project. */
  kind: 'compose' | 'image' | 'state' | 'noProject';
  /** The project name, image or state (empty for `noProject`); display text, bounded by where it came from. */
  key: string;
  /** Members, by Compose service then name (for a project), else by name. */
  containers: ContainerSnapshot[];
}

const STATE_ORDER: readonly ContainerState[] = ['running', 'restarting', 'paused', 'created', 'exited', 'dead', 'removing', 'gone'];

const byName = (a: ContainerSnapshot, b: ContainerSnapshot) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);

/**
 * Groups containers: by Compose project (sorted by name, the containers in no project last, as a
 * `noProject` group), by image (sorted), by state (running first), or not at all (`none`: one list, no
 * groups). Every container is in exactly one group (or, for `none`, in the one list).
 */
export function groupContainers(
  containers: readonly ContainerSnapshot[],
  by: GroupBy,
): { groups: ContainerGroup[]; ungrouped: ContainerSnapshot[] } {
  if (by === 'none') return { groups: [], ungrouped: [...containers].sort(byName) };
  const keyOf = (c: ContainerSnapshot): string | null =>
    by === 'compose' ? (c.compose?.project ?? null) : by === 'image' ? c.image : c.state;
  const map = new Map<string, ContainerSnapshot[]>();
  const rest: ContainerSnapshot[] = [];
  for (const c of containers) {
    const k = keyOf(c);
    if (k === null) {
      rest.push(c);
      continue;
    }
    const list = map.get(k);
    if (list) list.push(c);
    else map.set(k, [c]);
  }
  const keys = [...map.keys()].sort(
    by === 'state'
      ? (a, b) => STATE_ORDER.indexOf(a as ContainerState) - STATE_ORDER.indexOf(b as ContainerState)
      : (a, b) => a.localeCompare(b),
  );
  const groups: ContainerGroup[] = keys.map((key) => ({
    kind: by,
    key,
    containers: map
      .get(key)!
      .sort(by === 'compose' ? (a, b) => (a.compose?.service ?? '').localeCompare(b.compose?.service ?? '') || byName(a, b) : byName),
  }));
  if (rest.length > 0) groups.push({ kind: 'noProject', key: '', containers: rest.sort(byName) });
  return { groups, ungrouped: [] };
}

/** A Compose project of the namespace graph and its matrix: the project's name and its members. */
export interface ComposeProjectGroup {
  /** The project name (bounded display text from a label). */
  project: string;
  /** The services its members name, sorted, each once (members without a service label add none). */
  services: string[];
  /** Members, by Compose service then name. */
  containers: ContainerSnapshot[];
}

/**
 * The Compose projects of the containers that are in no pod (a pod keeps its members, whatever their
 * labels say), sorted by project name; the containers in neither are not listed.
 */
export function composeProjects(
  containers: readonly ContainerSnapshot[],
  pods: readonly { containers: readonly string[] }[] = [],
): ComposeProjectGroup[] {
  const inPod = new Set(pods.flatMap((p) => p.containers));
  return groupContainers(
    containers.filter((c) => !inPod.has(c.id)),
    'compose',
  )
    .groups.filter((g) => g.kind === 'compose')
    .map((g) => ({
      project: g.key,
      services: [...new Set(g.containers.map((c) => c.compose?.service).filter((s): s is string => typeof s === 'string'))].sort((a, b) =>
        a.localeCompare(b),
      ),
      containers: g.containers,
    }));
}

/**
 * A filter as typed: split on white space into terms, each lower-cased; every term must match. Plain text,
 * never a pattern. Empty (or only white space) filters nothing.
 */
export function filterTerms(filter: string | undefined): string[] {
  return (filter ?? '')
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t !== '');
}

function idMatches(id: string, term: string): boolean {
  const bare = id.toLowerCase().replace(/^sha256:/, '');
  const t = term.replace(/^sha256:/, '');
  return t !== '' && bare.startsWith(t);
}

function labelsMatch(labels: Record<string, string> | undefined, term: string): boolean {
  if (!labels) return false;
  return Object.entries(labels).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(term));
}

/**
 * Whether a container matches every term of the filter: by its name, image, ID (a prefix), Compose
 * project or service, or a label (`key` or `key=value`, a substring), case-insensitively.
 */
export function containerMatches(c: ContainerSnapshot, filter: string | undefined): boolean {
  return filterTerms(filter).every(
    (t) =>
      c.name.toLowerCase().includes(t) ||
      c.image.toLowerCase().includes(t) ||
      idMatches(c.id, t) ||
      (c.compose !== null &&
        c.compose !== undefined &&
        (c.compose.project.toLowerCase().includes(t) || (c.compose.service ?? '').toLowerCase().includes(t))) ||
      labelsMatch(c.labels, t),
  );
}

/** Whether an image matches every term of the filter: by a tag or repo digest (a substring) or its ID (a prefix). */
export function imageMatches(img: ImageFacts, filter: string | undefined): boolean {
  return filterTerms(filter).every(
    (t) =>
      idMatches(img.id, t) || img.tags.some((x) => x.toLowerCase().includes(t)) || img.repoDigests.some((d) => d.toLowerCase().includes(t)),
  );
}
