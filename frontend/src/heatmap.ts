/**
 * An L×L map on canvas. The colours are computed once into an L×L image (one pixel per cell); the
 * visible base layer only rescales that image, and hover/selection marks live on a second canvas
 * layer, so pointer moves never recolour a million cells.
 */

import { colorBar, type ColorBarOptions } from "./colorbar";
import type { ColorScale } from "./colormaps";
import { h } from "./dom";
import { CanvasLayers, arrowDown, arrowRight, bindCellInput, cellImage, drawFrame, outlineCell, ringTargets, tickStep } from "./figureCanvas";
import { TARGET_COLOR, type Focus, type FocusHub } from "./focus";

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
  /**
   * Cells (i, j) with i < j drawn as squares in the upper triangle, e.g. a map's strongest pairs;
   * with `hits`, green where the pair is a true contact and red where it is not.
   */
  highlights?: { cells: [number, number][]; hits: Uint8Array | null; legend: string } | null;
  focus: FocusHub;
  /** Tooltip text for cell (i, j), 0-based. */
  describe: (i: number, j: number) => string;
  /** Called with the clicked cell, for maps whose cells can be explained. */
  onPick?: (cell: { i: number; j: number }) => void;
  /** Called with the rectangle of cells dragged across (null when a click clears it), for maps whose regions mean something. */
  onRegion?: (region: Region | null) => void;
}

/** Rows `rows[0]..rows[1]` × columns `cols[0]..cols[1]` of a map, 0-based and inclusive. */
export interface Region {
  rows: [number, number];
  cols: [number, number];
}

const REGION_COLOR = "#d6336c";

/** Space for residue-number ticks on the top and left edges (and half a label on the right), in CSS pixels. */
const MARGIN = { left: 38, top: 20, right: 16, bottom: 4 };
const MARKER_COLOR = "#e8590c";
const HIGHLIGHT_COLOR = "#1c7ed6";
const HIT_COLOR = "#2b8a3e";
const MISS_COLOR = "#c92a2a";
const TICK_FONT = "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

export class Heatmap {
  readonly element: HTMLElement;
  private readonly image: HTMLCanvasElement;
  private readonly layers: CanvasLayers;
  private readonly base: HTMLCanvasElement;
  private cell = 0;
  private region: Region | null = null;
  private readonly unsubscribe: () => void;
  private readonly resizeObserver: ResizeObserver;

  constructor(private readonly options: HeatmapOptions) {
    const { values, length, scale } = options;
    this.image = cellImage(length, length, scale, (i, j) => values[i * length + j]!);

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

    this.layers = new CanvasLayers({
      className: "heatmap__plot",
      testId: options.testId,
      label: `${options.title}, ${length} × ${length} residues; arrow keys move the selected cell, Escape clears it`,
    });
    this.base = this.layers.base;

    this.element.append(caption, this.layers.element, colorBar({ scale, ...options.colorBar }));
    if (options.markers && options.markerLegend) {
      this.element.append(
        h("p", { class: "legend" }, h("span", { class: "legend__marker", style: `border-color: ${MARKER_COLOR}` }), options.markerLegend),
      );
    }
    const highlights = options.highlights;
    if (highlights) {
      const swatch = (colour: string) => h("span", { class: "legend__marker legend__marker--square", style: `border-color: ${colour}` });
      this.element.append(
        h("p", { class: "legend" },
          ...(highlights.hits ? [swatch(HIT_COLOR), swatch(MISS_COLOR)] : [swatch(HIGHLIGHT_COLOR)]),
          highlights.legend + (highlights.hits ? " (green: a true contact, red: not)" : ""),
        ),
      );
    }

    this.bindPointer();
    if (options.onRegion) this.bindRegion(options.onRegion);
    this.unsubscribe = options.focus.subscribe(() => this.drawOverlay());
    this.resizeObserver = new ResizeObserver(() => this.layout());
    this.resizeObserver.observe(this.layers.element);
  }

  /** Detaches the map from the shared focus and the page, for maps that get replaced. */
  dispose(): void {
    this.unsubscribe();
    this.resizeObserver.disconnect();
    this.element.remove();
  }

  /** Sizes both layers to the plot's width and redraws them; false while the plot is not laid out. */
  layout(): boolean {
    const width = this.layers.element.clientWidth;
    if (width === 0) return false;
    if (width === this.layers.width) return true;
    const inner = width - MARGIN.left - MARGIN.right;
    this.cell = inner / this.options.length;
    this.layers.resize(width, inner + MARGIN.top + MARGIN.bottom);
    this.drawBase();
    this.drawOverlay();
    return true;
  }

  private drawBase(): void {
    const context = this.layers.context(this.base);
    const inner = this.cell * this.options.length;
    // Crisp blocks when a cell covers at least a device pixel; averaging when the map is shrunk.
    context.imageSmoothingEnabled = this.cell * (window.devicePixelRatio || 1) < 1;
    context.drawImage(this.image, MARGIN.left, MARGIN.top, inner, inner);
    this.drawMarkers(context);
    this.drawHighlights(context);
    this.drawAxes(context, inner);
  }

  private drawHighlights(context: CanvasRenderingContext2D): void {
    const highlights = this.options.highlights;
    if (!highlights) return;
    const { length } = this.options;
    const cell = this.cell;
    const size = Math.max(cell * 1.3, 5);
    context.lineWidth = Math.max(1.5, Math.min(2.5, cell * 0.2));
    for (const [i, j] of highlights.cells) {
      const hit = highlights.hits ? highlights.hits[i * length + j] === 1 : null;
      context.strokeStyle = hit === null ? HIGHLIGHT_COLOR : hit ? HIT_COLOR : MISS_COLOR;
      const x = MARGIN.left + (j + 0.5) * cell;
      const y = MARGIN.top + (i + 0.5) * cell;
      context.strokeRect(x - size / 2, y - size / 2, size, size);
    }
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
    const step = tickStep(this.cell);
    const ticks = [1];
    for (let n = step; n <= this.options.length; n += step) if (n !== 1) ticks.push(n);
    const at = ticks.map((n): [string, number] => [String(n), (n - 0.5) * this.cell]);
    drawFrame(context, { left: MARGIN.left, top: MARGIN.top, width: inner, height: inner }, {
      columns: at.map(([text, offset]) => [text, MARGIN.left + offset]),
      rows: at.map(([text, offset]) => [text, MARGIN.top + offset]),
      font: TICK_FONT,
      tick: 4,
    });
  }

  private drawOverlay(): void {
    if (this.layers.width === 0) return;
    const context = this.layers.context(this.layers.overlay);
    const inner = this.cell * this.options.length;
    const { hover, selection, target } = this.options.focus;
    if (this.region) this.drawRegion(context, this.region);
    if (target) this.drawTarget(context, target);
    if (selection) this.drawFocus(context, selection, inner, true);
    if (hover) this.drawFocus(context, hover, inner, false);
  }

  private drawRegion(context: CanvasRenderingContext2D, { rows, cols }: Region): void {
    const cell = this.cell;
    context.lineWidth = 2;
    context.strokeStyle = REGION_COLOR;
    context.strokeRect(
      MARGIN.left + cols[0] * cell,
      MARGIN.top + rows[0] * cell,
      (cols[1] - cols[0] + 1) * cell,
      (rows[1] - rows[0] + 1) * cell,
    );
  }

  /**
   * Dragging across cells selects their rectangle (drawn, and handed to `onRegion`); the click that
   * ends a drag is not a click on a cell. A plain click clears the rectangle.
   */
  private bindRegion(onRegion: (region: Region | null) => void): void {
    let start: { i: number; j: number } | null = null;
    let dragged = false;
    const spanning = (a: { i: number; j: number }, b: { i: number; j: number }): Region => ({
      rows: [Math.min(a.i, b.i), Math.max(a.i, b.i)],
      cols: [Math.min(a.j, b.j), Math.max(a.j, b.j)],
    });
    this.base.addEventListener("pointerdown", (event) => {
      start = this.cellAt(event);
      dragged = false;
    });
    this.base.addEventListener("pointermove", (event) => {
      const here = start && event.buttons === 1 ? this.cellAt(event) : null;
      if (!start || !here || (here.i === start.i && here.j === start.j && !dragged)) return;
      dragged = true;
      this.region = spanning(start, here);
      this.drawOverlay();
    });
    this.base.addEventListener("pointerup", () => {
      if (dragged) onRegion(this.region);
      start = null;
    });
    this.base.addEventListener(
      "click",
      (event) => {
        if (dragged) {
          event.stopImmediatePropagation();
          dragged = false;
        } else if (this.region) {
          this.region = null;
          this.drawOverlay();
          onRegion(null);
        }
      },
      { capture: true },
    );
  }

  /** Arrowheads on both axes at the target's residues, and a ring around a target cell. */
  private drawTarget(context: CanvasRenderingContext2D, target: Focus): void {
    const cell = this.cell;
    const row = MARGIN.top + (target.i + 0.5) * cell;
    const column = MARGIN.left + ((target.j ?? target.i) + 0.5) * cell;
    context.fillStyle = TARGET_COLOR;
    context.beginPath();
    arrowDown(context, column, MARGIN.top);
    arrowRight(context, MARGIN.left, row);
    context.fill();
    if (target.j !== null) ringTargets(context, [[column, row]], Math.max(cell, 8));
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
    if (focus.j !== null) outlineCell(context, column, row, Math.max(cell, 7));
  }

  private cellAt(event: MouseEvent): { i: number; j: number } | null {
    const rect = this.base.getBoundingClientRect();
    const j = Math.floor((event.clientX - rect.left - MARGIN.left) / this.cell);
    const i = Math.floor((event.clientY - rect.top - MARGIN.top) / this.cell);
    const { length } = this.options;
    return i >= 0 && j >= 0 && i < length && j < length ? { i, j } : null;
  }

  private bindPointer(): void {
    const { focus, describe, length, onPick } = this.options;
    const clamp = (n: number): number => Math.min(length - 1, Math.max(0, n));
    bindCellInput(this.base, {
      focus,
      cellAt: (event) => this.cellAt(event),
      describe: (cell) => describe(cell.i, cell.j),
      onPick,
      moved: (from, [di, dj]) => {
        const start = from ?? { i: 0, j: 0 };
        return { i: clamp(start.i + di), j: clamp((start.j ?? start.i) + dj) };
      },
    });
  }
}
