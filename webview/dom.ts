// Builds DOM from data without ever parsing markup: text goes in as text nodes, attributes through
// setAttribute, and no event-handler attributes or URLs are accepted. Container names, labels, commands
// and file names can hold anything; here they can only ever be text.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined>;

const FORBIDDEN_ATTR = /^(on|href$|src$|srcdoc$|xlink:href$|formaction$|action$|style$)/i;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (FORBIDDEN_ATTR.test(name)) throw new Error(`attribute ${name} is not allowed from data`);
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** Sets inline style properties through the CSSOM (allowed under the style-src CSP, unlike style attributes). */
export function styled<T extends HTMLElement>(el: T, props: Partial<Record<string, string>>): T {
  for (const [k, v] of Object.entries(props)) if (v !== undefined) el.style.setProperty(k, v);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The SVG counterpart of h(): elements made with createElementNS, attributes through setAttribute, text as text nodes. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (FORBIDDEN_ATTR.test(name)) throw new Error(`attribute ${name} is not allowed from data`);
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}
