// String building for SVG and HTML: escaping, elements, number and size formatting.

export type Attrs = Record<string, string | number | undefined | null | false>;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for use in XML/HTML text nodes and attribute values; drops characters XML cannot hold. */
export function escapeXml(text: string): string {
  return String(text)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Formats attributes; `undefined`, `null` and `false` values are left out. */
export function attrs(a: Attrs): string {
  let out = "";
  for (const key of Object.keys(a)) {
    const value = a[key];
    if (value === undefined || value === null || value === false) continue;
    out += ` ${key}="${escapeXml(typeof value === "number" ? num(value) : value)}"`;
  }
  return out;
}

/** An element; `children` is already-built markup. With no children the element is self-closing. */
export function el(name: string, a: Attrs = {}, ...children: string[]): string {
  const body = children.join("");
  return body === "" ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${body}</${name}>`;
}

/** A text-holding element (`<text>`, `<title>`); the text is escaped. */
export function textEl(name: string, a: Attrs, text: string): string {
  return `<${name}${attrs(a)}>${escapeXml(text)}</${name}>`;
}

/** Compact number for coordinates: at most two decimals, no trailing zeros. */
export function num(value: number): string {
  if (!Number.isFinite(value)) return "0";
  return String(Math.round(value * 100) / 100);
}

/** An address in hex, as the allocators print them. */
export function hex(address: number): string {
  return "0x" + Math.max(0, Math.floor(address)).toString(16);
}

/**
 * A byte count for people, as the text reports print it ("48 B", "4.0 KiB", "5.1 MiB"): a picture and the report
 * beside it must show the same number the same way.
 */
export { formatBytes as bytes } from "../report/format.js";

/** The root `<svg>` element, standalone (namespace, size, viewBox, font). */
export function svgRoot(width: number, height: number, body: string, className = "heaplab"): string {
  return el(
    "svg",
    {
      xmlns: "http://www.w3.org/2000/svg",
      width, height,
      viewBox: `0 0 ${num(width)} ${num(height)}`,
      class: className,
      "font-family": "ui-monospace, Menlo, Consolas, monospace",
      "font-size": 11,
    },
    body,
  );
}

/** Shifts already-built markup by (x, y). */
export function translate(x: number, y: number, body: string): string {
  return el("g", { transform: `translate(${num(x)},${num(y)})` }, body);
}

/** Width and height read back from a root `<svg>` built by `svgRoot`. */
export function svgSize(svg: string): { width: number; height: number } {
  const open = /<svg\b[^>]*>/.exec(svg)?.[0] ?? "";
  const width = Number(/\swidth="([\d.]+)"/.exec(open)?.[1] ?? 0);
  const height = Number(/\sheight="([\d.]+)"/.exec(open)?.[1] ?? 0);
  return { width, height };
}


/** Standalone SVG documents stacked top to bottom in one document. */
export function stackSVG(parts: readonly string[]): string {
  let y = 0;
  let width = 0;
  let body = "";
  for (const part of parts) {
    const size = svgSize(part);
    body += part.replace(/^<svg\b/, `<svg x="0" y="${num(y)}"`);
    y += size.height;
    width = Math.max(width, size.width);
  }
  return svgRoot(width, y, body, "heaplab stack");
}
