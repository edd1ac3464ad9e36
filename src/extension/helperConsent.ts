// Asking once before the helper container runs an image: the helper runs as root in the host's PID
// namespace with SYS_PTRACE and DAC_READ_SEARCH, so the image's /bin/sh can read any file of the daemon's
// host. An approval is remembered by image ID per daemon endpoint: the same name retagged to another image
// asks again. No `vscode` at run time here (the modal is passed in), so the rules are unit-tested.
import type { Memento } from 'vscode';
import type { ApproveHelperImage, HelperImageApproval } from '../core/access/helperImage';

/** globalState key: endpoint → approved image IDs (newest last). */
export const APPROVED_HELPER_IMAGES_KEY = 'containerXray.approvedHelperImages';

/** Approvals kept per endpoint; older ones are asked for again. */
const MAX_PER_ENDPOINT = 16;

type Approved = Record<string, string[]>;

function approvedIds(state: Pick<Memento, 'get'>): Approved {
  const v = state.get<unknown>(APPROVED_HELPER_IMAGES_KEY);
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  const out: Approved = {};
  for (const [endpoint, ids] of Object.entries(v as Record<string, unknown>))
    if (Array.isArray(ids)) out[endpoint] = ids.filter((id): id is string => typeof id === 'string');
  return out;
}

/** The modal's words: which image, its ID, where, and what it is given. */
export function consentText(req: HelperImageApproval): { message: string; detail: string; run: string } {
  const why =
    req.source === 'configured'
      ? 'It is the image set in containerXray.helperImage.'
      : 'No helper image is set; this official image was found on the daemon’s machine by its exact name.';
  return {
    message: `Run ${req.image} as Container X-Ray's helper container?`,
    detail:
      `Image ${req.image}\nID ${req.imageId}\nDaemon ${req.endpoint}\n\n` +
      'The helper reads /proc, cgroupfs and the daemon’s files for this user: it runs as root in the host’s PID namespace ' +
      'with SYS_PTRACE and DAC_READ_SEARCH, so whatever /bin/sh this image holds can read any file on that host. ' +
      `${why} Run it only if you trust this image. You are asked again if the name comes to point to another image ID.`,
    run: 'Run Helper',
  };
}

/**
 * The engine's approval callback: true at once for an image ID approved before on this endpoint; else
 * `ask` (a modal) decides, and a yes is remembered. Concurrent requests for one image share one question.
 */
export function helperConsent(
  state: Pick<Memento, 'get' | 'update'>,
  ask: (req: HelperImageApproval) => Promise<boolean>,
): ApproveHelperImage {
  const asking = new Map<string, Promise<boolean>>();
  return async (req) => {
    if (approvedIds(state)[req.endpoint]?.includes(req.imageId)) return true;
    const key = `${req.endpoint}\n${req.imageId}`;
    let answer = asking.get(key);
    if (!answer) {
      answer = (async () => {
        const yes = await ask(req);
        if (yes) {
          const all = approvedIds(state);
          const ids = [...(all[req.endpoint] ?? []).filter((id) => id !== req.imageId), req.imageId].slice(-MAX_PER_ENDPOINT);
          await state.update(APPROVED_HELPER_IMAGES_KEY, { ...all, [req.endpoint]: ids });
        }
        return yes;
      })().finally(() => asking.delete(key));
      asking.set(key, answer);
    }
    return answer;
  };
}
