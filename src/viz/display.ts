// Notebook display. Deno's Jupyter kernel shows any object with a `Symbol.for("Jupyter.display")` method
// returning a MIME bundle; tslab and Observable take the markup from `toSVG()` / `toHTML()`.

/** The display key Deno's Jupyter kernel looks for. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A MIME bundle: MIME type → content. */
export type MimeBundle = Record<string, string>;

/** What a displayable object offers a notebook. */
export interface Displayable {
  toSVG(): string;
  toHTML(): string;
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** How to draw an object: the SVG, and optionally a richer HTML page (default: the SVG inline). */
export interface Renderer {
  svg(): string;
  html?(): string;
}

/** The MIME bundle of a renderer: SVG for front ends that take images, HTML for the rest. */
export function mimeBundle(render: Renderer): MimeBundle {
  const svg = render.svg();
  return { "image/svg+xml": svg, "text/html": render.html ? render.html() : `<div class="heaplab">${svg}</div>` };
}

/**
 * Makes `target` displayable in notebooks, in place: adds `toSVG`, `toHTML` and the Jupyter display method
 * (not enumerable, so JSON and `console.log` of the object are unchanged). Drawing happens on each call.
 */
export function displayable<T extends object>(target: T, render: Renderer): T & Displayable {
  const methods: Displayable = {
    toSVG: () => render.svg(),
    toHTML: () => mimeBundle(render)["text/html"],
    [JUPYTER_DISPLAY]: () => mimeBundle(render),
  };
  for (const key of [...Object.keys(methods), JUPYTER_DISPLAY] as (keyof Displayable)[]) {
    Object.defineProperty(target, key, { value: methods[key], enumerable: false, configurable: true, writable: true });
  }
  return target as T & Displayable;
}

/** A drawing that notebooks display: wrap any SVG (and optional HTML) string. */
export function view(svg: string, html?: string): Displayable & { svg: string } {
  return displayable({ svg }, { svg: () => svg, html: html === undefined ? undefined : () => html });
}
