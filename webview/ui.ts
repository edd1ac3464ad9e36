// Small building blocks shared by the views. Everything from a container, an image or a file goes in as
// text (through h()), made printable, and cut visually by CSS with the whole text in `title`.
import { printable } from '../src/shared/text';
import { h } from './dom';

type Attrs = Record<string, string | number | boolean | null | undefined>;

/** Longest text put into the DOM for one name (the title keeps more; CSS cuts what shows). */
const MAX_TEXT = 4096;

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/** A one-line piece of data text: printable, truncated by CSS with an ellipsis, the whole in title. */
export function trunc(text: string, attrs: Attrs = {}, tag: 'span' | 'div' | 'code' = 'span'): HTMLElement {
  const shown = clip(printable(text));
  const cls = attrs.class ? `trunc ${attrs.class}` : 'trunc';
  return h(tag, { ...attrs, class: cls, title: attrs.title ?? shown }, shown);
}

/** The printable form of data text (for labels, titles and aria-labels). */
export function show(text: string): string {
  return clip(printable(text));
}

export function button(label: string, onClick: (ev: Event) => void, attrs: Attrs = {}): HTMLElement {
  const b = h('vscode-button', attrs, label);
  b.addEventListener('click', onClick);
  return b;
}

export function badge(text: string, attrs: Attrs = {}): HTMLElement {
  return h('span', { ...attrs, class: attrs.class ? `chip ${attrs.class}` : 'chip' }, text);
}

export function section(title: string, attrs: Attrs, ...children: (Node | string | null | false | undefined)[]): HTMLElement {
  return h('section', { ...attrs, class: attrs.class ? `card ${attrs.class}` : 'card' }, h('h2', {}, title), ...children);
}

/** A definition list of label → value pairs; values are nodes or text. */
export function facts(pairs: [string, Node | string][], attrs: Attrs = {}): HTMLElement {
  const dl = h('dl', { ...attrs, class: attrs.class ? `facts ${attrs.class}` : 'facts' });
  for (const [k, v] of pairs) dl.append(h('dt', {}, k), h('dd', {}, v));
  return dl;
}

export function waiting(message: string): HTMLElement {
  return h('div', { class: 'waiting', role: 'status' }, h('vscode-progress-ring', { 'aria-label': message }), h('span', {}, message));
}

/** Runs fn once per animation frame at most, with the latest arguments. */
export function perFrame<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let queued: A | null = null;
  return (...args: A) => {
    const first = queued === null;
    queued = args;
    if (first)
      requestAnimationFrame(() => {
        const a = queued!;
        queued = null;
        fn(...a);
      });
  };
}
