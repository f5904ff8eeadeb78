/** A horizontal colour bar with ticks and units, so every coloured figure can be read quantitatively. */

import { ColorScale } from "./colormaps";

export interface ColorBarOptions {
  scale: ColorScale;
  /** What the colour encodes, with units, e.g. "distance (Å)". */
  title: string;
  ticks: number[];
  format?: (value: number) => string;
}

export function colorBar({ scale, title, ticks, format = String }: ColorBarOptions): HTMLElement {
  const root = document.createElement("div");
  root.className = "colorbar";

  const gradient = document.createElement("canvas");
  gradient.className = "colorbar__gradient";
  gradient.width = 256;
  gradient.height = 1;
  const context = gradient.getContext("2d")!;
  const row = context.createImageData(256, 1);
  for (let x = 0; x < 256; x++) {
    const value = scale.min + ((scale.max - scale.min) * x) / 255;
    const k = scale.index(value);
    row.data.set([scale.lut[3 * k]!, scale.lut[3 * k + 1]!, scale.lut[3 * k + 2]!, 255], 4 * x);
  }
  context.putImageData(row, 0, 0);
  gradient.setAttribute("role", "img");
  gradient.setAttribute("aria-label", `colour scale: ${title}, ${format(scale.min)} to ${format(scale.max)}`);

  const tickRow = document.createElement("div");
  tickRow.className = "colorbar__ticks";
  for (const value of ticks) {
    const tick = document.createElement("span");
    tick.className = "colorbar__tick";
    tick.style.left = `${(100 * (value - scale.min)) / (scale.max - scale.min)}%`;
    tick.textContent = format(value);
    tickRow.append(tick);
  }

  const caption = document.createElement("div");
  caption.className = "colorbar__title";
  caption.textContent = title;

  root.append(gradient, tickRow, caption);
  return root;
}
