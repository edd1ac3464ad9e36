// One file of a container's writable layer, for a person to look at (Reveal Upper Dir in a window with
// no OS file manager). The running container can swap a listed file for a link to a host file at any
// moment, so it is read through the confined reader and never opened by path: only a regular file inside
// the upper directory, at most LAYER_FILE_LIMITS.maxBytes, read-only by construction (the caller gets
// bytes, not a path it could save to).
import type { HostFiles } from '../util/hostFiles';

export const LAYER_FILE_LIMITS = { maxBytes: 8 * 1024 * 1024, deadlineMs: 5000 };

export interface LayerFileText {
  text: string;
  /** The file is longer than LAYER_FILE_LIMITS.maxBytes: `text` is its beginning. */
  truncated: boolean;
  /** It holds NUL bytes: shown as text anyway, marked so a person is not misled. */
  binary: boolean;
}

/**
 * Reads `relPath` (e.g. `/etc/app.conf`) of the writable layer `upperDir`, confined to that directory.
 * Rejects with a ConfinedReadError whose message says why ("/etc/x is a FIFO: not read").
 */
export async function readWritableLayerFile(files: HostFiles, upperDir: string, relPath: string): Promise<LayerFileText> {
  const { data, truncated } = await files.readConfined({ kind: 'dir', dir: upperDir }, relPath, LAYER_FILE_LIMITS);
  const binary = data.subarray(0, 8192).includes(0);
  return { text: data.toString('utf8'), truncated, binary };
}
