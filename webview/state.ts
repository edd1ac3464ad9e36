// View state that survives the panel being hidden (VS Code's getState/setState): selection, filter,
// sort, scroll, zoom. One object per webview, tagged with the view it belongs to.
import type { ViewKind } from '../src/shared/protocol';
import { getState, setState } from './bus';

interface Stored {
  view: ViewKind;
  data: unknown;
}

export interface ViewState<T extends object> {
  get(): T;
  set(patch: Partial<T>): void;
  /** Like set, but written at most every `ms` (for scroll and zoom). */
  setSoon(patch: Partial<T>, ms?: number): void;
}

export function viewState<T extends object>(view: ViewKind, defaults: T): ViewState<T> {
  const raw = getState<Stored>();
  const data = raw && raw.view === view && raw.data && typeof raw.data === 'object' ? (raw.data as Partial<T>) : {};
  let current: T = { ...defaults, ...data };
  let timer: ReturnType<typeof setTimeout> | null = null;
  const write = () => {
    timer = null;
    setState<Stored>({ view, data: current });
  };
  return {
    get: () => current,
    set(patch) {
      current = { ...current, ...patch };
      if (timer !== null) clearTimeout(timer);
      write();
    },
    setSoon(patch, ms = 250) {
      current = { ...current, ...patch };
      if (timer === null) timer = setTimeout(write, ms);
    },
  };
}
