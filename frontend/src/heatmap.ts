/**
 * An L×L map on canvas. The colours are computed once into an L×L image (one pixel per cell); the
 * visible base layer only rescales (the zoomed window of) that image, and hover/selection marks
 * live on a second canvas layer, so pointer moves never recolour a million cells.
 *
 * Zoom and pan (zoom.ts) are shared by the page's maps: the wheel zooms around the pointer, a drag
 * pans (Shift+drag on maps where a drag selects a region), + and − zoom around the selected cell,
 * 0 resets; under the map a minimap shows where the window is (click or drag it to move there),
 * with −, + and Reset buttons for touch screens.
 */

import { colorBar, type ColorBarOptions } from "./colorbar";
import type { ColorScale } from "./colormaps";
import { h } from "./dom";
import { CanvasLayers, arrowDown, arrowRight, bindCellInput, bindDrag, cellImage, drawFrame, outlineCell, ringTargets, tickStep } from "./figureCanvas";
import { TARGET_COLOR, type Focus, type FocusHub } from "./focus";
import { ZOOM_STEP, ZoomHub, type MapView } from "./zoom";

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
  /** The zoom this map shares with the page's other maps; its own when not given. */
  zoom?: ZoomHub;
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
const MINIMAP = 76;
const VIEW_COLOR = "#d6336c";

export class Heatmap {
  readonly element: HTMLElement;
  private readonly image: HTMLCanvasElement;
  private readonly layers: CanvasLayers;
  private readonly base: HTMLCanvasElement;
  /** The plot's width and height in CSS pixels; 0 until laid out. */
  private inner = 0;
  private region: Region | null = null;
  private readonly zoom: ZoomHub;
  private readonly minimap = h("canvas", { class: "heatmap__minimap", width: String(MINIMAP), height: String(MINIMAP) });
  private readonly window = h("span", { class: "heatmap__window" });
  private readonly unsubscribe: () => void;
  private readonly unsubscribeZoom: () => void;
  private readonly resizeObserver: ResizeObserver;

  constructor(private readonly options: HeatmapOptions) {
    const { values, length, scale } = options;
    this.image = cellImage(length, length, scale, (i, j) => values[i * length + j]!);
    this.zoom = options.zoom ?? new ZoomHub(length);

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
      label: `${options.title}, ${length} × ${length} residues; arrow keys move the selected cell, Enter explains it, Escape clears it; the wheel, + and − zoom, a drag pans, 0 resets`,
    });
    this.base = this.layers.base;

    this.element.append(caption, this.layers.element, this.zoomBar(), colorBar({ scale, ...options.colorBar }));
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
    this.bindZoom();
    this.unsubscribe = options.focus.subscribe(() => this.drawOverlay());
    this.unsubscribeZoom = this.zoom.subscribe(() => this.redraw());
    this.resizeObserver = new ResizeObserver(() => this.layout());
    this.resizeObserver.observe(this.layers.element);
  }

  /** Detaches the map from the shared focus and the page, for maps that get replaced. */
  dispose(): void {
    this.unsubscribe();
    this.unsubscribeZoom();
    this.resizeObserver.disconnect();
    this.element.remove();
  }

  /** Sizes both layers to the plot's width and redraws them; false while the plot is not laid out. */
  layout(): boolean {
    const width = this.layers.element.clientWidth;
    if (width === 0) return false;
    if (width === this.layers.width) return true;
    this.inner = width - MARGIN.left - MARGIN.right;
    this.layers.resize(width, this.inner + MARGIN.top + MARGIN.bottom);
    // Where the cells are drawn (CSS pixels from the canvas's top left), for tests and benchmarks.
    this.base.dataset.plot = JSON.stringify({ left: MARGIN.left, top: MARGIN.top, size: this.inner });
    this.redraw();
    return true;
  }

  /** CSS pixels per cell at the current zoom. */
  private get cell(): number {
    return this.inner / this.zoom.view.size;
  }

  /** The x of column position `column` (in cells, fractional), in CSS pixels. */
  private x(column: number): number {
    return MARGIN.left + (column - this.zoom.view.x0) * this.cell;
  }

  private y(row: number): number {
    return MARGIN.top + (row - this.zoom.view.y0) * this.cell;
  }

  private redraw(): void {
    if (this.layers.width === 0) return;
    this.drawBase();
    this.drawOverlay();
    this.drawMinimap();
  }

  /** Limits drawing to the plotted square until `restore`. */
  private clip(context: CanvasRenderingContext2D): void {
    context.save();
    context.beginPath();
    context.rect(MARGIN.left, MARGIN.top, this.inner, this.inner);
    context.clip();
  }

  private drawBase(): void {
    const context = this.layers.context(this.base);
    const { x0, y0, size } = this.zoom.view;
    // Crisp blocks when a cell covers at least a device pixel; averaging when the map is shrunk.
    context.imageSmoothingEnabled = this.cell * (window.devicePixelRatio || 1) < 1;
    context.drawImage(this.image, x0, y0, size, size, MARGIN.left, MARGIN.top, this.inner, this.inner);
    this.clip(context);
    this.drawMarkers(context);
    this.drawHighlights(context);
    context.restore();
    this.drawAxes(context, this.inner);
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
      const x = this.x(j + 0.5);
      const y = this.y(i + 0.5);
      context.strokeRect(x - size / 2, y - size / 2, size, size);
    }
  }

  private drawMarkers(context: CanvasRenderingContext2D): void {
    const markers = this.options.markers;
    if (!markers) return;
    const { length } = this.options;
    const cell = this.cell;
    const { x0, y0, size: shown } = this.zoom.view;
    const [firstRow, lastRow] = [Math.max(1, Math.floor(y0)), Math.min(length, Math.ceil(y0 + shown))];
    const [firstColumn, lastColumn] = [Math.max(0, Math.floor(x0)), Math.ceil(x0 + shown)];
    context.beginPath();
    const outlined = cell >= 4;
    for (let i = firstRow; i < lastRow; i++) {
      for (let j = firstColumn; j < Math.min(i, lastColumn); j++) {
        if (!markers[i * length + j]) continue;
        const x = this.x(j + 0.5);
        const y = this.y(i + 0.5);
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

  /** Residue numbers (from 1) along the top and the left, for the residues in the window. */
  private drawAxes(context: CanvasRenderingContext2D, inner: number): void {
    const step = tickStep(this.cell);
    const { x0, y0, size } = this.zoom.view;
    const numbers = (start: number): number[] => {
      const first = Math.floor(start) + 1;
      const ticks = first === 1 ? [1] : [];
      for (let n = Math.ceil(first / step) * step; n <= Math.min(this.options.length, start + size + 0.5); n += step) if (n !== 1) ticks.push(n);
      return ticks.filter((n) => n - 0.5 >= start && n - 0.5 <= start + size);
    };
    drawFrame(context, { left: MARGIN.left, top: MARGIN.top, width: inner, height: inner }, {
      columns: numbers(x0).map((n): [string, number] => [String(n), this.x(n - 0.5)]),
      rows: numbers(y0).map((n): [string, number] => [String(n), this.y(n - 0.5)]),
      font: TICK_FONT,
      tick: 4,
    });
  }

  private drawOverlay(): void {
    if (this.layers.width === 0) return;
    const context = this.layers.context(this.layers.overlay);
    const inner = this.inner;
    const { hover, selection, target } = this.options.focus;
    if (target) this.drawTargetArrows(context, target);
    this.clip(context);
    if (this.region) this.drawRegion(context, this.region);
    if (target?.j != null) ringTargets(context, [[this.x(target.j + 0.5), this.y(target.i + 0.5)]], Math.max(this.cell, 8));
    if (selection) this.drawFocus(context, selection, inner, true);
    if (hover) this.drawFocus(context, hover, inner, false);
    context.restore();
  }

  private drawRegion(context: CanvasRenderingContext2D, { rows, cols }: Region): void {
    const cell = this.cell;
    context.lineWidth = 2;
    context.strokeStyle = REGION_COLOR;
    context.strokeRect(this.x(cols[0]), this.y(rows[0]), (cols[1] - cols[0] + 1) * cell, (rows[1] - rows[0] + 1) * cell);
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
      start = event.shiftKey && this.zoom.zoomed ? null : this.cellAt(event); // Shift+drag pans
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

  /** Arrowheads on both axes at the target's residues (those inside the window). */
  private drawTargetArrows(context: CanvasRenderingContext2D, target: Focus): void {
    const row = this.y(target.i + 0.5);
    const column = this.x((target.j ?? target.i) + 0.5);
    const within = (at: number, start: number): boolean => at >= start && at <= start + this.inner;
    context.fillStyle = TARGET_COLOR;
    context.beginPath();
    if (within(column, MARGIN.left)) arrowDown(context, column, MARGIN.top);
    if (within(row, MARGIN.top)) arrowRight(context, MARGIN.left, row);
    context.fill();
  }

  /** A crosshair through row i and column j, or, for a single residue, its row and column. */
  private drawFocus(context: CanvasRenderingContext2D, focus: Focus, inner: number, pinned: boolean): void {
    const cell = this.cell;
    const row = this.y(focus.i + 0.5);
    const column = this.x((focus.j ?? focus.i) + 0.5);
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

  /** The (fractional) row and column under the pointer, or null off the plot. */
  private positionAt(event: MouseEvent): { row: number; column: number } | null {
    const rect = this.base.getBoundingClientRect();
    const px = event.clientX - rect.left - MARGIN.left;
    const py = event.clientY - rect.top - MARGIN.top;
    if (px < 0 || py < 0 || px >= this.inner || py >= this.inner) return null;
    return { row: this.zoom.view.y0 + py / this.cell, column: this.zoom.view.x0 + px / this.cell };
  }

  private cellAt(event: MouseEvent): { i: number; j: number } | null {
    const at = this.positionAt(event);
    if (!at) return null;
    const [i, j] = [Math.floor(at.row), Math.floor(at.column)];
    const { length } = this.options;
    return i >= 0 && j >= 0 && i < length && j < length ? { i, j } : null;
  }

  /** The minimap, what the window shows and the −, + and Reset buttons. */
  private zoomBar(): HTMLElement {
    const id = this.options.testId;
    const button = (text: string, title: string, act: () => void, testId: string): HTMLButtonElement => {
      const element = h("button", { type: "button", class: "button button--secondary button--small", title, "data-testid": testId }, text);
      element.addEventListener("click", act);
      return element;
    };
    const centre = (): { row: number; column: number } => {
      const { x0, y0, size } = this.zoom.view;
      const selected = this.options.focus.selection;
      return selected ? { row: selected.i + 0.5, column: (selected.j ?? selected.i) + 0.5 } : { row: y0 + size / 2, column: x0 + size / 2 };
    };
    this.minimap.dataset.testid = `${id}-minimap`;
    this.minimap.setAttribute("aria-label", "where the zoomed window lies in the whole map; click to move it there");
    this.bindMinimap();
    return h(
      "div",
      { class: "heatmap__zoom" },
      this.minimap,
      h(
        "div",
        { class: "heatmap__zoom-controls" },
        this.window,
        h(
          "span",
          { class: "heatmap__zoom-buttons" },
          button("−", "zoom out", () => this.zoom.zoomAround(1 / ZOOM_STEP, centre().row, centre().column), `${id}-zoom-out`),
          button("+", "zoom in (around the selected cell)", () => this.zoom.zoomAround(ZOOM_STEP, centre().row, centre().column), `${id}-zoom-in`),
          button("Reset", "show the whole map", () => this.zoom.reset(), `${id}-zoom-reset`),
        ),
      ),
    );
  }

  /** The whole map in small, with the zoomed window outlined. */
  private drawMinimap(): void {
    const context = this.minimap.getContext("2d");
    if (!context) return;
    const { length } = this.options;
    const { x0, y0, size } = this.zoom.view;
    context.imageSmoothingEnabled = true;
    context.clearRect(0, 0, MINIMAP, MINIMAP);
    context.drawImage(this.image, 0, 0, MINIMAP, MINIMAP);
    const scale = MINIMAP / length;
    context.lineWidth = 2;
    context.strokeStyle = VIEW_COLOR;
    context.strokeRect(x0 * scale + 1, y0 * scale + 1, Math.max(3, size * scale - 2), Math.max(3, size * scale - 2));
    const first = (start: number): number => Math.round(start) + 1;
    const last = (start: number): number => Math.min(length, Math.round(start + size));
    this.window.textContent = this.zoom.zoomed
      ? `rows ${first(y0)}–${last(y0)} × columns ${first(x0)}–${last(x0)} of ${length}`
      : `all ${length} × ${length}; wheel or + to zoom, drag to pan`;
    this.element.dataset.zoom = this.zoom.zoomed ? `${first(y0)},${first(x0)},${Math.round(size)}` : "";
  }

  /** A click or drag on the minimap centres the window there. */
  private bindMinimap(): void {
    const move = (event: PointerEvent): void => {
      const rect = this.minimap.getBoundingClientRect();
      const scale = this.options.length / rect.width;
      const { size } = this.zoom.view;
      const view: MapView = { x0: (event.clientX - rect.left) * scale - size / 2, y0: (event.clientY - rect.top) * scale - size / 2, size };
      this.zoom.set(view);
    };
    this.minimap.addEventListener("pointerdown", (event) => {
      this.minimap.setPointerCapture(event.pointerId);
      move(event);
    });
    this.minimap.addEventListener("pointermove", (event) => {
      if (event.buttons === 1) move(event);
    });
  }

  /**
   * The wheel zooms around the pointer; a drag pans a zoomed map (Shift+drag where a drag selects
   * a region); + and − zoom around the selected cell, 0 resets. The click that ends a pan is not a
   * click on a cell.
   */
  private bindZoom(): void {
    this.base.addEventListener(
      "wheel",
      (event) => {
        const at = this.positionAt(event);
        if (!at) return;
        event.preventDefault();
        this.zoom.zoomAround(ZoomHub.wheelFactor(event), at.row, at.column);
      },
      { passive: false },
    );
    bindDrag(this.base, (event) => {
      if (!this.zoom.zoomed || (this.options.onRegion && !event.shiftKey)) return null;
      const { x0, y0, size } = this.zoom.view;
      return (dx, dy) => this.zoom.set({ x0: x0 - dx / this.cell, y0: y0 - dy / this.cell, size });
    });
    this.base.addEventListener("keydown", (event) => {
      const selected = this.options.focus.selection;
      const { x0, y0, size } = this.zoom.view;
      const row = selected ? selected.i + 0.5 : y0 + size / 2;
      const column = selected ? (selected.j ?? selected.i) + 0.5 : x0 + size / 2;
      if (event.key === "+" || event.key === "=") this.zoom.zoomAround(ZOOM_STEP, row, column);
      else if (event.key === "-") this.zoom.zoomAround(1 / ZOOM_STEP, row, column);
      else if (event.key === "0") this.zoom.reset();
      else return;
      event.preventDefault();
    });
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
        const cell = { i: clamp(start.i + di), j: clamp((start.j ?? start.i) + dj) };
        this.zoom.reveal(cell.i, cell.j); // a zoomed map follows the selection
        return cell;
      },
    });
  }
}
