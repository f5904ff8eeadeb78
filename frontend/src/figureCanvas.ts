/**
 * What the page's canvas figures share: a base canvas (the one users and tests address) under an
 * overlay for the marks that follow the pointer, both sized to their element's width at the
 * device's pixel ratio; the colour image of a grid of values, one pixel per cell; round tick
 * steps and residue-number axes; and the marks for the explained target and the focused cell or
 * residue, so that every figure draws them alike.
 */

import type { ColorScale } from "./colormaps";
import { MISSING_RGB } from "./colormaps";
import { TARGET_COLOR, type Focus, type FocusHub } from "./focus";
import { hideTooltip, showTooltip } from "./tooltip";
import { theme } from "./theme";

export const LABEL_FONT = "10px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

const TICK_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500];

/** Smallest "round" residue step whose ticks are at least `minGap` CSS pixels apart. */
export function tickStep(cellSize: number, minGap = 34): number {
  return TICK_STEPS.find((step) => step * cellSize >= minGap) ?? 1000;
}

export interface LayerOptions {
  /** Classes of the element holding both canvases. */
  className: string;
  testId: string;
  label: string;
  /** Whether the base canvas takes the keyboard focus (figures with arrow-key selection). */
  focusable?: boolean;
}

/** A base canvas and its overlay in one element, sized together. */
export class CanvasLayers {
  readonly element: HTMLDivElement;
  readonly base: HTMLCanvasElement;
  readonly overlay: HTMLCanvasElement;
  /** Size in CSS pixels; 0 until `resize`. */
  width = 0;
  height = 0;

  constructor({ className, testId, label, focusable = true }: LayerOptions) {
    this.element = document.createElement("div");
    this.element.className = className;
    this.base = document.createElement("canvas");
    this.base.className = "heatmap__layer";
    this.base.dataset.testid = testId;
    if (focusable) this.base.tabIndex = 0;
    this.base.setAttribute("role", "img");
    this.base.setAttribute("aria-label", label);
    // The overlay only paints; the base canvas takes the events.
    this.overlay = document.createElement("canvas");
    this.overlay.className = "heatmap__layer heatmap__layer--overlay";
    this.overlay.setAttribute("aria-hidden", "true");
    this.element.append(this.base, this.overlay);
  }

  /** Sizes the element and both canvases, which are drawn at the device's pixel ratio. */
  resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.element.style.height = `${height}px`;
    const ratio = window.devicePixelRatio || 1;
    for (const canvas of [this.base, this.overlay]) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
  }

  /** The layer's context, cleared, drawing in CSS pixels. */
  context(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
    const context = canvas.getContext("2d")!;
    const ratio = canvas.width / this.width;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, this.width, this.height);
    return context;
  }
}

/** An image of `cols` × `rows` pixels, pixel (r, c) coloured by `value(r, c)` (grey where NaN). */
export function cellImage(cols: number, rows: number, scale: ColorScale, value: (r: number, c: number) => number): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  const context = canvas.getContext("2d")!;
  const image = context.createImageData(cols, rows);
  const lut = scale.lut;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = scale.index(value(r, c));
      const p = 4 * (r * cols + c);
      if (k < 0) image.data.set(MISSING_RGB, p);
      else image.data.set(lut.subarray(3 * k, 3 * k + 3), p);
      image.data[p + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

/** The plotted area of a figure, in CSS pixels. */
export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Labels along the top and the left of a frame: the text and its x (columns) or y (rows). */
export interface FrameLabels {
  columns: [string, number][];
  rows: [string, number][];
  font: string;
  /** Length of the tick marks; the labels sit one pixel (top) and two (left) beyond them. */
  tick: number;
  /** Whether the tick marks are drawn (else only the labels, at the same places). */
  marks?: boolean;
}

/** The frame's outline, with tick marks and labels along its top and left edges. */
export function drawFrame(context: CanvasRenderingContext2D, frame: Frame, labels: FrameLabels): void {
  const { left, top, width, height } = frame;
  const { columns, rows, font, tick, marks = true } = labels;
  context.strokeStyle = theme.axis;
  context.lineWidth = 1;
  context.strokeRect(left - 0.5, top - 0.5, width + 1, height + 1);
  context.fillStyle = theme.axisText;
  context.font = font;
  if (marks) {
    context.beginPath();
    for (const [, x] of columns) {
      context.moveTo(x, top - tick);
      context.lineTo(x, top);
    }
    for (const [, y] of rows) {
      context.moveTo(left - tick, y);
      context.lineTo(left, y);
    }
    context.stroke();
  }
  context.textAlign = "center";
  context.textBaseline = "bottom";
  for (const [text, x] of columns) context.fillText(text, x, top - tick - 1);
  context.textAlign = "right";
  context.textBaseline = "middle";
  for (const [text, y] of rows) context.fillText(text, left - tick - 2, y);
}

/** Adds a downward arrowhead whose tip is at (x, top) to the current path. */
export function arrowDown(context: CanvasRenderingContext2D, x: number, top: number): void {
  context.moveTo(x, top);
  context.lineTo(x - 5, top - 8);
  context.lineTo(x + 5, top - 8);
  context.closePath();
}

/** Adds a rightward arrowhead whose tip is at (left, y) to the current path. */
export function arrowRight(context: CanvasRenderingContext2D, left: number, y: number): void {
  context.moveTo(left, y);
  context.lineTo(left - 8, y - 5);
  context.lineTo(left - 8, y + 5);
  context.closePath();
}

/** Rings in the target colour around the points `centres`. */
export function ringTargets(context: CanvasRenderingContext2D, centres: [number, number][], radius: number): void {
  context.lineWidth = 2.5;
  context.strokeStyle = TARGET_COLOR;
  context.beginPath();
  for (const [x, y] of centres) {
    context.moveTo(x + radius, y);
    context.arc(x, y, radius, 0, 2 * Math.PI);
  }
  context.stroke();
}

/** A focused cell centred at (x, y): a black square inside a white one, visible on any colour. */
export function outlineCell(context: CanvasRenderingContext2D, x: number, y: number, size: number): void {
  context.lineWidth = 2;
  context.strokeStyle = "#000";
  context.strokeRect(x - size / 2, y - size / 2, size, size);
  context.lineWidth = 1;
  context.strokeStyle = "#fff";
  context.strokeRect(x - size / 2 - 1.5, y - size / 2 - 1.5, size + 3, size + 3);
}

/** A focused residue's column from `x`: shaded and outlined, dashed when pinned, `hoverFill` when hovered. */
export function markColumn(
  context: CanvasRenderingContext2D,
  column: { x: number; width: number; top: number; height: number },
  pinned: boolean,
  hoverFill: string,
): void {
  const { x, width, top, height } = column;
  context.fillStyle = pinned ? "rgba(0, 0, 0, 0.08)" : hoverFill;
  context.fillRect(x, top, width, height);
  context.lineWidth = 1;
  context.strokeStyle = pinned ? theme.axisText : "#1d4e89";
  context.setLineDash(pinned ? [4, 3] : []);
  context.strokeRect(x - 0.5, top + 0.5, width + 1, height - 1);
  context.setLineDash([]);
}

/** Arrow keys as (row, column) steps, for moving the selected cell of a map. */
const CELL_MOVES: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

/** Pointer and keyboard input of a map whose cells are residue pairs, feeding the shared focus. */
export interface CellInput {
  focus: FocusHub;
  /** The cell under the pointer, or null off the cells. */
  cellAt: (event: MouseEvent) => Cell | null;
  describe: (cell: Cell) => string;
  /** Called with a clicked cell. */
  onPick?: (cell: Cell) => void;
  /** The cell an arrow key selects: `move` from the selected one (null when none is). */
  moved: (from: Focus | null, move: [number, number]) => Cell;
}

type Cell = { i: number; j: number };

/** Hover puts the cell in focus with its tooltip, a click pins it, arrow keys move it, Enter
 * picks the selected cell as a click does, Escape clears it. */
export function bindCellInput(canvas: HTMLCanvasElement, { focus, cellAt, describe, onPick, moved }: CellInput): void {
  canvas.addEventListener("pointermove", (event) => {
    const cell = cellAt(event);
    focus.setHover(cell);
    if (cell) showTooltip(describe(cell), event.clientX, event.clientY);
    else hideTooltip();
  });
  canvas.addEventListener("pointerleave", () => {
    focus.setHover(null);
    hideTooltip();
  });
  canvas.addEventListener("click", (event) => {
    const cell = cellAt(event);
    if (!cell) return;
    focus.toggleSelection(cell);
    onPick?.(cell);
  });
  canvas.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      focus.setSelection(null);
      return;
    }
    const selected = focus.selection;
    if (event.key === "Enter" && selected && selected.j !== null) {
      event.preventDefault();
      onPick?.({ i: selected.i, j: selected.j });
      return;
    }
    const move = CELL_MOVES[event.key];
    if (!move) return;
    event.preventDefault();
    focus.setSelection(moved(focus.selection, move));
  });
}

/** Where a drag started, told to `move` with the pointer's offset from there (CSS pixels). */
export type DragMove = (dx: number, dy: number) => void;

/**
 * Dragging on `canvas`: `begin` decides at each press whether it drags (returning what moves, or
 * null); the offset reaches it once the pointer has gone 3 px, and the click that ends a drag is
 * not a click (on a cell, a residue).
 */
export function bindDrag(canvas: HTMLCanvasElement, begin: (event: PointerEvent) => DragMove | null): void {
  let drag: { x: number; y: number; move: DragMove } | null = null;
  let dragged = false;
  canvas.addEventListener("pointerdown", (event) => {
    const move = event.button === 0 ? begin(event) : null;
    drag = move ? { x: event.clientX, y: event.clientY, move } : null;
    dragged = false;
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag || event.buttons !== 1) return;
    const [dx, dy] = [event.clientX - drag.x, event.clientY - drag.y];
    if (!dragged && Math.hypot(dx, dy) < 3) return;
    dragged = true;
    drag.move(dx, dy);
  });
  canvas.addEventListener("pointerup", () => (drag = null));
  canvas.addEventListener(
    "click",
    (event) => {
      if (!dragged) return;
      event.stopImmediatePropagation();
      dragged = false;
    },
    { capture: true },
  );
}
