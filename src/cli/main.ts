import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ACCESS_SETTINGS, AccessSetting } from '../core/access/choose';
import { HelperUnavailableError } from '../core/access/helper';
import { NO_RULES, evaluateRules, isRule, parseDiveCi, parseRuleValue } from '../core/ci/rules';
import { DaemonUnreachableError, NotFoundError } from '../core/runtime/docker/client';
import { Engine } from '../core/engine';
import { RUNTIME_SETTINGS, RuntimeSetting } from '../core/runtime/types';
import { formatBytes, formatPercent, layerOrigin, shortId } from '../shared/format';
import { ContainerSnapshot, EfficiencyRules, HOST_MEMBER, LayerChange, LayerReport, PodGroup, Snapshot } from '../shared/model';
import { ContainerGroup, groupContainers } from '../shared/compose';
import { podTitle } from '../shared/pods';
import { printable, truncate } from '../shared/text';
import { table } from './table';
import { CIS_RULE_IDS } from '../core/security/cis';
import { failedRules, parseAuditRules } from '../core/security/rules';
import { processCount } from '../shared/processText';

/**
 * Environment: XRAY_LAYER_CACHE_MAX_BYTES bounds the layer cache on disk (default 512M).

Exit codes: 0 fine, 1 CI or audit rules failed, 2 daemon unreachable, 3 a name that names nothing, 5 the helper
 * container could not run, 64 bad usage.
 */
export const EXIT = { ok: 0, rulesFailed: 1, daemon: 2, notFound: 3, other: 4, helper: 5, usage: 64 } as const;

/** Seconds a helper the CLI leaves stays for the next run (--helper-idle). */
export const DEFAULT_CLI_HELPER_IDLE_S = 60;

const USAGE = `container-xray: what a container really is (namespaces, cgroups, overlay layers)

Usage:
  container-xray snapshot [--json] [--all] [--network] [CONTAINER…]
  container-xray network [CONTAINER…] [--json]
  container-xray layers CONTAINER|IMAGE [--json] [--all]
  container-xray ci IMAGE [--lowest-efficiency R] [--highest-wasted-bytes B]
                          [--highest-user-wasted-percent R] [--ci-config FILE] [--json]
  container-xray audit [CONTAINER…] [--rules FILE] [--json]
  container-xray images [--json]
  container-xray host [--json]

Options:
  --host URL       Docker endpoint (unix://, tcp://, ssh://); default: DOCKER_HOST, then the docker context
  --context NAME   a docker CLI context
  --runtime NAME   the runtime the endpoint serves: auto (default: detected from its /version),
                   docker or podman (Podman's API: rootful /run/podman/podman.sock, rootless
                   $XDG_RUNTIME_DIR/podman/podman.sock, or \`podman system service\` on tcp)
  --access MODE    how host files are read: auto (default: direct when this user can read the
                   daemon's /proc and /var/lib/docker, else a helper container), direct, helper
  --helper-image IMAGE
                   the image the helper container runs, as root with host-wide read rights:
                   one you trust, with /bin/sh, base64, find, head, stat, readlink, timeout.
                   Default: a local official image by its exact name (busybox, alpine,
                   debian or ubuntu, any tag, optionally docker.io/library/…); no other
                   image is ever picked, and one that cannot run is an error (exit 5)
  --read-deadline SECONDS
                   how long one container's reads may take before a snapshot goes on without
                   them, saying so on its fields (default 2, through a helper 10; a slow or
                   emulated daemon machine may need more)
  --helper-idle SECONDS
                   how long a helper container this run leaves stays for the next run of
                   this user to reuse (15 to 3600, default ${DEFAULT_CLI_HELPER_IDLE_S}); it ends by itself after that long
                   without a request. 0: the helper goes with the run
  --all            snapshot: stopped containers too, with their exit code and OOM kill;
                   layers: every changed file
  --network        snapshot: each network namespace's interfaces, routes, listening
                   sockets and the host end of each veth pair
  --rules FILE     audit: the CIS ids that gate (one per line, # comments);
                   default: every rule the tool decides
  --json           machine-readable output (see schema/*.schema.json)
  -h, --help       this text
  -v, --version    the version

Exit codes: 0 fine, 1 CI or audit rules failed, 2 daemon unreachable, 3 no such container or image,
4 another error, 5 the helper container could not run (no such image, no shell in it), 64 bad usage.`;

class UsageError extends Error {}

interface Args {
  command: string;
  positional: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set([
  'host',
  'context',
  'access',
  'runtime',
  'helper-image',
  'helper-idle',
  'read-deadline',
  'lowest-efficiency',
  'highest-wasted-bytes',
  'highest-user-wasted-percent',
  'ci-config',
  'rules',
]);
const BOOL_FLAGS = new Set(['json', 'all', 'network', 'help', 'version']);

export function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h') flags.set('help', true);
    else if (a === '-v') flags.set('version', true);
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (VALUE_FLAGS.has(name)) {
        const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, value);
      } else if (BOOL_FLAGS.has(name)) flags.set(name, true);
      else throw new UsageError(`unknown option --${name}`);
    } else positional.push(a);
  }
  return { command: positional[0] ?? '', positional: positional.slice(1), flags };
}

function str(args: Args, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function run(argv: string[], io: Output, version = '0.0.0'): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    io.err(`container-xray: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (args.flags.has('version')) {
    io.out(version);
    return EXIT.ok;
  }
  if (args.flags.has('help') || args.command === '' || args.command === 'help') {
    io.out(USAGE);
    return args.command === '' && !args.flags.has('help') ? EXIT.usage : EXIT.ok;
  }
  const json = args.flags.has('json');
  try {
    if (!['snapshot', 'network', 'layers', 'ci', 'audit', 'images', 'host'].includes(args.command))
      throw new UsageError(`unknown command "${args.command}"`);
    if ((args.command === 'layers' || args.command === 'ci') && args.positional.length !== 1) {
      throw new UsageError(`${args.command} takes one ${args.command === 'ci' ? 'IMAGE' : 'CONTAINER or IMAGE'}`);
    }
    const rules = args.command === 'ci' ? await readRules(args) : null;
    const auditRules = args.command === 'audit' ? await readAuditRules(args) : null;
    const access = str(args, 'access');
    if (access !== undefined && !(ACCESS_SETTINGS as readonly string[]).includes(access))
      throw new UsageError(`--access takes ${ACCESS_SETTINGS.join(', ')}, not "${access}"`);
    const runtime = str(args, 'runtime');
    if (runtime !== undefined && !(RUNTIME_SETTINGS as readonly string[]).includes(runtime))
      throw new UsageError(`--runtime takes ${RUNTIME_SETTINGS.join(', ')}, not "${runtime}"`);
    const idle = str(args, 'helper-idle') ?? String(DEFAULT_CLI_HELPER_IDLE_S);
    if (!/^\d{1,4}$/.test(idle) || (Number(idle) > 0 && Number(idle) < 15) || Number(idle) > 3600)
      throw new UsageError(`--helper-idle takes 0 or whole seconds from 15 to 3600, not "${idle}"`);
    const deadline = str(args, 'read-deadline');
    if (deadline !== undefined && (!/^\d{1,4}(\.\d+)?$/.test(deadline) || Number(deadline) <= 0 || Number(deadline) > 3600))
      throw new UsageError(`--read-deadline takes seconds above 0, up to 3600, not "${deadline}"`);
    const engine = await Engine.create({
      override: str(args, 'host'),
      context: str(args, 'context'),
      runtime: runtime as RuntimeSetting | undefined,
      access: access as AccessSetting | undefined,
      helperImage: str(args, 'helper-image'),
      helperIdleMs: 0,
      helperReuseS: Number(idle),
      ...(deadline !== undefined ? { containerLimits: { deadlineMs: Math.round(Number(deadline) * 1000) } } : {}),
    });
    try {
      switch (args.command) {
        case 'snapshot': {
          const snap = await engine.snapshot({
            containers: args.positional,
            all: args.flags.has('all'),
            network: args.flags.has('network'),
          });
          io.out(json ? JSON.stringify(snap, null, 2) : renderSnapshot(snap));
          const missing = snap.errors.filter((e) => e.field === 'containers');
          if (missing.length > 0) {
            for (const e of missing) io.err(`container-xray: ${printable(e.reason)}`);
            return EXIT.notFound;
          }
          return EXIT.ok;
        }
        case 'layers': {
          const report = await engine.layers(args.positional[0]);
          io.out(json ? JSON.stringify(report, null, 2) : renderLayers(report, args.flags.has('all')));
          return EXIT.ok;
        }
        case 'ci': {
          const report = await engine.layers(args.positional[0]);
          const verdict = evaluateRules(report, rules!);
          if (json) io.out(JSON.stringify(verdict, null, 2));
          else {
            io.out(`Image: ${printable(verdict.image)}`);
            io.out(`  efficiency: ${formatPercent(verdict.efficiency)}`);
            io.out(`  wastedBytes: ${verdict.wastedBytes} bytes (${formatBytes(verdict.wastedBytes)})`);
            io.out(`  userWastedPercent: ${formatPercent(verdict.userWastedPercent)}`);
            for (const r of verdict.results) io.out(`  ${r.passed ? 'PASS' : 'FAIL'}: ${r.rule}: ${r.message}`);
            if (verdict.results.length === 0) io.out('  no rules enabled');
            io.out(
              verdict.passed
                ? 'Result: PASS'
                : `Result: FAIL (${verdict.results
                    .filter((r) => !r.passed)
                    .map((r) => r.rule)
                    .join(', ')})`,
            );
          }
          return verdict.passed ? EXIT.ok : EXIT.rulesFailed;
        }
        case 'network': {
          const snap = await engine.snapshot({ containers: args.positional, network: true });
          for (const e of snap.errors.filter((x) => x.field === 'containers')) io.err(`container-xray: ${printable(e.reason)}`);
          const out = snap.containers.map((c) => ({ id: c.id, name: c.name, network: c.network ?? null, errors: c.errors }));
          io.out(json ? JSON.stringify({ takenAt: snap.takenAt, containers: out }, null, 2) : renderNetwork(snap));
          return snap.errors.some((e) => e.field === 'containers') ? EXIT.notFound : EXIT.ok;
        }
        case 'audit': {
          const snap = await engine.snapshot({ containers: args.positional });
          const missing = snap.errors.filter((e) => e.field === 'containers');
          for (const e of missing) io.err(`container-xray: ${printable(e.reason)}`);
          const report = auditReport(snap, auditRules!);
          io.out(json ? JSON.stringify(report, null, 2) : renderAudit(report));
          if (missing.length > 0) return EXIT.notFound;
          const unread = report.containers.filter((c) => c.security === null);
          for (const c of unread)
            io.err(
              `container-xray: ${truncate(printable(c.name), 128)} could not be audited: ${truncate(printable(c.errors.map((e) => e.reason).join('; ') || 'its posture was not read'), 2000)}`,
            );
          if (!report.passed) return EXIT.rulesFailed;
          return unread.length > 0 ? EXIT.other : EXIT.ok;
        }
        case 'images': {
          const images = await engine.images();
          if (json) io.out(JSON.stringify(images, null, 2));
          else
            io.out(
              table(
                ['IMAGE', 'ID', 'SIZE', 'LAYERS', 'SHARED', 'CONTAINERS'],
                images.map((i) => [
                  i.tags[0] ?? '<none>',
                  shortId(i.id),
                  formatBytes(i.sizeBytes),
                  String(i.layers.length),
                  `${i.layers.filter((l) => l.sharedWith.length > 0).length} (${formatBytes(i.sharedBytes)})`,
                  String(i.containers.length),
                ]),
                [60],
              ),
            );
          return EXIT.ok;
        }
        default: {
          const host = await engine.host();
          if (json) io.out(JSON.stringify(host, null, 2));
          else io.out(renderHost(host));
          return EXIT.ok;
        }
      }
    } finally {
      // Stops the helper container (if one runs) before the process exits.
      await engine.dispose();
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`container-xray: ${err.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    if (err instanceof DaemonUnreachableError) {
      io.err(`container-xray: ${printable(err.message)}`);
      return EXIT.daemon;
    }
    if (err instanceof HelperUnavailableError) {
      io.err(`container-xray: ${printable(err.message)}`);
      return EXIT.helper;
    }
    if (err instanceof NotFoundError) {
      io.err(`container-xray: no container or image is named "${printable(err.ref)}" (see docker ps -a, docker images)`);
      return EXIT.notFound;
    }
    io.err(`container-xray: ${printable((err as Error).message ?? String(err))}`);
    return EXIT.other;
  }
}

async function readRules(args: Args): Promise<EfficiencyRules> {
  // dive's defaults, then .dive-ci (or --ci-config), then flags.
  let rules: EfficiencyRules = { ...NO_RULES, lowestEfficiency: 0.9, highestUserWastedPercent: 0.1 };
  const configPath = str(args, 'ci-config') ?? '.dive-ci';
  try {
    const text = await fsp.readFile(path.resolve(configPath), 'utf8');
    const parsed = parseDiveCi(text);
    if (!parsed.ok) throw new UsageError(`${configPath}: ${parsed.error}`);
    rules = { ...rules, ...Object.fromEntries(Object.entries(parsed.value).filter(([, v]) => v !== null)) };
    // A rule written as "disabled" in the file switches the default off.
    for (const line of text.split('\n')) {
      const m = /^\s+([A-Za-z]+)\s*:\s*["']?disabled["']?\s*$/.exec(line);
      if (m && isRule(m[1])) rules[m[1]] = null;
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (str(args, 'ci-config') !== undefined) throw new UsageError(`cannot read ${configPath}: ${(err as Error).message}`);
  }
  const flagMap: [string, keyof EfficiencyRules][] = [
    ['lowest-efficiency', 'lowestEfficiency'],
    ['highest-wasted-bytes', 'highestWastedBytes'],
    ['highest-user-wasted-percent', 'highestUserWastedPercent'],
  ];
  for (const [flag, rule] of flagMap) {
    const v = str(args, flag);
    if (v === undefined) continue;
    const parsed = parseRuleValue(rule, v);
    if (!parsed.ok) throw new UsageError(`--${flag}: ${parsed.error}`);
    rules[rule] = parsed.value;
  }
  return rules;
}

async function readAuditRules(args: Args): Promise<string[]> {
  const file = str(args, 'rules');
  if (file === undefined) return [...CIS_RULE_IDS];
  let text: string;
  try {
    text = await fsp.readFile(path.resolve(file), 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = parseAuditRules(text);
  if (!parsed.ok) throw new UsageError(`${file}: ${parsed.error}`);
  return parsed.value;
}

/** What `audit --json` prints. */
export interface AuditReport {
  takenAt: string;
  /** The ids that gate. */
  rules: string[];
  /** No container fails a gating rule. */
  passed: boolean;
  containers: {
    id: string;
    name: string;
    image: string;
    security: ContainerSnapshot['security'];
    /** Gating ids this container fails. */
    failed: string[];
    errors: ContainerSnapshot['errors'];
  }[];
}

export function auditReport(snap: Snapshot, rules: string[]): AuditReport {
  const containers = snap.containers.map((c) => ({
    id: c.id,
    name: c.name,
    image: c.image,
    security: c.security,
    failed: failedRules(c, rules),
    errors: c.errors.filter((e) => e.field === 'security' || e.field.startsWith('security.') || e.field === 'container'),
  }));
  return { takenAt: snap.takenAt, rules, passed: containers.every((c) => c.failed.length === 0), containers };
}

const MARK: Record<string, string> = { pass: 'PASS', fail: 'FAIL', unknown: '   ?' };

export function renderAudit(report: AuditReport): string {
  const out: string[] = [];
  for (const c of report.containers) {
    out.push(`${truncate(printable(c.name), 128)} (${shortId(c.id)}, image ${truncate(printable(c.image), 128)})`);
    if (!c.security) {
      out.push(`  not audited: ${truncate(printable(c.errors.map((e) => e.reason).join('; ') || 'its posture was not read'), 2000)}`);
      continue;
    }
    const s = c.security;
    const user = s.uid === null ? '?' : s.user ? `${s.uid} (${truncate(printable(s.user), 64)})` : String(s.uid);
    out.push(
      `  user ${user}, seccomp ${s.seccompMode ?? '?'}, no_new_privs ${s.noNewPrivs === null ? '?' : s.noNewPrivs ? 1 : 0}, ${s.readOnlyRoot === null ? 'root ?' : s.readOnlyRoot ? 'read-only root' : 'writable root'}` +
        (s.lsmLabel ? `, ${s.lsm} ${truncate(printable(s.lsmLabel), 80)}` : ''),
    );
    if (s.added.length > 0 || s.dropped.length > 0)
      out.push(`  capabilities: ${[...s.added.map((x) => `+${x}`), ...s.dropped.map((x) => `-${x}`)].join(' ')}`);
    const rows = s.verdicts.map((v) => [
      `${MARK[v.status]}${report.rules.includes(v.id) ? '' : ' (not gating)'}`,
      v.id,
      v.title,
      printable(v.evidence),
    ]);
    out.push(
      table(['', 'CIS', 'RECOMMENDATION', 'EVIDENCE'], rows, [0, 0, 0, 160])
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  if (report.containers.length === 0) out.push('no running container');
  const failing = report.containers
    .filter((c) => c.failed.length > 0)
    .map((c) => `${truncate(printable(c.name), 64)}: ${c.failed.join(', ')}`);
  out.push(report.passed ? 'Result: PASS' : `Result: FAIL (${failing.join('; ')})`);
  return out.join('\n');
}

/** Each container's network namespace: interfaces with addresses and veth peers, routes, listening sockets. */
export function renderNetwork(snap: Snapshot): string {
  const out: string[] = [];
  const names = new Map(snap.containers.map((c) => [c.id, c.name]));
  for (const c of snap.containers) {
    const n = c.network;
    const shared =
      n && n.sharedWith.length > 0
        ? `, shared with ${n.sharedWith.map((id) => truncate(printable(names.get(id) ?? shortId(id)), 64)).join(', ')}`
        : '';
    out.push(
      `${truncate(printable(c.name), 128)} (${shortId(c.id)}): ${n ? `net:[${n.namespace}]${n.hostNetwork ? " (the host's)" : ''}${shared}` : 'not read'}`,
    );
    if (!n) continue;
    const rows = n.interfaces.map((i) => [
      i.name,
      i.index === null ? '?' : String(i.index),
      i.addresses.join(' ') || '-',
      i.peer ? `${i.peer.name}@${i.peer.index}${i.peer.bridge ? ` on ${i.peer.bridge}` : ''}` : '-',
      `${formatBytes(i.rxBytes)} / ${formatBytes(i.txBytes)}`,
    ]);
    out.push(
      ...table(
        ['  INTERFACE', 'INDEX', 'ADDRESSES', 'HOST PEER', 'RX / TX'],
        rows.map((r) => [`  ${r[0]}`, ...r.slice(1)]),
      ).split('\n'),
    );
    for (const r of n.routes) out.push(`  route ${r.destination}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.iface}`);
    for (const s of n.listening) {
      const who = s.processes.map((p) => `${printable(p.name)} (${p.hostPid})`).join(', ') || 'no process of the container';
      out.push(`  listening ${s.protocol}${s.family === 6 ? '6' : ''} ${s.family === 6 ? `[${s.address}]` : s.address}:${s.port}  ${who}`);
    }
    for (const e of n.errors) out.push(`  ! ${e.field}: ${truncate(printable(e.reason), 300)}`);
  }
  if (snap.containers.length === 0) out.push('no running container');
  return out.join('\n');
}

/** `exited 137, OOM-killed, 2 OOM kills before` */
export function exitNote(e: NonNullable<ContainerSnapshot['exit']>): string {
  const parts = [e.exitCode === null ? 'never ran' : `exit code ${e.exitCode}`];
  if (e.oomKilled) parts.push('OOM-killed');
  if (e.lastUsage?.oomKills) parts.push(`${e.lastUsage.oomKills} OOM kill${e.lastUsage.oomKills === 1 ? '' : 's'} last seen`);
  if (e.error) parts.push(truncate(e.error, 120));
  return parts.join(', ');
}

function nsCell(snap: Snapshot, id: string, type: 'net' | 'pid'): string {
  const c = snap.containers.find((x) => x.id === id);
  const inode = c?.namespaces?.[type];
  if (inode === null || inode === undefined) return '?';
  const group = snap.namespaceGroups.find((g) => g.type === type && g.inode === inode);
  const others = (group?.members ?? []).filter((m) => m !== id);
  if (others.includes(HOST_MEMBER)) return `${inode} host`;
  if (others.length > 0) return `${inode} shared(${others.length})`;
  return `${inode}`;
}

/** A pod's heading in the snapshot table: `Pod default/web-0 (Kubernetes, 3 containers, shares net, ipc, pid)`. */
export function podHeading(pod: PodGroup, present: number): string {
  const kind = pod.ref.source === 'podman' ? 'Podman' : 'Kubernetes';
  const shares = pod.sharedNamespaces.length > 0 ? `shares ${pod.sharedNamespaces.join(', ')}` : 'shares no namespace';
  return `Pod ${truncate(printable(podTitle(pod.ref)), 160)} (${kind}, ${present} container${present === 1 ? '' : 's'}, ${shares})`;
}

/** A Compose project's heading in the snapshot table: `Compose project shop (3 services, 4 containers)`. */
export function composeHeading(group: ContainerGroup): string {
  const n = group.containers.length;
  const count = `${n} container${n === 1 ? '' : 's'}`;
  if (group.kind === 'noProject') return `No Compose project (${count})`;
  const services = new Set(group.containers.map((c) => c.compose?.service).filter((x) => typeof x === 'string')).size;
  return `Compose project ${truncate(printable(group.key), 128)} (${services} service${services === 1 ? '' : 's'}, ${count})`;
}

export function renderSnapshot(snap: Snapshot): string {
  const byId = new Map(snap.containers.map((c) => [c.id, c]));
  const pods = snap.pods ?? [];
  const inPod = new Set(pods.flatMap((p) => p.containers));
  // Pod members first, each pod under a heading line; then the containers in no pod, each Compose project
  // under a heading line (by name), the containers in no project last (under a heading when a project exists).
  const { groups } = groupContainers(
    snap.containers.filter((c) => !inPod.has(c.id)),
    'compose',
  );
  const onlyNoProject = groups.length === 1 && groups[0].kind === 'noProject';
  const ordered: { c: ContainerSnapshot; pod: PodGroup | null; group: ContainerGroup | null }[] = [
    ...pods.flatMap((pod) => pod.containers.map((id) => byId.get(id)).flatMap((c) => (c ? [{ c, pod, group: null }] : []))),
    ...groups.flatMap((group) => group.containers.map((c) => ({ c, pod: null, group: onlyNoProject ? null : group }))),
  ];
  const headings = new Map<number, string>();
  ordered.forEach(({ pod, group }, i) => {
    if (pod && (i === 0 || ordered[i - 1].pod !== pod)) headings.set(i, podHeading(pod, ordered.filter((o) => o.pod === pod).length));
    if (group && (i === 0 || ordered[i - 1].group !== group)) headings.set(i, composeHeading(group));
  });
  const rows = ordered.map(({ c, pod, group }) => {
    const l = c.cgroup?.limits;
    const u = c.cgroup?.usage;
    const mem = c.cgroup ? `${formatBytes(u?.memoryBytes)} / ${l?.memoryBytes === null ? 'unlimited' : formatBytes(l?.memoryBytes)}` : '?';
    const cpus = c.cgroup ? (l?.cpus === null ? 'unlimited' : String(l?.cpus)) : '?';
    const pids = c.cgroup ? `${u?.pidsCurrent ?? '?'} / ${l?.pidsMax === null ? 'unlimited' : l?.pidsMax}` : '?';
    const notes = [
      pod && pod.infra === c.id ? (pod.ref.source === 'podman' ? 'pod infra' : 'pod sandbox') : '',
      c.compose?.service ? `service ${truncate(c.compose.service, 63)}` : '',
      c.nearLimit.length > 0 ? `near ${c.nearLimit.join(',')}` : '',
      c.cgroup?.usage.oomKills ? `${c.cgroup.usage.oomKills} OOM kill${c.cgroup.usage.oomKills === 1 ? '' : 's'}` : '',
      c.exit ? exitNote(c.exit) : '',
    ].filter(Boolean);
    return [
      pod || group ? `  ${c.name}` : c.name,
      shortId(c.id),
      c.state,
      c.pid === null ? '-' : String(c.pid),
      nsCell(snap, c.id, 'net'),
      nsCell(snap, c.id, 'pid'),
      mem,
      cpus,
      pids,
      String(processCount(c)),
      notes.join(', '),
    ];
  });
  const tableLines = table(['NAME', 'ID', 'STATE', 'PID', 'NET NS', 'PID NS', 'MEMORY', 'CPUS', 'PIDS', 'PROCS', ''], rows, [40]).split(
    '\n',
  );
  const lines = [tableLines[0]];
  tableLines.slice(1).forEach((line, i) => {
    const heading = headings.get(i);
    if (heading !== undefined) lines.push(heading);
    lines.push(line);
  });
  const shared = snap.namespaceGroups.filter(
    (g) => g.members.length > 1 && !(g.members.length === snap.containers.length + 1 && g.members.includes(HOST_MEMBER)),
  );
  if (shared.length > 0) {
    lines.push('', 'Shared namespaces:');
    const name = (m: string) => (m === HOST_MEMBER ? 'host' : (snap.containers.find((c) => c.id === m)?.name ?? shortId(m)));
    for (const g of shared) lines.push(printable(`  ${g.type}:[${g.inode}]  ${g.members.map(name).join(', ')}`));
  }
  const errs = [
    ...snap.errors.map((e) => `  ${e.field}: ${e.reason}`),
    ...snap.containers.flatMap((c) => c.errors.map((e) => `  ${c.name} ${e.field}: ${e.reason}`)),
  ];
  if (errs.length > 0) lines.push('', 'Could not read:', ...errs.map(printable));
  const podNotes = pods.flatMap((p) => p.errors.map((e) => `  ${truncate(podTitle(p.ref), 160)} ${e.field}: ${e.reason}`));
  if (podNotes.length > 0) lines.push('', 'Pods:', ...podNotes.map(printable));
  lines.push(
    '',
    `Host: ${printable(snap.host.hostname)}  kernel ${printable(snap.host.kernel)}  cgroup v${snap.host.cgroupVersion ?? '?'}  access: ${snap.host.access.mode}`,
  );
  const helper = snap.host.access.helper;
  if (helper) lines.push(printable(`Helper image: ${helper.image} (ID ${helper.imageId ?? 'unknown'})`));
  return lines.join('\n');
}

function counts(changes: LayerChange[]): string {
  const n = (k: LayerChange['kind']) => changes.filter((c) => c.kind === k).length;
  return `+${n('added')} ~${n('modified')} -${n('deleted')}`;
}

export function renderLayers(report: LayerReport, all: boolean): string {
  const lines: string[] = [];
  lines.push(
    `Image: ${printable(report.image.tags[0] ?? report.image.ref)} (${shortId(report.image.id)})${report.container ? `  container ${printable(report.container.name)}` : ''}`,
  );
  // The containerd image store's snapshot IDs, where the container's mount named them.
  const snapshots = report.layers.some((l) => l.snapshotId !== undefined);
  lines.push(
    table(
      ['#', ...(snapshots ? ['SNAPSHOT'] : []), 'SIZE', 'WASTED', 'CHANGES', 'CREATED BY'],
      report.layers.map((l) => [
        String(l.index),
        ...(snapshots ? [l.snapshotId ?? '-'] : []),
        formatBytes(l.sizeBytes),
        formatBytes(l.wastedBytes),
        counts(l.changes),
        layerOrigin(l).replace(/\s+/g, ' ').trim(),
      ]),
      [0, ...(snapshots ? [0] : []), 0, 0, 0, 100],
    ),
  );
  if (report.upper)
    lines.push(
      '',
      `Writable layer: ${formatBytes(report.upper.sizeBytes)} ${counts(report.upper.changes)}${report.upper.snapshotId !== undefined ? `  snapshot ${report.upper.snapshotId}` : ''}${report.upper.dir ? `  ${printable(report.upper.dir)}` : ''}`,
    );
  const listed: [string, LayerChange[]][] = all ? report.layers.map((l) => [`Layer ${l.index}`, l.changes]) : [];
  if (report.upper) listed.push(['Writable layer', report.upper.changes]);
  for (const [title, changes] of listed) {
    lines.push('', `${title}:`);
    const mark = { added: 'A', modified: 'C', deleted: 'D' } as const;
    for (const c of changes)
      lines.push(
        printable(
          `  ${mark[c.kind]} ${c.path}${c.type === 'dir' ? '/' : ''}${c.opaque ? ' (opaque)' : ''}${c.sizeBytes > 0 ? `  ${formatBytes(c.sizeBytes)}` : ''}`,
        ),
      );
  }
  lines.push(
    '',
    `Efficiency: ${formatPercent(report.efficiency)}   Wasted: ${formatBytes(report.wastedBytes)}   User wasted: ${formatPercent(report.userWastedPercent)}   Size: ${formatBytes(report.sizeBytes)}`,
  );
  if (report.inefficiencies.length > 0) {
    lines.push('', 'Paths held by more than one layer:');
    lines.push(
      table(
        ['COUNT', 'TOTAL', 'PATH'],
        report.inefficiencies.slice(0, 10).map((i) => [String(i.count), formatBytes(i.cumulativeSizeBytes), i.path]),
      ),
    );
  }
  for (const e of report.errors) lines.push(printable(`Note: ${e.field}: ${e.reason}`));
  return lines.join('\n');
}

function renderHost(h: Awaited<ReturnType<Engine['host']>>): string {
  const d = h.daemon;
  const here = h.thisMachine;
  // Elsewhere, the first rows are the daemon's machine (where the containers run), and this one follows.
  const rows: [string, string][] = [
    [here ? 'Daemon machine' : 'Hostname', here ? `${h.hostname} (the containers run here)` : h.hostname],
    ['Kernel', here ? `${h.kernel} (the kernel the containers share)` : h.kernel],
    ['OS', `${h.os.distro} ${h.os.release} ${h.os.codename}`.trim()],
    [
      'Virtualization',
      h.virtualization.isVirtual ? `virtual machine (${h.virtualization.hypervisor ?? 'unknown hypervisor'})` : 'bare metal',
    ],
    ['CPUs, memory', `${h.cpus} · ${formatBytes(h.memoryBytes)}`],
    ['cgroup', h.cgroupVersion ? `v${h.cgroupVersion}${h.cgroupHybrid ? ' (hybrid)' : ''}` : 'unknown'],
  ];
  if (here)
    rows.push([
      'This machine',
      `${here.hostname} · kernel ${here.kernel} · ${here.os} · ${here.cpus} CPUs · ${formatBytes(here.memoryBytes)}`,
    ]);
  rows.push(
    ['Endpoint', d?.endpoint ?? '—'],
    ['Runtime', d ? `${d.runtime} (${d.operatingSystem}, kernel ${d.kernel}; storage ${d.storageLayout})` : 'unreachable'],
    ['Storage driver', d?.storageDriver ?? '—'],
    ['cgroup driver', d?.cgroupDriver ?? '—'],
    ['Daemon runs', d ? (d.runsElsewhere ? `elsewhere: ${d.runsElsewhereReason}` : 'on this machine') : '—'],
    ['Access', `${h.access.mode}: ${h.access.reason}`],
  );
  if (h.access.helper) rows.push(['Helper image', `${h.access.helper.image} (ID ${h.access.helper.imageId ?? 'unknown'})`]);
  return table(['', ''], rows).split('\n').slice(1).join('\n');
}

if (require.main === module) {
  // Dependencies' deprecation notices (docker-modem's ssh URL) are not for the CLI's users.
  process.noDeprecation = true;
  const pkgVersion = process.env.XRAY_VERSION ?? '0.0.0';
  run(process.argv.slice(2), { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) }, pkgVersion).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`container-xray: ${printable(String(err))}\n`);
      process.exitCode = EXIT.other;
    },
  );
}
