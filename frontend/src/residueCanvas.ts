/**
 * A canvas whose columns are the residues, on the horizontal layout that every explanation panel
 * shares, so a panel's map and track line up column for column. It owns what all such figures do
 * alike: sizing to the panel, the overlay that marks the hovered, pinned and target residues, and
 * pointer and keyboard input feeding the shared focus. What is drawn underneath is up to `paint`.
 *
 * With a residue zoom (shared by the panels: zoom.ts) the columns show its window: `paint` draws
 * as for every column with the layout shifted left, once clipped to the columns' area (the data)
 * and once unshifted clipped to the labels' gutter (the labels), so figures need not know. The
 * wheel zooms around the pointer, a drag pans, + − 0 zoom in, out and back.
 */

import { CanvasLayers, LABEL_FONT, arrowDown, bindDrag, markColumn, tickStep } from "./figureCanvas";
import { TARGET_COLOR, residueStep, type Focus, type FocusHub } from "./focus";
import { ZOOM_STEP, ZoomHub } from "./zoom";
import { hideTooltip, showTooltip } from "./tooltip";
import { theme } from "./theme";

/** Row labels on the left, a little air on the right, in CSS pixels. */
const LEFT = 64;
const RIGHT = 10;

/** Which residue each column shows: all of them in order, or a chosen few (e.g. the mutated ones). */
export class Columns {
  readonly count: number;
  private readonly columnOf: Map<number, number> | null;

  /** `residues` (0-based, ascending) picks the residues to show; without it all `length` are. */
  constructor(
    length: number,
    private readonly residues: Int32Array | null = null,
  ) {
    this.count = residues?.length ?? length;
    this.columnOf = residues && new Map(Array.from(residues, (residue, column) => [residue, column]));
  }

  residue(column: number): number {
    return this.residues ? this.residues[column]! : column;
  }

  /** The column showing `residue`, or -1 when it is not shown. */
  column(residue: number): number {
    return this.columnOf ? (this.columnOf.get(residue) ?? -1) : residue < this.count ? residue : -1;
  }

  /** Whether residues are skipped between this column and the one before. */
  breaksBefore(column: number): boolean {
    return column > 0 && this.residue(column) !== this.residue(column - 1) + 1;
  }
}

export interface ColumnLayout {
  /** Canvas size in CSS pixels. */
  width: number;
  height: number;
  /** Left edge of the first column (left of the gutter when zoomed) and width of one column. */
  left: number;
  cell: number;
  columns: Columns;
  /** Device pixels per CSS pixel. */
  ratio: number;
}

export interface ResidueCanvasOptions {
  testId: string;
  label: string;
  height: number;
  columns: Columns;
  /** Space above the columns where the target's arrowheads go; 0 for none. */
  top: number;
  focus: FocusHub;
  paint: (context: CanvasRenderingContext2D, layout: ColumnLayout) => void;
  /** Tooltip for residue i (in `column`) with the pointer `y` CSS pixels from the top; null for none. */
  describe: (i: number, y: number, column: number) => string | null;
  /** The residue window the panels share; only for canvases showing every residue. */
  zoom?: ZoomHub;
}

/** Residue numbers along the top, `height` CSS pixels tall, spaced to stay legible. */
export function drawRuler(context: CanvasRenderingContext2D, layout: ColumnLayout, height: number): void {
  const step = tickStep(layout.cell, 36);
  context.font = LABEL_FONT;
  context.fillStyle = theme.axisText;
  context.strokeStyle = theme.axis;
  context.lineWidth = 1;
  context.textAlign = "center";
  context.textBaseline = "top";
  context.beginPath();
  const { columns } = layout;
  for (let column = 0; column < columns.count; column++) {
    const n = columns.residue(column) + 1;
    if (n % step !== 0) continue;
    const x = layout.left + (column + 0.5) * layout.cell;
    context.moveTo(x, height - 4);
    context.lineTo(x, height);
    context.fillText(String(n), x, 0);
  }
  context.stroke();
}

export class ResidueCanvas {
  readonly element: HTMLDivElement;
  private readonly layers: CanvasLayers;
  private readonly base: HTMLCanvasElement;
  private layoutNow: ColumnLayout | null = null;
  private readonly unsubscribe: () => void;
  private readonly resizeObserver: ResizeObserver;

  constructor(
    private readonly options: ResidueCanvasOptions,
    private readonly onDrawn: () => void,
  ) {
    this.layers = new CanvasLayers({
      className: "residue-canvas",
      testId: options.testId,
      label: `${options.label}; arrow keys move the selected residue`,
    });
    this.element = this.layers.element;
    this.element.style.height = `${options.height}px`;
    this.base = this.layers.base;
    this.bindPointer();
    const unsubscribeFocus = options.focus.subscribe(() => this.drawOverlay());
    const unsubscribeZoom = options.zoom?.subscribe(() => this.relayout());
    if (options.zoom) this.bindZoom(options.zoom);
    this.unsubscribe = () => {
      unsubscribeFocus();
      unsubscribeZoom?.();
    };
    this.resizeObserver = new ResizeObserver(() => this.layout());
    this.resizeObserver.observe(this.element);
  }

  get drawn(): boolean {
    return this.layoutNow !== null;
  }

  /** Sizes the layers to the panel and draws them; false while the panel is not laid out (hidden). */
  layout(): boolean {
    const width = this.element.clientWidth;
    if (width === 0) return false;
    if (width === this.layoutNow?.width) return true;
    this.layers.resize(width, this.options.height);
    this.relayout(width);
    this.onDrawn();
    return true;
  }

  /** The columns of the zoom's window (all without one) across the canvas `width`. */
  private relayout(width = this.layoutNow?.width ?? 0): void {
    if (width === 0) return;
    const { height, columns, zoom } = this.options;
    const ratio = window.devicePixelRatio || 1;
    const shown = zoom?.view ?? { x0: 0, size: columns.count };
    const cell = (width - LEFT - RIGHT) / shown.size;
    this.layoutNow = { width, height, left: LEFT - shown.x0 * cell, cell, columns, ratio };
    this.repaint();
    this.drawOverlay();
  }

  /** Draws the base layer again, e.g. after the colours changed. */
  repaint(): void {
    const layout = this.layoutNow;
    if (!layout) return;
    const context = this.layers.context(this.base);
    if (!this.options.zoom?.zoomed) {
      this.options.paint(context, layout);
      return;
    }
    this.clipped(context, LEFT, layout.width - RIGHT - LEFT, () => this.options.paint(context, layout));
    this.clipped(context, 0, LEFT, () => this.options.paint(context, { ...layout, left: LEFT }));
  }

  /** Runs `draw` with drawing limited to the band from `x`, `width` CSS pixels wide. */
  private clipped(context: CanvasRenderingContext2D, x: number, width: number, draw: () => void): void {
    context.save();
    context.beginPath();
    context.rect(x, 0, width, this.options.height);
    context.clip();
    draw();
    context.restore();
  }

  dispose(): void {
    this.unsubscribe();
    this.resizeObserver.disconnect();
  }

  private drawOverlay(): void {
    const layout = this.layoutNow;
    if (!layout) return;
    const context = this.layers.context(this.layers.overlay);
    const { hover, selection, target } = this.options.focus;
    this.clipped(context, LEFT, layout.width - RIGHT - LEFT, () => {
      if (target) this.markColumns(context, layout, target, "target");
      if (selection) this.markColumns(context, layout, selection, "pinned");
      if (hover) this.markColumns(context, layout, hover, "hover");
    });
  }

  private markColumns(context: CanvasRenderingContext2D, layout: ColumnLayout, focus: Focus, kind: "target" | "pinned" | "hover"): void {
    const { top } = this.options;
    const width = Math.max(layout.cell, 3);
    for (const i of new Set([focus.i, focus.j ?? focus.i])) {
      const column = layout.columns.column(i);
      if (column < 0) continue;
      const center = layout.left + (column + 0.5) * layout.cell;
      const x = center - width / 2;
      if (kind === "target") {
        this.markTarget(context, layout, center, width);
        continue;
      }
      markColumn(context, { x, width, top, height: layout.height - top }, kind === "pinned", "rgba(29, 78, 137, 0.15)");
    }
  }

  /**
   * Arrowheads above the columns where there is room (maps: the cells stay unobscured), else a
   * light green band (tracks).
   */
  private markTarget(context: CanvasRenderingContext2D, layout: ColumnLayout, center: number, width: number): void {
    const { top } = this.options;
    context.fillStyle = TARGET_COLOR;
    if (top < 8) {
      context.globalAlpha = 0.22;
      context.fillRect(center - width / 2 - 1, 0, width + 2, layout.height);
      context.globalAlpha = 1;
      return;
    }
    context.beginPath();
    arrowDown(context, center, top);
    context.fill();
  }

  /** The (fractional) column under the pointer, or null off the columns' area. */
  private positionAt(event: MouseEvent): number | null {
    const layout = this.layoutNow;
    if (!layout) return null;
    const x = event.clientX - this.base.getBoundingClientRect().left;
    if (x < LEFT || x >= layout.width - RIGHT) return null;
    return (x - layout.left) / layout.cell;
  }

  private columnAt(event: MouseEvent): number | null {
    const at = this.positionAt(event);
    const column = at === null ? -1 : Math.floor(at);
    return column >= 0 && column < this.options.columns.count ? column : null;
  }

  /**
   * The wheel zooms around the pointer, a drag pans a zoomed axis (the click that ends it selects
   * nothing), + − 0 zoom around the selected residue, out, and back to all.
   */
  private bindZoom(zoom: ZoomHub): void {
    this.base.addEventListener(
      "wheel",
      (event) => {
        const at = this.positionAt(event);
        if (at === null) return;
        event.preventDefault();
        zoom.zoomAround(ZoomHub.wheelFactor(event), 0, at);
      },
      { passive: false },
    );
    bindDrag(this.base, () => {
      const layout = this.layoutNow;
      if (!zoom.zoomed || !layout) return null;
      const { x0, size } = zoom.view;
      return (dx) => zoom.set({ x0: x0 - dx / layout.cell, y0: 0, size });
    });
    this.base.addEventListener("keydown", (event) => {
      const selected = this.options.focus.selection;
      const around = selected ? selected.i + 0.5 : zoom.view.x0 + zoom.view.size / 2;
      if (event.key === "+" || event.key === "=") zoom.zoomAround(ZOOM_STEP, 0, around);
      else if (event.key === "-") zoom.zoomAround(1 / ZOOM_STEP, 0, around);
      else if (event.key === "0") zoom.reset();
      else return;
      event.preventDefault();
    });
  }

  private bindPointer(): void {
    const { focus, describe, columns } = this.options;
    this.base.addEventListener("pointermove", (event) => {
      const column = this.columnAt(event);
      const i = column === null ? null : columns.residue(column);
      focus.setHover(i === null ? null : { i, j: null });
      const text = i === null || column === null ? null : describe(i, event.clientY - this.base.getBoundingClientRect().top, column);
      if (text === null) hideTooltip();
      else showTooltip(text, event.clientX, event.clientY);
    });
    this.base.addEventListener("pointerleave", () => {
      focus.setHover(null);
      hideTooltip();
    });
    this.base.addEventListener("click", (event) => {
      const column = this.columnAt(event);
      if (column !== null) focus.toggleSelection({ i: columns.residue(column), j: null });
    });
    this.base.addEventListener("keydown", (event) => {
      const step = residueStep(event, focus);
      if (step === 0) return;
      const from = focus.selection ? columns.column(focus.selection.i) : -1;
      const column = from < 0 ? (step > 0 ? 0 : columns.count - 1) : Math.min(columns.count - 1, Math.max(0, from + step));
      this.options.zoom?.reveal(0, column); // a zoomed axis follows the selection
      focus.setSelection({ i: columns.residue(column), j: null });
    });
  }
}
