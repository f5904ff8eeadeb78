/**
 * An L×L map on canvas. The colours are computed once into an L×L image (one pixel per cell); the
 * visible base layer only rescales that image, and hover/selection marks live on a second canvas
 * layer, so pointer moves never recolour a million cells.
 */

import { colorBar, type ColorBarOptions } from "./colorbar";
import { ColorScale, MISSING_RGB } from "./colormaps";
import { h } from "./dom";
import { TARGET_COLOR, type Focus, type FocusHub } from "./focus";
import { hideTooltip, showTooltip } from "./tooltip";

export interface HeatmapOptions {
  testId: string;
  title: string;
  subtitle?: string;
  values: Float32Array;
  length: number;
  scale: ColorScale;
  colorBar: Omit<ColorBarOptions, "scale">;
  /** L×L 0/1 flags drawn as markers in the lower triangle (i > j), e.g. true contacts. */
  markers?: Uint8Array | null;
  markerLegend?: string;
  focus: FocusHub;
  /** Tooltip text for cell (i, j), 0-based. */
  describe: (i: number, j: number) => string;
  /** Called with the clicked cell, for maps whose cells can be explained. */
  onPick?: (cell: { i: number; j: number }) => void;
}

/** Space for residue-number ticks on the top and left edges (and half a label on the right), in CSS pixels. */
const MARGIN = { left: 38, top: 20, right: 16, bottom: 4 };
const TICK_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500];
const MARKER_COLOR = "#e8590c";

/** Smallest "round" residue step whose ticks are at least `minGap` CSS pixels apart. */
export function tickStep(cellSize: number, minGap = 34): number {
  return TICK_STEPS.find((step) => step * cellSize >= minGap) ?? 1000;
}

function buildImage(values: Float32Array, length: number, scale: ColorScale): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  canvas.width = length;
  canvas.height = length;
  const context = canvas.getContext("2d")!;
  const image = context.createImageData(length, length);
  const pixels = image.data;
  const lut = scale.lut;
  for (let cell = 0; cell < values.length; cell++) {
    const k = scale.index(values[cell]!);
    const p = 4 * cell;
    if (k < 0) {
      pixels[p] = MISSING_RGB[0];
      pixels[p + 1] = MISSING_RGB[1];
      pixels[p + 2] = MISSING_RGB[2];
    } else {
      pixels[p] = lut[3 * k]!;
      pixels[p + 1] = lut[3 * k + 1]!;
      pixels[p + 2] = lut[3 * k + 2]!;
    }
    pixels[p + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

export class Heatmap {
  readonly element: HTMLElement;
  private readonly image: HTMLCanvasElement;
  private readonly plot: HTMLDivElement;
  private readonly base: HTMLCanvasElement;
  private readonly overlay: HTMLCanvasElement;
  private width = 0;
  private cell = 0;
  private readonly unsubscribe: () => void;
  private readonly resizeObserver: ResizeObserver;

  constructor(private readonly options: HeatmapOptions) {
    this.image = buildImage(options.values, options.length, options.scale);

    this.element = document.createElement("figure");
    this.element.className = "heatmap";
    const caption = document.createElement("figcaption");
    caption.className = "figure-title";
    caption.textContent = options.title;
    if (options.subtitle) {
      const sub = document.createElement("span");
      sub.className = "figure-subtitle";
      sub.textContent = options.subtitle;
      caption.append(sub);
    }

    this.plot = document.createElement("div");
    this.plot.className = "heatmap__plot";
    this.base = document.createElement("canvas");
    this.base.className = "heatmap__layer";
    this.base.dataset.testid = options.testId;
    this.base.tabIndex = 0;
    this.base.setAttribute("role", "img");
    this.base.setAttribute(
      "aria-label",
      `${options.title}, ${options.length} × ${options.length} residues; arrow keys move the selected cell, Escape clears it`,
    );
    // The overlay only paints; the image canvas (the one tests and users address) takes the events.
    this.overlay = document.createElement("canvas");
    this.overlay.className = "heatmap__layer heatmap__layer--overlay";
    this.overlay.setAttribute("aria-hidden", "true");
    this.plot.append(this.base, this.overlay);

    this.element.append(caption, this.plot, colorBar({ scale: options.scale, ...options.colorBar }));
    if (options.markers && options.markerLegend) {
      this.element.append(
        h("p", { class: "legend" }, h("span", { class: "legend__marker", style: `border-color: ${MARKER_COLOR}` }), options.markerLegend),
      );
    }

    this.bindPointer();
    this.unsubscribe = options.focus.subscribe(() => this.drawOverlay());
    this.resizeObserver = new ResizeObserver(() => this.layout());
    this.resizeObserver.observe(this.plot);
  }

  /** Detaches the map from the shared focus and the page, for maps that get replaced. */
  dispose(): void {
    this.unsubscribe();
    this.resizeObserver.disconnect();
    this.element.remove();
  }

  /** Sizes both layers to the plot's width and redraws them; false while the plot is not laid out. */
  layout(): boolean {
    const width = this.plot.clientWidth;
    if (width === 0) return false;
    if (width === this.width) return true;
    this.width = width;
    const inner = width - MARGIN.left - MARGIN.right;
    const height = inner + MARGIN.top + MARGIN.bottom;
    this.cell = inner / this.options.length;
    this.plot.style.height = `${height}px`;
    const ratio = window.devicePixelRatio || 1;
    for (const canvas of [this.base, this.overlay]) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    this.drawBase();
    this.drawOverlay();
    return true;
  }

  private context(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
    const context = canvas.getContext("2d")!;
    const ratio = canvas.width / this.width;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    return context;
  }

  private drawBase(): void {
    const context = this.context(this.base);
    const { length } = this.options;
    const inner = this.cell * length;
    context.clearRect(0, 0, this.width, inner + MARGIN.top + MARGIN.bottom);
    // Crisp blocks when a cell covers at least a device pixel; averaging when the map is shrunk.
    context.imageSmoothingEnabled = this.cell * (window.devicePixelRatio || 1) < 1;
    context.drawImage(this.image, MARGIN.left, MARGIN.top, inner, inner);
    this.drawMarkers(context);
    this.drawAxes(context, inner);
  }

  private drawMarkers(context: CanvasRenderingContext2D): void {
    const markers = this.options.markers;
    if (!markers) return;
    const { length } = this.options;
    const cell = this.cell;
    context.beginPath();
    const outlined = cell >= 4;
    for (let i = 1; i < length; i++) {
      for (let j = 0; j < i; j++) {
        if (!markers[i * length + j]) continue;
        const x = MARGIN.left + (j + 0.5) * cell;
        const y = MARGIN.top + (i + 0.5) * cell;
        if (outlined) {
          context.moveTo(x + cell * 0.32, y);
          context.arc(x, y, cell * 0.32, 0, 2 * Math.PI);
        } else {
          const size = Math.max(cell, 1.5);
          context.rect(x - size / 2, y - size / 2, size, size);
        }
      }
    }
    if (outlined) {
      context.strokeStyle = MARKER_COLOR;
      context.lineWidth = Math.max(1, cell * 0.14);
      context.stroke();
    } else {
      context.fillStyle = MARKER_COLOR;
      context.fill();
    }
  }

  private drawAxes(context: CanvasRenderingContext2D, inner: number): void {
    context.strokeStyle = "#8a94a3";
    context.lineWidth = 1;
    context.strokeRect(MARGIN.left - 0.5, MARGIN.top - 0.5, inner + 1, inner + 1);
    context.fillStyle = "#4a5361";
    context.font = "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    const step = tickStep(this.cell);
    const ticks = [1];
    for (let n = step; n <= this.options.length; n += step) if (n !== 1) ticks.push(n);
    context.beginPath();
    for (const n of ticks) {
      const offset = (n - 0.5) * this.cell;
      context.moveTo(MARGIN.left + offset, MARGIN.top - 4);
      context.lineTo(MARGIN.left + offset, MARGIN.top);
      context.moveTo(MARGIN.left - 4, MARGIN.top + offset);
      context.lineTo(MARGIN.left, MARGIN.top + offset);
    }
    context.stroke();
    context.textAlign = "center";
    context.textBaseline = "bottom";
    for (const n of ticks) context.fillText(String(n), MARGIN.left + (n - 0.5) * this.cell, MARGIN.top - 5);
    context.textAlign = "right";
    context.textBaseline = "middle";
    for (const n of ticks) context.fillText(String(n), MARGIN.left - 6, MARGIN.top + (n - 0.5) * this.cell);
  }

  private drawOverlay(): void {
    if (this.width === 0) return;
    const context = this.context(this.overlay);
    const inner = this.cell * this.options.length;
    context.clearRect(0, 0, this.width, inner + MARGIN.top + MARGIN.bottom);
    const { hover, selection, target } = this.options.focus;
    if (target) this.drawTarget(context, target);
    if (selection) this.drawFocus(context, selection, inner, true);
    if (hover) this.drawFocus(context, hover, inner, false);
  }

  /** Arrowheads on both axes at the target's residues, and a ring around a target cell. */
  private drawTarget(context: CanvasRenderingContext2D, target: Focus): void {
    const cell = this.cell;
    const row = MARGIN.top + (target.i + 0.5) * cell;
    const column = MARGIN.left + ((target.j ?? target.i) + 0.5) * cell;
    context.fillStyle = TARGET_COLOR;
    context.beginPath();
    context.moveTo(column, MARGIN.top);
    context.lineTo(column - 5, MARGIN.top - 8);
    context.lineTo(column + 5, MARGIN.top - 8);
    context.closePath();
    context.moveTo(MARGIN.left, row);
    context.lineTo(MARGIN.left - 8, row - 5);
    context.lineTo(MARGIN.left - 8, row + 5);
    context.closePath();
    context.fill();
    if (target.j === null) return;
    const radius = Math.max(cell, 8);
    context.lineWidth = 2.5;
    context.strokeStyle = TARGET_COLOR;
    context.beginPath();
    context.arc(column, row, radius, 0, 2 * Math.PI);
    context.stroke();
  }

  /** A crosshair through row i and column j, or, for a single residue, its row and column. */
  private drawFocus(context: CanvasRenderingContext2D, focus: Focus, inner: number, pinned: boolean): void {
    const cell = this.cell;
    const row = MARGIN.top + (focus.i + 0.5) * cell;
    const column = MARGIN.left + ((focus.j ?? focus.i) + 0.5) * cell;
    context.lineWidth = 1;
    context.strokeStyle = pinned ? "rgba(0, 0, 0, 0.55)" : "rgba(255, 255, 255, 0.85)";
    context.setLineDash(pinned ? [4, 3] : []);
    context.beginPath();
    context.moveTo(MARGIN.left, row);
    context.lineTo(MARGIN.left + inner, row);
    context.moveTo(column, MARGIN.top);
    context.lineTo(column, MARGIN.top + inner);
    context.stroke();
    context.setLineDash([]);
    if (focus.j === null) return;
    const size = Math.max(cell, 7);
    context.lineWidth = 2;
    context.strokeStyle = "#000";
    context.strokeRect(column - size / 2, row - size / 2, size, size);
    context.lineWidth = 1;
    context.strokeStyle = "#fff";
    context.strokeRect(column - size / 2 - 1.5, row - size / 2 - 1.5, size + 3, size + 3);
  }

  private cellAt(event: MouseEvent): Focus | null {
    const rect = this.base.getBoundingClientRect();
    const j = Math.floor((event.clientX - rect.left - MARGIN.left) / this.cell);
    const i = Math.floor((event.clientY - rect.top - MARGIN.top) / this.cell);
    const { length } = this.options;
    return i >= 0 && j >= 0 && i < length && j < length ? { i, j } : null;
  }

  private bindPointer(): void {
    const { focus, describe, length } = this.options;
    this.base.addEventListener("pointermove", (event) => {
      const cell = this.cellAt(event);
      focus.setHover(cell);
      if (cell && cell.j !== null) showTooltip(describe(cell.i, cell.j), event.clientX, event.clientY);
      else hideTooltip();
    });
    this.base.addEventListener("pointerleave", () => {
      focus.setHover(null);
      hideTooltip();
    });
    this.base.addEventListener("click", (event) => {
      const cell = this.cellAt(event);
      if (!cell) return;
      focus.toggleSelection(cell);
      this.options.onPick?.({ i: cell.i, j: cell.j ?? cell.i });
    });
    this.base.addEventListener("keydown", (event) => {
      const moves: Record<string, [number, number]> = {
        ArrowUp: [-1, 0],
        ArrowDown: [1, 0],
        ArrowLeft: [0, -1],
        ArrowRight: [0, 1],
      };
      if (event.key === "Escape") {
        focus.setSelection(null);
        return;
      }
      const move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      const from = focus.selection ?? { i: 0, j: 0 };
      const clamp = (n: number): number => Math.min(length - 1, Math.max(0, n));
      focus.setSelection({ i: clamp(from.i + move[0]), j: clamp((from.j ?? from.i) + move[1]) });
    });
  }
}
