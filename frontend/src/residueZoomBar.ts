/**
 * The explanation panels' residue zoom in one bar above them: which residues the panels show, a
 * strip of the whole sequence with the window outlined (click or drag it to move the window
 * there), and −, + and Reset for keyboards and touch screens.
 */

import { h } from "./dom";
import type { FocusHub } from "./focus";
import { theme } from "./theme";
import { ZOOM_STEP, type ZoomHub } from "./zoom";

const STRIP_HEIGHT = 12;
const WINDOW_COLOUR = "#d6336c";

export function residueZoomBar(zoom: ZoomHub, focus: FocusHub): HTMLElement {
  const strip = h("canvas", { class: "residue-zoom__strip", "data-testid": "residue-zoom-strip", height: String(STRIP_HEIGHT), "aria-label": "the residues the panels show; click to move there" });
  const words = h("span", { class: "residue-zoom__words", "data-testid": "residue-zoom-window" });
  const around = (): number => {
    const selected = focus.selection;
    return selected ? selected.i + 0.5 : zoom.view.x0 + zoom.view.size / 2;
  };
  const button = (text: string, title: string, act: () => void, testId: string): HTMLButtonElement => {
    const element = h("button", { type: "button", class: "button button--secondary button--small", title, "data-testid": testId }, text);
    element.addEventListener("click", act);
    return element;
  };
  const draw = (): void => {
    const { x0, size } = zoom.view;
    const width = strip.clientWidth;
    words.textContent = zoom.zoomed
      ? `Residues ${x0 + 1}–${x0 + size} of ${zoom.length} (wheel over a panel to zoom, drag to pan)`
      : `All ${zoom.length} residues (wheel over a panel, or +, to zoom)`;
    if (width === 0) return;
    strip.width = width;
    const context = strip.getContext("2d")!;
    context.fillStyle = theme.plotBackground;
    context.fillRect(0, 0, width, STRIP_HEIGHT);
    const scale = width / zoom.length;
    context.strokeStyle = WINDOW_COLOUR;
    context.lineWidth = 2;
    context.strokeRect(x0 * scale + 1, 1, Math.max(3, size * scale - 2), STRIP_HEIGHT - 2);
  };
  const move = (event: PointerEvent): void => {
    const rect = strip.getBoundingClientRect();
    const centre = ((event.clientX - rect.left) / rect.width) * zoom.length;
    zoom.set({ x0: centre - zoom.view.size / 2, y0: 0, size: zoom.view.size });
  };
  strip.addEventListener("pointerdown", (event) => {
    strip.setPointerCapture(event.pointerId);
    move(event);
  });
  strip.addEventListener("pointermove", (event) => {
    if (event.buttons === 1) move(event);
  });
  zoom.subscribe(draw);
  new ResizeObserver(draw).observe(strip);
  return h(
    "div",
    { class: "residue-zoom", "data-testid": "residue-zoom" },
    words,
    strip,
    h(
      "span",
      { class: "heatmap__zoom-buttons" },
      button("−", "show more residues", () => zoom.zoomAround(1 / ZOOM_STEP, 0, around()), "residue-zoom-out"),
      button("+", "show fewer residues, larger (around the selected one)", () => zoom.zoomAround(ZOOM_STEP, 0, around()), "residue-zoom-in"),
      button("Reset", "show every residue", () => zoom.reset(), "residue-zoom-reset"),
    ),
  );
}
