// Which image the privileged helper container may run: one the user named, or an official image found
// locally by its exact name. The helper runs as root in the host's PID namespace with SYS_PTRACE and
// DAC_READ_SEARCH, so whatever /bin/sh the image carries gets those rights: a name that merely looks like
// busybox (`sec-busybox`, `someone/busybox`, `localhost/busybox`) must never be taken on its own.
/** Docker Hub's official images that have a POSIX shell and the tools the helper script uses. */
export const OFFICIAL_HELPER_IMAGES = ['busybox', 'alpine', 'debian', 'ubuntu'] as const;

/** An image the helper is to run: its name as the user knows it and the image ID it resolved to. */
export interface HelperImage {
  /** The name (repo:tag) the user set or the official name found locally. */
  image: string;
  /** The image ID (sha256:…) that name resolved to: the container is created from this ID. */
  imageId: string;
  /** `configured`: containerXray.helperImage or --helper-image; `official`: found locally by exact name. */
  source: 'configured' | 'official';
}

/** What the engine asks before it runs a helper image; the extension asks the user (the CLI does not ask). */
export interface HelperImageApproval extends HelperImage {
  /** The daemon endpoint the helper would run on (approvals are remembered per endpoint). */
  endpoint: string;
}

/** Resolves to true when the image may run as the helper; false declines it (no helper runs). */
export type ApproveHelperImage = (request: HelperImageApproval) => Promise<boolean>;

/** A tag as Docker allows it: word characters, dots and dashes, up to 128, not starting with . or -. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * The official family a reference names exactly (`busybox`, `busybox:1.36`, `docker.io/library/alpine:3`),
 * else null. Anything else, however it looks (`sec-busybox`, `busybox-evil`, `localhost/busybox`,
 * `library/busybox`, `registry.example.com/busybox`, a digest reference), is not official.
 */
export function officialHelperFamily(ref: string): (typeof OFFICIAL_HELPER_IMAGES)[number] | null {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const repo = colon > slash ? ref.slice(0, colon) : ref;
  const tag = colon > slash ? ref.slice(colon + 1) : null;
  if (tag !== null && !TAG.test(tag)) return null;
  for (const family of OFFICIAL_HELPER_IMAGES) if (repo === family || repo === `docker.io/library/${family}`) return family;
  return null;
}

/**
 * The official image to run when none is configured: busybox before alpine, debian and ubuntu (smallest
 * first, then by name, so the choice is the same every time), or null when none of them is local. Only
 * one is returned: when it cannot run, the helper fails with its name rather than trying another image.
 */
export function pickOfficialHelperImage(images: { Id: string; RepoTags?: string[] | null; Size?: number }[]): HelperImage | null {
  const ranked: { tag: string; id: string; family: number; size: number }[] = [];
  for (const img of images) {
    for (const tag of img.RepoTags ?? []) {
      const family = officialHelperFamily(tag);
      if (family === null) continue;
      ranked.push({ tag, id: img.Id, family: OFFICIAL_HELPER_IMAGES.indexOf(family), size: img.Size ?? 0 });
    }
  }
  ranked.sort((a, b) => a.family - b.family || a.size - b.size || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  const best = ranked[0];
  return best ? { image: best.tag, imageId: best.id, source: 'official' } : null;
}

/** "busybox:latest, ID sha256:…" (the full ID): how an image is named in reasons and prompts. */
export function describeHelperImage(h: Pick<HelperImage, 'image' | 'imageId'>): string {
  return `${h.image}, ID ${h.imageId}`;
}
