// A one-line legend of colour swatches.

import { el, textEl, translate } from "./svg.js";

export interface LegendEntry {
  label: string;
  color: string;
}

/** Swatches laid left to right, wrapping at `width`; returns the markup and the height it takes. */
export function legend(entries: LegendEntry[], width: number): { svg: string; height: number } {
  const lineHeight = 16;
  let x = 0;
  let y = 0;
  let svg = "";
  for (const entry of entries) {
    const itemWidth = 18 + entry.label.length * 6.6 + 12;
    if (x > 0 && x + itemWidth > width) {
      x = 0;
      y += lineHeight;
    }
    svg += translate(x, y,
      el("rect", { width: 12, height: 12, fill: entry.color, stroke: "#495057", "stroke-width": 0.5 }) +
      textEl("text", { x: 16, y: 10 }, entry.label));
    x += itemWidth;
  }
  return { svg: el("g", { class: "legend" }, svg), height: entries.length === 0 ? 0 : y + lineHeight };
}
