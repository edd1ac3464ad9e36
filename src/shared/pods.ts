// Pods: containers that share a pod's namespaces through an infra (Podman) or sandbox/pause (Kubernetes)
// container. Which pod a container claims to be in comes from its labels, which whoever runs it writes:
// they serve for display and grouping only, bounded in length; what the members really share is read from
// their namespace inodes, never taken from a label.
import { ContainerSnapshot, FieldError, NAMESPACE_TYPES, NamespaceType, PodGroup, PodRef } from './model';
import { labelText } from './text';

/** The labels kubelet's container runtimes (cri-dockerd, dockershim, containerd's CRI) put on pod containers. */
export const KUBERNETES_LABELS = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  /** cri-dockerd and dockershim: `podsandbox` for the pause container, `container` for the others. */
  dockerType: 'io.kubernetes.docker.type',
  /** containerd's CRI (kind nodes, nerdctl): `sandbox` or `container`. */
  criContainerdKind: 'io.cri-containerd.kind',
} as const;

/** The container name cri-dockerd and dockershim give the sandbox (`k8s_POD_…`, io.kubernetes.container.name=POD). */
export const SANDBOX_CONTAINER_NAME = 'POD';

/**
 * Length caps: Kubernetes allows 253 characters for a pod name (a DNS subdomain), 63 for a namespace and a
 * container name (DNS labels) and 36 for a UID; a label longer than that was not written by a kubelet
 * and is cut (with a mark), so no label can make a row or a node unboundedly wide.
 */
const MAX = { name: 253, namespace: 63, uid: 64, containerName: 63 } as const;

/**
 * The Kubernetes pod a container's labels place it in, as cri-dockerd (or dockershim, or containerd's CRI)
 * writes them; null when it carries no pod name. The sandbox is the container labelled
 * `io.kubernetes.docker.type=podsandbox` (containerd: `io.cri-containerd.kind=sandbox`), or, lacking a
 * type label, the one whose container name is `POD`.
 */
export function podFromLabels(labels: Record<string, string> | null | undefined): PodRef | null {
  if (!labels || typeof labels !== 'object') return null;
  const name = labelText(labels, KUBERNETES_LABELS.podName, MAX.name);
  if (name === undefined) return null;
  const namespace = labelText(labels, KUBERNETES_LABELS.podNamespace, MAX.namespace);
  const uid = labelText(labels, KUBERNETES_LABELS.podUid, MAX.uid);
  const containerName = labelText(labels, KUBERNETES_LABELS.containerName, MAX.containerName);
  const dockerType = labels[KUBERNETES_LABELS.dockerType];
  const criKind = labels[KUBERNETES_LABELS.criContainerdKind];
  const typed = typeof dockerType === 'string' || typeof criKind === 'string';
  const infra = typed ? dockerType === 'podsandbox' || criKind === 'sandbox' : containerName === SANDBOX_CONTAINER_NAME;
  return {
    source: 'kubernetes',
    id: uid ?? `${namespace ?? ''}/${name}`,
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    infra,
    ...(containerName !== undefined ? { containerName } : {}),
  };
}

/** How a pod is named to a reader: `namespace/name` for Kubernetes, the name for Podman. */
export function podTitle(ref: { name: string; namespace?: string }): string {
  return ref.namespace !== undefined ? `${ref.namespace}/${ref.name}` : ref.name;
}

/**
 * Groups the containers that belong to a pod (by `ContainerSnapshot.pod`, source and id), in the order of
 * each pod's first member; containers in no pod are left out. Each group lists its infra container first
 * and the namespace types all members hold the same inode of.
 */
export function groupPods(containers: readonly ContainerSnapshot[]): PodGroup[] {
  const byKey = new Map<string, { ref: PodGroup['ref']; members: ContainerSnapshot[] }>();
  for (const c of containers) {
    const pod = c.pod;
    if (!pod) continue;
    const key = `${pod.source}\u0000${pod.id}`;
    let g = byKey.get(key);
    if (!g) {
      g = {
        ref: { source: pod.source, id: pod.id, name: pod.name, ...(pod.namespace !== undefined ? { namespace: pod.namespace } : {}) },
        members: [],
      };
      byKey.set(key, g);
    }
    g.members.push(c);
  }
  return [...byKey.values()].map(({ ref, members }) => {
    const errors: FieldError[] = [];
    const infras = members.filter((c) => c.pod!.infra);
    if (infras.length === 0)
      errors.push({
        field: 'infra',
        reason: `no ${ref.source === 'podman' ? 'infra' : 'sandbox (pause)'} container of this pod is listed`,
      });
    else if (infras.length > 1)
      errors.push({
        field: 'infra',
        reason: `${infras.length} containers are labelled as this pod's ${ref.source === 'podman' ? 'infra' : 'sandbox'} container: ${infras
          .map((c) => c.name)
          .join(', ')}`,
      });
    const infra = infras[0] ?? null;
    const ordered = infra ? [infra, ...members.filter((c) => c !== infra)] : members;
    const disagree = members.filter((c) => c.pod!.name !== ref.name || c.pod!.namespace !== ref.namespace);
    if (disagree.length > 0)
      errors.push({
        field: 'labels',
        reason: `${disagree.map((c) => c.name).join(', ')} name${disagree.length === 1 ? 's' : ''} this pod differently (${disagree
          .map((c) => podTitle(c.pod!))
          .join(', ')})`,
      });
    const unread = members.filter((c) => !c.namespaces);
    if (unread.length > 0)
      errors.push({
        field: 'sharedNamespaces',
        reason: `the namespaces of ${unread.map((c) => c.name).join(', ')} could not be read: what the pod shares is unknown`,
      });
    return {
      ref,
      containers: ordered.map((c) => c.id),
      infra: infra?.id ?? null,
      sharedNamespaces: unread.length > 0 ? [] : sharedTypes(members),
      errors,
    };
  });
}

/** The namespace types whose inode is the same (and known) for every one of the containers. */
export function sharedTypes(members: readonly Pick<ContainerSnapshot, 'namespaces'>[]): NamespaceType[] {
  if (members.length === 0) return [];
  return NAMESPACE_TYPES.filter((t) => {
    const first = members[0].namespaces?.[t] ?? null;
    return first !== null && members.every((c) => (c.namespaces?.[t] ?? null) === first);
  });
}
