/**
 * An attribution over residue pairs: an L × L heatmap coloured on a rescalable AttributionScale,
 * showing either the whole map or a window of it (e.g. the cells the target reaches). Like the
 * predicted maps, the colours go into an image of one pixel per cell and the marks into an overlay
 * canvas; pointing at cell (r, c) puts residues r and c in the shared focus, so every view lights
 * them up. The explained target is marked: a pair target (i, j) by rings at (i, j) and (j, i), a
 * residue target by arrowheads at row and column i.
 */

import type { AttributionScale } from "./attributionScale";
import { CanvasLayers, LABEL_FONT, arrowDown, arrowRight, bindCellInput, cellImage, drawFrame, outlineCell, ringTargets, tickStep } from "./figureCanvas";
import { TARGET_COLOR, type Focus, type FocusHub } from "./focus";

/** Half-open, 0-based ranges of the rows and columns shown. */
export interface CellWindow {
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
}

export interface SquareMapOptions {
  testId: string;
  label: string;
  /** Row-major L × L; NaN where there is no value. */
  values: Float32Array;
  length: number;
  focus: FocusHub;
  /** The cells shown at first; all of them when left out. */
  window?: CellWindow;
  /** Tooltip text for cell (i, j), 0-based. */
  describe: (i: number, j: number, value: number) => string;
  /**
   * Whether a pair target is ringed at (i, j) and (j, i): true where rows and columns are the two
   * residues of a pair (false for the overview, whose rows are outputs and columns inputs).
   */
  ringTarget?: boolean;
  /** Called with a clicked cell. */
  onPick?: (cell: { i: number; j: number }) => void;
  /** Called whenever the map has been drawn with colours. */
  onDrawn?: () => void;
}

const MARGIN = { left: 38, top: 20, right: 16, bottom: 4 };

/** The smallest window holding every finite non-zero cell; the whole map when there is none. */
export function nonZeroWindow(values: Float32Array, length: number): CellWindow {
  let [rowStart, rowEnd, colStart, colEnd] = [length, 0, length, 0];
  for (let i = 0; i < length; i++) {
    for (let j = 0; j < length; j++) {
      const value = values[i * length + j]!;
      if (value === 0 || !Number.isFinite(value)) continue;
      rowStart = Math.min(rowStart, i);
      rowEnd = Math.max(rowEnd, i + 1);
      colStart = Math.min(colStart, j);
      colEnd = Math.max(colEnd, j + 1);
    }
  }
  return rowEnd === 0 ? wholeWindow(length) : { rowStart, rowEnd, colStart, colEnd };
}

export const wholeWindow = (length: number): CellWindow => ({ rowStart: 0, rowEnd: length, colStart: 0, colEnd: length });

export const isWhole = (window: CellWindow, length: number): boolean =>
  window.rowStart === 0 && window.colStart === 0 && window.rowEnd === length && window.colEnd === length;

/** "3–17" for a half-open 0-based range, 1-based as shown on the page. */
export const rangeText = (start: number, end: number): string => (end - start === 1 ? String(start + 1) : `${start + 1}–${end}`);

/** The first residue number of the range and the round numbers after it, spaced `step` apart. */
function ticks(start: number, end: number, step: number): number[] {
  const first = start + 1;
  const numbers = [first];
  for (let n = Math.ceil(first / step) * step; n <= end; n += step) if (n - first >= step / 2) numbers.push(n);
  return numbers;
}

export class SquareMap {
  readonly element: HTMLDivElement;
  private readonly layers: CanvasLayers;
  private window: CellWindow;
  private scale: AttributionScale | null = null;
  private image: HTMLCanvasElement | null = null;
  private cell = 0;
  private painted = false;
  private readonly unsubscribe: () => void;
  private readonly resizeObserver: ResizeObserver;

  constructor(private readonly options: SquareMapOptions) {
    this.window = options.window ?? wholeWindow(options.length);
    this.layers = new CanvasLayers({
      className: "heatmap__plot square-map",
      testId: options.testId,
      label: `${options.label}; arrow keys move the selected cell, Escape clears it`,
    });
    this.element = this.layers.element;
    this.bindPointer();
    this.unsubscribe = options.focus.subscribe(() => this.drawOverlay());
    this.resizeObserver = new ResizeObserver(() => this.layout());
    this.resizeObserver.observe(this.element);
  }

  /** Laid out and coloured. */
  get drawn(): boolean {
    return this.painted;
  }

  setScale(scale: AttributionScale): void {
    this.scale = scale;
    this.image = null;
    this.drawBase();
  }

  /** Shows other cells (e.g. the whole map instead of the cells the target reaches). */
  setWindow(window: CellWindow): void {
    this.window = window;
    this.image = null;
    this.layers.width = 0;
    this.layout();
  }

  /** Sizes both layers to the element's width and draws them; false while it is not laid out. */
  layout(): boolean {
    const width = this.element.clientWidth;
    if (width === 0) return false;
    if (width === this.layers.width) return true;
    const { rows, cols } = this.counts();
    this.cell = (width - MARGIN.left - MARGIN.right) / Math.max(rows, cols);
    this.layers.resize(width, MARGIN.top + rows * this.cell + MARGIN.bottom);
    this.drawBase();
    this.drawOverlay();
    return true;
  }

  dispose(): void {
    this.unsubscribe();
    this.resizeObserver.disconnect();
    this.element.remove();
  }

  private counts(): { rows: number; cols: number } {
    const { rowStart, rowEnd, colStart, colEnd } = this.window;
    return { rows: rowEnd - rowStart, cols: colEnd - colStart };
  }

  /** x, y of the top left corner of cell (i, j), in CSS pixels. */
  private x(j: number): number {
    return MARGIN.left + (j - this.window.colStart) * this.cell;
  }

  private y(i: number): number {
    return MARGIN.top + (i - this.window.rowStart) * this.cell;
  }

  private drawBase(): void {
    if (this.layers.width === 0 || !this.scale) return;
    const { rows, cols } = this.counts();
    this.image ??= this.buildImage(this.scale);
    const context = this.layers.context(this.layers.base);
    // Crisp blocks when a cell covers at least a device pixel; averaging when the map is shrunk.
    context.imageSmoothingEnabled = this.cell * (window.devicePixelRatio || 1) < 1;
    context.drawImage(this.image, MARGIN.left, MARGIN.top, cols * this.cell, rows * this.cell);
    this.drawAxes(context, rows, cols);
    this.painted = true;
    this.layers.base.dataset.state = "ready";
    this.options.onDrawn?.();
  }

  private buildImage(scale: AttributionScale): HTMLCanvasElement {
    const { values, length } = this.options;
    const { rowStart, colStart } = this.window;
    const { rows, cols } = this.counts();
    return cellImage(cols, rows, scale, (r, c) => values[(rowStart + r) * length + colStart + c]!);
  }

  private drawAxes(context: CanvasRenderingContext2D, rows: number, cols: number): void {
    const { rowStart, rowEnd, colStart, colEnd } = this.window;
    const step = tickStep(this.cell, 30);
    drawFrame(context, { left: MARGIN.left, top: MARGIN.top, width: cols * this.cell, height: rows * this.cell }, {
      columns: ticks(colStart, colEnd, step).map((n) => [String(n), this.x(n - 0.5)]),
      rows: ticks(rowStart, rowEnd, step).map((n) => [String(n), this.y(n - 0.5)]),
      font: LABEL_FONT,
      tick: 4,
    });
  }

  private inRows(i: number): boolean {
    return i >= this.window.rowStart && i < this.window.rowEnd;
  }

  private inCols(j: number): boolean {
    return j >= this.window.colStart && j < this.window.colEnd;
  }

  private drawOverlay(): void {
    if (this.layers.width === 0) return;
    const context = this.layers.context(this.layers.overlay);
    const { hover, selection, target } = this.options.focus;
    if (target) this.drawTarget(context, target);
    if (selection) this.drawFocus(context, selection, true);
    if (hover) this.drawFocus(context, hover, false);
  }

  /** Arrowheads on both axes at the target's residues; rings around (i, j) and (j, i) for a pair. */
  private drawTarget(context: CanvasRenderingContext2D, target: Focus): void {
    const residues = target.j === null ? [target.i] : [target.i, target.j];
    context.fillStyle = TARGET_COLOR;
    context.beginPath();
    for (const n of residues) {
      if (this.inCols(n)) arrowDown(context, this.x(n + 0.5), MARGIN.top);
      if (this.inRows(n)) arrowRight(context, MARGIN.left, this.y(n + 0.5));
    }
    context.fill();
    if (target.j === null || this.options.ringTarget === false) return;
    const cells: [number, number][] = [
      [target.i, target.j],
      [target.j, target.i],
    ];
    const centres = cells.filter(([i, j]) => this.inRows(i) && this.inCols(j)).map(([i, j]): [number, number] => [this.x(j + 0.5), this.y(i + 0.5)]);
    ringTargets(context, centres, Math.max(this.cell * 0.75, 6));
  }

  /** A crosshair through row i and column j (for a single residue: its row and its column). */
  private drawFocus(context: CanvasRenderingContext2D, focus: Focus, pinned: boolean): void {
    const { rows, cols } = this.counts();
    const j = focus.j ?? focus.i;
    context.lineWidth = 1;
    context.strokeStyle = pinned ? "rgba(0, 0, 0, 0.55)" : "rgba(0, 0, 0, 0.35)";
    context.setLineDash(pinned ? [4, 3] : []);
    context.beginPath();
    if (this.inRows(focus.i)) {
      context.moveTo(MARGIN.left, this.y(focus.i + 0.5));
      context.lineTo(MARGIN.left + cols * this.cell, this.y(focus.i + 0.5));
    }
    if (this.inCols(j)) {
      context.moveTo(this.x(j + 0.5), MARGIN.top);
      context.lineTo(this.x(j + 0.5), MARGIN.top + rows * this.cell);
    }
    context.stroke();
    context.setLineDash([]);
    if (focus.j === null || !this.inRows(focus.i) || !this.inCols(j)) return;
    outlineCell(context, this.x(j + 0.5), this.y(focus.i + 0.5), Math.max(this.cell, 7));
  }

  private cellAt(event: MouseEvent): { i: number; j: number } | null {
    if (this.layers.width === 0) return null;
    const rect = this.layers.base.getBoundingClientRect();
    const j = this.window.colStart + Math.floor((event.clientX - rect.left - MARGIN.left) / this.cell);
    const i = this.window.rowStart + Math.floor((event.clientY - rect.top - MARGIN.top) / this.cell);
    return this.inRows(i) && this.inCols(j) ? { i, j } : null;
  }

  private bindPointer(): void {
    const { focus, describe, values, length, onPick } = this.options;
    bindCellInput(this.layers.base, {
      focus,
      cellAt: (event) => this.cellAt(event),
      describe: ({ i, j }) => describe(i, j, values[i * length + j]!),
      onPick,
      moved: (from, [di, dj]) => {
        const { rowStart, rowEnd, colStart, colEnd } = this.window;
        const start = from ?? { i: rowStart, j: colStart };
        const clamp = (n: number, first: number, end: number): number => Math.min(end - 1, Math.max(first, n));
        return { i: clamp(start.i + di, rowStart, rowEnd), j: clamp((start.j ?? start.i) + dj, colStart, colEnd) };
      },
    });
  }
}
