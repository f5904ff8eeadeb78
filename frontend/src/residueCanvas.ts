/**
 * A canvas whose columns are the residues, on the horizontal layout that every explanation panel
 * shares, so a panel's map and track line up column for column. It owns what all such figures do
 * alike: sizing to the panel, the overlay that marks the hovered, pinned and target residues, and
 * pointer and keyboard input feeding the shared focus. What is drawn underneath is up to `paint`.
 */

import { CanvasLayers, LABEL_FONT, arrowDown, markColumn, tickStep } from "./figureCanvas";
import { TARGET_COLOR, residueStep, type Focus, type FocusHub } from "./focus";
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
  /** Left edge of the first column and width of one column. */
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
    this.unsubscribe = options.focus.subscribe(() => this.drawOverlay());
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
    const { height, columns } = this.options;
    this.layers.resize(width, height);
    const ratio = window.devicePixelRatio || 1;
    this.layoutNow = { width, height, left: LEFT, cell: (width - LEFT - RIGHT) / columns.count, columns, ratio };
    this.repaint();
    this.drawOverlay();
    this.onDrawn();
    return true;
  }

  /** Draws the base layer again, e.g. after the colours changed. */
  repaint(): void {
    const layout = this.layoutNow;
    if (!layout) return;
    this.options.paint(this.layers.context(this.base), layout);
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
    if (target) this.markColumns(context, layout, target, "target");
    if (selection) this.markColumns(context, layout, selection, "pinned");
    if (hover) this.markColumns(context, layout, hover, "hover");
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

  private columnAt(event: MouseEvent): number | null {
    const layout = this.layoutNow;
    if (!layout) return null;
    const column = Math.floor((event.clientX - this.base.getBoundingClientRect().left - layout.left) / layout.cell);
    return column >= 0 && column < layout.columns.count ? column : null;
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
      focus.setSelection({ i: columns.residue(column), j: null });
    });
  }
}
