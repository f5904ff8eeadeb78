/**
 * The 2018 view of an attribution to a pair input whose channels are state pairs: an n × n grid of
 * small windows, window (a, b) holding the attribution to channel "state a at residue i, state b at
 * residue j" over the cells around the target, all on one colour scale. Clicking a window shows it
 * enlarged beside the grid, with residue numbers on its axes. Pointing at a cell names the state
 * pair, the residues and the value, and puts the two residues in the shared focus.
 */

import { formatAttribution, type AttributionScale } from "./attributionScale";
import { h } from "./dom";
import type { StateGrid } from "./explainApi";
import type { StatePair } from "./explorerTypes";
import { CanvasLayers, LABEL_FONT, cellImage, drawFrame, ringTargets, tickStep } from "./figureCanvas";
import type { FocusHub } from "./focus";
import { hideTooltip, showTooltip } from "./tooltip";
import { residueName } from "./values";
import { theme } from "./theme";

export interface StateGridOptions {
  /** The grid's canvas; the enlarged window's is `${testId}-window`. */
  testId: string;
  label: string;
  grid: StateGrid;
  sequence: string;
  focus: FocusHub;
  /** The state pair enlarged at first; the one with the largest total |attribution| when null or unknown. */
  statePair: StatePair | null;
  /** A window was clicked. */
  onSelect: (pair: StatePair) => void;
  onDrawn: () => void;
}

const GRID = { left: 16, top: 14, right: 2, bottom: 2, gap: 2 };
const WINDOW = { left: 34, top: 18, right: 8, bottom: 4 };
const STATE_FONT = "9px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";

interface Cell {
  a: number;
  b: number;
  r: number;
  c: number;
}

/** The grid values flat, [a][b][r][c] in row-major order. */
function flatten(grid: StateGrid): Float32Array {
  const values = new Float32Array(grid.states.length ** 2 * grid.rows.length * grid.cols.length);
  let k = 0;
  for (const row of grid.values) for (const window of row) for (const cells of window) for (const value of cells) values[k++] = value;
  return values;
}

/** A canvas with an overlay, sized to its element's width with a height that follows from it. */
class Layers extends CanvasLayers {
  constructor(testId: string, label: string) {
    super({ className: "heatmap__plot state-grid__plot", testId, label, focusable: false });
  }

  /** Resizes to the element's width, `heightFor` giving the height; false when nothing changed or it is hidden. */
  fit(heightFor: (width: number) => number): boolean {
    const width = this.element.clientWidth;
    if (width === 0 || width === this.width) return false;
    this.resize(width, heightFor(width));
    return true;
  }
}

export class StateGridView {
  readonly element: HTMLElement;
  /** Every value of the grid, for the colour scale. */
  readonly values: Float32Array;
  private readonly states: string[];
  private readonly rows: number[];
  private readonly cols: number[];
  private readonly gridLayers: Layers;
  private readonly windowLayers: Layers;
  private readonly windowTitle = h("p", { class: "state-grid__title" });
  private scale: AttributionScale | null = null;
  private image: HTMLCanvasElement | null = null;
  private selected: { a: number; b: number };
  private hovered: Cell | null = null;
  private windowCell = 0;
  private gridCell = 0;
  private readonly unsubscribe: () => void;
  private readonly resizeObserver: ResizeObserver;

  constructor(private readonly options: StateGridOptions) {
    const { grid, testId, label } = options;
    this.states = grid.states;
    this.rows = grid.rows;
    this.cols = grid.cols;
    this.values = flatten(grid);
    this.selected = this.indices(options.statePair) ?? this.largestWindow();
    this.gridLayers = new Layers(testId, `${label}; click a window to enlarge it`);
    this.windowLayers = new Layers(`${testId}-window`, `${label}: the chosen state pair enlarged`);
    this.windowLayers.element.classList.add("state-grid__window");
    this.element = h(
      "div",
      { class: "state-grid" },
      h(
        "div",
        { class: "state-grid__part" },
        this.gridLayers.element,
        h("p", { class: "square-map__axes" }, "rows: state of residue i · columns: state of residue j; click a window to enlarge it"),
        grid.states.includes("-") &&
          h("p", { class: "square-map__axes", "data-testid": `${testId}-gap` }, "“-” is the gap/unknown state: the part of a residue's profile column on no amino acid (1 − the column's sum), as in the 2018 coevolution input."),
      ),
      h("div", { class: "state-grid__part" }, this.windowTitle, this.windowLayers.element),
    );
    this.bindGrid();
    this.bindWindow();
    this.unsubscribe = options.focus.subscribe(() => this.drawWindowOverlay());
    this.resizeObserver = new ResizeObserver(() => this.layout());
    this.resizeObserver.observe(this.element);
  }

  get drawn(): boolean {
    return this.scale !== null && this.gridLayers.width > 0 && this.windowLayers.width > 0;
  }

  setScale(scale: AttributionScale): void {
    this.scale = scale;
    this.image = null;
    this.drawGrid();
    this.drawWindow();
  }

  layout(): boolean {
    const n = this.states.length;
    const [rows, cols] = [this.rows.length, this.cols.length];
    const size = Math.max(rows, cols);
    const gridHeight = (width: number): number => {
      this.gridCell = (width - GRID.left - GRID.right - (n - 1) * GRID.gap) / (n * size);
      return GRID.top + n * rows * this.gridCell + (n - 1) * GRID.gap + GRID.bottom;
    };
    const windowHeight = (width: number): number => {
      this.windowCell = (width - WINDOW.left - WINDOW.right) / size;
      return WINDOW.top + rows * this.windowCell + WINDOW.bottom;
    };
    if (this.gridLayers.fit(gridHeight)) this.drawGrid();
    if (this.windowLayers.fit(windowHeight)) this.drawWindow();
    return this.gridLayers.width > 0 && this.windowLayers.width > 0;
  }

  /** Enlarges the window of state pair `pair` (when the grid has those states). */
  select(pair: StatePair): void {
    const selected = this.indices(pair);
    if (!selected || (selected.a === this.selected.a && selected.b === this.selected.b)) return;
    this.selected = selected;
    this.drawGridOverlay();
    this.drawWindow();
  }

  dispose(): void {
    this.unsubscribe();
    this.resizeObserver.disconnect();
    this.element.remove();
  }

  private value({ a, b, r, c }: Cell): number {
    const [rows, cols, n] = [this.rows.length, this.cols.length, this.states.length];
    return this.values[((a * n + b) * rows + r) * cols + c]!;
  }

  private indices(pair: StatePair | null): { a: number; b: number } | null {
    const [a, b] = pair ? [this.states.indexOf(pair[0]), this.states.indexOf(pair[1])] : [-1, -1];
    return a < 0 || b < 0 ? null : { a, b };
  }

  /** The state pair with the largest total |attribution|, shown enlarged until another is clicked. */
  private largestWindow(): { a: number; b: number } {
    const size = this.rows.length * this.cols.length;
    let best = { a: 0, b: 0 };
    let largest = -1;
    for (let w = 0; w < this.states.length ** 2; w++) {
      let sum = 0;
      for (let k = 0; k < size; k++) sum += Math.abs(this.values[w * size + k]!);
      if (sum > largest) [largest, best] = [sum, { a: Math.floor(w / this.states.length), b: w % this.states.length }];
    }
    return best;
  }

  /** One pixel per cell, window (a, b) at columns b·cols…, rows a·rows…, without gaps. */
  private buildImage(scale: AttributionScale): HTMLCanvasElement {
    const [rows, cols, n] = [this.rows.length, this.cols.length, this.states.length];
    return cellImage(n * cols, n * rows, scale, (y, x) =>
      this.value({ a: Math.floor(y / rows), b: Math.floor(x / cols), r: y % rows, c: x % cols }),
    );
  }

  private windowOrigin(a: number, b: number): { x: number; y: number } {
    const step = (count: number): number => count * this.gridCell + GRID.gap;
    return { x: GRID.left + b * step(this.cols.length), y: GRID.top + a * step(this.rows.length) };
  }

  private drawGrid(): void {
    const layers = this.gridLayers;
    if (!this.scale || layers.width === 0) return;
    this.image ??= this.buildImage(this.scale);
    const context = layers.context(layers.base);
    const [rows, cols, n] = [this.rows.length, this.cols.length, this.states.length];
    const [width, height] = [cols * this.gridCell, rows * this.gridCell];
    context.imageSmoothingEnabled = false;
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        const { x, y } = this.windowOrigin(a, b);
        context.drawImage(this.image, b * cols, a * rows, cols, rows, x, y, width, height);
      }
    }
    context.font = STATE_FONT;
    context.fillStyle = theme.text;
    context.textAlign = "center";
    context.textBaseline = "bottom";
    this.states.forEach((state, b) => context.fillText(state, this.windowOrigin(0, b).x + width / 2, GRID.top - 2));
    context.textAlign = "right";
    context.textBaseline = "middle";
    this.states.forEach((state, a) => context.fillText(state, GRID.left - 3, this.windowOrigin(a, 0).y + height / 2));
    this.drawGridOverlay();
    this.options.onDrawn();
  }

  /** The enlarged window outlined in black, the hovered one in blue. */
  private drawGridOverlay(): void {
    const layers = this.gridLayers;
    if (layers.width === 0) return;
    const context = layers.context(layers.overlay);
    const [width, height] = [this.cols.length * this.gridCell, this.rows.length * this.gridCell];
    const outline = ({ a, b }: { a: number; b: number }, colour: string): void => {
      const { x, y } = this.windowOrigin(a, b);
      context.lineWidth = 1.5;
      context.strokeStyle = colour;
      context.strokeRect(x - 1, y - 1, width + 2, height + 2);
    };
    outline(this.selected, theme.text);
    if (this.hovered) outline(this.hovered, "#1d4e89");
  }

  private gridCellAt(event: MouseEvent): Cell | null {
    const rect = this.gridLayers.base.getBoundingClientRect();
    const [rows, cols, n] = [this.rows.length, this.cols.length, this.states.length];
    const x = event.clientX - rect.left - GRID.left;
    const y = event.clientY - rect.top - GRID.top;
    const [stepX, stepY] = [cols * this.gridCell + GRID.gap, rows * this.gridCell + GRID.gap];
    const [a, b] = [Math.floor(y / stepY), Math.floor(x / stepX)];
    const [r, c] = [Math.floor((y - a * stepY) / this.gridCell), Math.floor((x - b * stepX) / this.gridCell)];
    if (a < 0 || b < 0 || a >= n || b >= n || r >= rows || c >= cols) return null;
    return { a, b, r, c };
  }

  private describe(cell: Cell): string {
    const residue = (index: number): string =>
      index >= 0 && index < this.options.sequence.length ? residueName(this.options.sequence, index) : `${index + 1} (outside the sequence)`;
    return `${this.states[cell.a]}_i × ${this.states[cell.b]}_j · i = ${residue(this.rows[cell.r]!)}, j = ${residue(this.cols[cell.c]!)} · ${formatAttribution(this.value(cell))}`;
  }

  private point(cell: Cell | null, event: MouseEvent): void {
    const length = this.options.sequence.length;
    const [i, j] = cell ? [this.rows[cell.r]!, this.cols[cell.c]!] : [-1, -1];
    this.options.focus.setHover(cell && i >= 0 && j >= 0 && i < length && j < length ? { i, j } : null);
    if (cell) showTooltip(this.describe(cell), event.clientX, event.clientY);
    else hideTooltip();
  }

  private bindGrid(): void {
    const base = this.gridLayers.base;
    base.addEventListener("pointermove", (event) => {
      const cell = this.gridCellAt(event);
      this.hovered = cell;
      this.drawGridOverlay();
      this.point(cell, event);
    });
    base.addEventListener("pointerleave", () => {
      this.hovered = null;
      this.drawGridOverlay();
      this.options.focus.setHover(null);
      hideTooltip();
    });
    base.addEventListener("click", (event) => {
      const cell = this.gridCellAt(event);
      if (!cell) return;
      const pair: StatePair = [this.states[cell.a]!, this.states[cell.b]!];
      this.select(pair);
      this.options.onSelect(pair);
    });
  }

  private drawWindow(): void {
    const layers = this.windowLayers;
    const { a, b } = this.selected;
    const [rows, cols] = [this.rows.length, this.cols.length];
    this.windowTitle.textContent = `${this.states[a]}_i × ${this.states[b]}_j: state ${this.states[a]} at residue i, ${this.states[b]} at residue j`;
    if (!this.scale || layers.width === 0) return;
    this.image ??= this.buildImage(this.scale);
    const context = layers.context(layers.base);
    const cell = this.windowCell;
    context.imageSmoothingEnabled = false;
    context.drawImage(this.image, b * cols, a * rows, cols, rows, WINDOW.left, WINDOW.top, cols * cell, rows * cell);
    const step = tickStep(cell, 26);
    const labelled = (residues: number[]): number[] =>
      residues.flatMap((residue, k) => (k === 0 || (residue + 1) % step === 0 ? [k] : []));
    drawFrame(context, { left: WINDOW.left, top: WINDOW.top, width: cols * cell, height: rows * cell }, {
      columns: labelled(this.cols).map((c) => [String(this.cols[c]! + 1), WINDOW.left + (c + 0.5) * cell]),
      rows: labelled(this.rows).map((r) => [String(this.rows[r]! + 1), WINDOW.top + (r + 0.5) * cell]),
      font: LABEL_FONT,
      tick: 2,
      marks: false,
    });
    this.drawWindowOverlay();
    this.options.onDrawn();
  }

  /** The target's cell ringed, and the cell in focus (from any view) outlined. */
  private drawWindowOverlay(): void {
    const layers = this.windowLayers;
    if (layers.width === 0) return;
    const context = layers.context(layers.overlay);
    const cell = this.windowCell;
    const at = (i: number, j: number): { x: number; y: number } | null => {
      const [r, c] = [this.rows.indexOf(i), this.cols.indexOf(j)];
      return r < 0 || c < 0 ? null : { x: WINDOW.left + (c + 0.5) * cell, y: WINDOW.top + (r + 0.5) * cell };
    };
    const { target, hover } = this.options.focus;
    const ring = target && target.j !== null ? at(target.i, target.j) : null;
    if (ring) ringTargets(context, [[ring.x, ring.y]], Math.max(cell * 0.75, 6));
    const pointed = hover && hover.j !== null ? at(hover.i, hover.j) : null;
    if (pointed) {
      context.lineWidth = 2;
      context.strokeStyle = "#000";
      context.strokeRect(pointed.x - cell / 2, pointed.y - cell / 2, cell, cell);
    }
  }

  private windowCellAt(event: MouseEvent): Cell | null {
    const rect = this.windowLayers.base.getBoundingClientRect();
    const c = Math.floor((event.clientX - rect.left - WINDOW.left) / this.windowCell);
    const r = Math.floor((event.clientY - rect.top - WINDOW.top) / this.windowCell);
    if (r < 0 || c < 0 || r >= this.rows.length || c >= this.cols.length) return null;
    return { ...this.selected, r, c };
  }

  private bindWindow(): void {
    const base = this.windowLayers.base;
    base.addEventListener("pointermove", (event) => this.point(this.windowCellAt(event), event));
    base.addEventListener("pointerleave", () => {
      this.options.focus.setHover(null);
      hideTooltip();
    });
  }
}
