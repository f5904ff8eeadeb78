/**
 * Per-residue tracks on one shared x axis (one column per residue): stacked class probabilities,
 * heat strips, bar charts and categorical strips such as the true DSSP string. Like the heatmaps,
 * the tracks are painted once and hover marks go on an overlay canvas.
 */

import { colorBar } from "./colorbar";
import type { ColorScale } from "./colormaps";
import { CanvasLayers, arrowDown, markColumn, tickStep } from "./figureCanvas";
import { TARGET_COLOR, residueStep, type Focus, type FocusHub } from "./focus";
import { CLASS_NAMES } from "./results";
import { hideTooltip, showTooltip } from "./tooltip";
import { theme } from "./theme";

/** Rows drawn from a model head name it in `head`, so that a click can pick that output. */
export type TrackRow =
  | { kind: "stacked"; label: string; head?: string; classes: string[]; values: Float32Array }
  | { kind: "heat"; label: string; head?: string; classes: string[]; values: Float32Array; scale: ColorScale }
  | { kind: "bars"; label: string; head?: string; values: Float32Array; max: number }
  | { kind: "categories"; label: string; letters: string };

/** A clicked output: residue i of `head`, and the class under the pointer for class rows. */
export interface ResiduePick {
  head: string;
  i: number;
  className: string | null;
}

export interface TracksOptions {
  sequence: string;
  rows: TrackRow[];
  focus: FocusHub;
  /** Tooltip text for residue i, 0-based. */
  describe: (i: number) => string;
  /** Called when a residue of a head's row is clicked. */
  onPick?: (pick: ResiduePick) => void;
}

/** Secondary-structure colours: helices red–purple, strands amber, turns teal, coil grey. */
const CLASS_COLORS: Record<string, string> = {
  H: "#d6336c",
  G: "#f783ac",
  I: "#9c36b5",
  E: "#f59f00",
  B: "#ffd43b",
  T: "#12b886",
  S: "#96f2d7",
  C: "#ced4da",
};
const BAR_COLOR = "#1d4e89";
const GUTTER = 118;
const RIGHT = 16;
const RULER_HEIGHT = 18;
const LETTERS_HEIGHT = 16;
const ROW_GAP = 8;
const FONT = "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const MONO = "11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";

function rowHeight(row: TrackRow): number {
  switch (row.kind) {
    case "stacked":
      return 36;
    case "heat":
      return 12 * row.classes.length;
    case "bars":
      return 30;
    case "categories":
      return 16;
  }
}

/** DSSP writes "-" or a blank for residues without an assigned structure: those are coil. */
const dsspClass = (letter: string): string => (CLASS_COLORS[letter] ? letter : "C");

/**
 * The tracks canvas says where it drew what, for tests and benchmarks that click a residue of a
 * row: `data-columns` = {left, right, count} (residue k spans left + k·cell to left + (k + 1)·cell,
 * cell = (width − left − right) / count) and `data-rows` = [{head, label, top, height}] in CSS
 * pixels from the canvas's top left corner; `head` is null for rows that are not a model output.
 */
export class Tracks {
  readonly element: HTMLElement;
  private readonly layers: CanvasLayers;
  private readonly base: HTMLCanvasElement;
  private width = 0;
  private height = 0;
  private cell = 0;
  /** Where each row was drawn, to tell which row a click hit. */
  private bands: { row: TrackRow; top: number; height: number }[] = [];
  /** The output row last clicked: Enter explains the selected residue in it. */
  private pickedRow: TrackRow | null = null;

  constructor(private readonly options: TracksOptions) {
    this.element = document.createElement("div");
    this.element.className = "tracks";
    this.layers = new CanvasLayers({
      className: "tracks__plot",
      testId: "tracks",
      label: `per-residue tracks: ${options.rows.map((row) => row.label).join(", ") || "sequence"}; arrow keys move the selected residue`,
    });
    this.base = this.layers.base;
    this.base.dataset.columns = JSON.stringify({ left: GUTTER, right: RIGHT, count: options.sequence.length });
    this.element.append(this.layers.element, this.legend());
    this.bindPointer();
    options.focus.subscribe(() => this.drawOverlay());
    new ResizeObserver(() => this.layout()).observe(this.layers.element);
  }

  layout(): boolean {
    const width = this.layers.element.clientWidth;
    if (width === 0) return false;
    if (width === this.width) return true;
    this.width = width;
    this.cell = (width - GUTTER - RIGHT) / this.options.sequence.length;
    this.height =
      RULER_HEIGHT +
      (this.showLetters() ? LETTERS_HEIGHT : 0) +
      this.options.rows.reduce((sum, row) => sum + ROW_GAP + rowHeight(row), 0) +
      2;
    this.layers.resize(width, this.height);
    this.drawBase();
    this.drawOverlay();
    return true;
  }

  /** Sequence letters only when a column is wide enough to hold one legibly. */
  private showLetters(): boolean {
    return this.cell >= 8;
  }

  private x(i: number): number {
    return GUTTER + i * this.cell;
  }

  private drawBase(): void {
    const context = this.layers.context(this.base);
    let y = this.drawRuler(context);
    if (this.showLetters()) {
      this.drawLetters(context, this.options.sequence, y, LETTERS_HEIGHT, theme.text);
      this.rowLabel(context, "sequence", y, LETTERS_HEIGHT);
      y += LETTERS_HEIGHT;
    }
    this.bands = [];
    for (const row of this.options.rows) {
      y += ROW_GAP;
      const height = rowHeight(row);
      this.bands.push({ row, top: y, height });
      this.drawRow(context, row, y, height);
      this.rowLabel(context, row.label, y, height);
      y += height;
    }
    this.base.dataset.rows = JSON.stringify(
      this.bands.map(({ row, top, height }) => ({ head: ("head" in row && row.head) || null, label: row.label, top, height })),
    );
  }

  private drawRuler(context: CanvasRenderingContext2D): number {
    const length = this.options.sequence.length;
    const step = tickStep(this.cell, 40);
    context.font = FONT;
    context.fillStyle = theme.axisText;
    context.strokeStyle = theme.axis;
    context.textAlign = "center";
    context.textBaseline = "top";
    context.beginPath();
    for (let n = step; n <= length; n += step) {
      const x = this.x(n - 0.5);
      context.moveTo(x, RULER_HEIGHT - 5);
      context.lineTo(x, RULER_HEIGHT);
      context.fillText(String(n), x, 1);
    }
    context.stroke();
    return RULER_HEIGHT;
  }

  private rowLabel(context: CanvasRenderingContext2D, label: string, y: number, height: number): void {
    context.font = FONT;
    context.fillStyle = theme.text;
    context.textAlign = "left";
    context.textBaseline = "middle";
    context.fillText(label, 0, y + height / 2, GUTTER - 22);
  }

  private drawLetters(context: CanvasRenderingContext2D, letters: string, y: number, height: number, color: string): void {
    context.font = MONO;
    context.fillStyle = color;
    context.textAlign = "center";
    context.textBaseline = "middle";
    for (let i = 0; i < letters.length; i++) context.fillText(letters[i]!, this.x(i + 0.5), y + height / 2);
  }

  /** Columns are drawn at least one device pixel wide so that long sequences leave no gaps. */
  private columnWidth(): number {
    return Math.max(this.cell, 1 / (window.devicePixelRatio || 1)) + 0.5;
  }

  private drawRow(context: CanvasRenderingContext2D, row: TrackRow, y: number, height: number): void {
    const length = this.options.sequence.length;
    const width = this.columnWidth();
    switch (row.kind) {
      case "stacked": {
        const k = row.classes.length;
        for (let i = 0; i < length; i++) {
          let top = y + height;
          for (let c = 0; c < k; c++) {
            const h = height * (row.values[i * k + c] || 0);
            context.fillStyle = CLASS_COLORS[row.classes[c]!] ?? "#868e96";
            context.fillRect(this.x(i), top - h, width, h);
            top -= h;
          }
        }
        break;
      }
      case "heat": {
        const k = row.classes.length;
        const band = height / k;
        for (let c = 0; c < k; c++) {
          for (let i = 0; i < length; i++) {
            context.fillStyle = row.scale.css(row.values[i * k + c]!);
            context.fillRect(this.x(i), y + c * band, width, band + 0.5);
          }
          context.font = MONO;
          context.fillStyle = theme.axisText;
          context.textAlign = "right";
          context.textBaseline = "middle";
          context.fillText(row.classes[c]!, GUTTER - 4, y + (c + 0.5) * band);
        }
        break;
      }
      case "bars": {
        context.fillStyle = theme.plotBackground;
        context.fillRect(GUTTER, y, this.cell * length, height);
        context.fillStyle = BAR_COLOR;
        for (let i = 0; i < length; i++) {
          const value = row.values[i]!;
          if (Number.isNaN(value)) continue;
          const h = (height * Math.min(value, row.max)) / row.max;
          context.fillRect(this.x(i), y + height - h, width, h);
        }
        context.font = FONT;
        context.fillStyle = theme.axisText;
        context.textAlign = "right";
        context.textBaseline = "top";
        context.fillText(String(row.max), GUTTER - 4, y - 2);
        context.textBaseline = "bottom";
        context.fillText("0", GUTTER - 4, y + height + 2);
        break;
      }
      case "categories": {
        for (let i = 0; i < length; i++) {
          context.fillStyle = CLASS_COLORS[dsspClass(row.letters[i] ?? "C")]!;
          context.fillRect(this.x(i), y, width, height);
        }
        if (this.showLetters()) this.drawLetters(context, row.letters, y, height, theme.text);
        break;
      }
    }
  }

  private drawOverlay(): void {
    if (this.width === 0) return;
    const context = this.layers.context(this.layers.overlay);
    const { hover, selection, target } = this.options.focus;
    if (target) this.markTarget(context, target);
    if (selection) this.markColumns(context, selection, true);
    if (hover) this.markColumns(context, hover, false);
  }

  /** The target's columns as a light band in the target colour, with an arrowhead on the ruler. */
  private markTarget(context: CanvasRenderingContext2D, target: Focus): void {
    const width = Math.max(this.cell, 3);
    context.fillStyle = TARGET_COLOR;
    for (const i of new Set([target.i, target.j ?? target.i])) {
      const x = this.x(i + 0.5);
      context.globalAlpha = 0.22;
      context.fillRect(x - width / 2 - 1, RULER_HEIGHT, width + 2, this.height - RULER_HEIGHT);
      context.globalAlpha = 1;
      context.beginPath();
      arrowDown(context, x, RULER_HEIGHT);
      context.fill();
    }
  }

  private markColumns(context: CanvasRenderingContext2D, focus: Focus, pinned: boolean): void {
    const columns = focus.j === null || focus.j === focus.i ? [focus.i] : [focus.i, focus.j];
    const width = Math.max(this.cell, 3);
    for (const i of columns) {
      markColumn(context, { x: this.x(i + 0.5) - width / 2, width, top: 0, height: this.height }, pinned, "rgba(29, 78, 137, 0.12)");
    }
  }

  private residueAt(event: MouseEvent): number | null {
    const rect = this.base.getBoundingClientRect();
    const i = Math.floor((event.clientX - rect.left - GUTTER) / this.cell);
    return i >= 0 && i < this.options.sequence.length ? i : null;
  }

  /** The head output under the pointer: for class rows, the class whose band or stack segment it is on. */
  private pickAt(event: MouseEvent, i: number): ResiduePick | null {
    const y = event.clientY - this.base.getBoundingClientRect().top;
    const band = this.bands.find((b) => y >= b.top && y < b.top + b.height);
    const row = band?.row;
    if (!band || !row || row.kind === "categories" || !row.head) return null;
    const head = row.head;
    if (row.kind === "bars") return { head, i, className: null };
    const k = row.classes.length;
    let c = k - 1;
    if (row.kind === "heat") {
      c = Math.min(k - 1, Math.floor(((y - band.top) / band.height) * k));
    } else {
      // Stacks are drawn from the bottom up in class order.
      let top = band.top + band.height;
      for (let n = 0; n < k; n++) {
        top -= band.height * (row.values[i * k + n] || 0);
        if (y >= top) {
          c = n;
          break;
        }
      }
    }
    return { head, i, className: row.classes[c]! };
  }

  private bindPointer(): void {
    const { focus, describe } = this.options;
    const length = this.options.sequence.length;
    this.base.addEventListener("pointermove", (event) => {
      const i = this.residueAt(event);
      focus.setHover(i === null ? null : { i, j: null });
      if (i === null) hideTooltip();
      else showTooltip(describe(i), event.clientX, event.clientY);
    });
    this.base.addEventListener("pointerleave", () => {
      focus.setHover(null);
      hideTooltip();
    });
    this.base.addEventListener("click", (event) => {
      const i = this.residueAt(event);
      if (i === null) return;
      focus.toggleSelection({ i, j: null });
      const pick = this.pickAt(event, i);
      if (pick) {
        this.pickedRow = this.options.rows.find((row) => row.kind !== "categories" && row.head === pick.head) ?? null;
        this.options.onPick?.(pick);
      }
    });
    this.base.addEventListener("keydown", (event) => {
      const selected = focus.selection?.i;
      if (event.key === "Enter" && selected !== undefined) {
        event.preventDefault();
        const pick = this.keyPick(selected);
        if (pick) this.options.onPick?.(pick);
        return;
      }
      const step = residueStep(event, focus);
      if (step === 0) return;
      const i = Math.min(length - 1, Math.max(0, (focus.selection?.i ?? -step) + step));
      focus.setSelection({ i, j: null });
    });
  }

  /**
   * What Enter explains at residue i: the row last clicked (else the first model output), its
   * predicted class there — the keyboard's way to the pick a click makes.
   */
  private keyPick(i: number): ResiduePick | null {
    const row = this.pickedRow ?? this.options.rows.find((candidate) => candidate.kind !== "categories" && candidate.head);
    if (!row || row.kind === "categories" || !row.head) return null;
    if (row.kind === "bars") return { head: row.head, i, className: null };
    const k = row.classes.length;
    let best = 0;
    for (let c = 1; c < k; c++) if ((row.values[i * k + c] ?? 0) > (row.values[i * k + best] ?? 0)) best = c;
    return { head: row.head, i, className: row.classes[best]! };
  }

  /** Swatches for every class colour in use, plus a colour bar for heat strips. */
  private legend(): HTMLElement {
    const legend = document.createElement("div");
    legend.className = "tracks__legend";
    const classes = new Set<string>();
    let heatScale: ColorScale | null = null;
    for (const row of this.options.rows) {
      if (row.kind === "stacked") row.classes.forEach((c) => classes.add(c));
      if (row.kind === "categories") [...row.letters].forEach((c) => classes.add(dsspClass(c)));
      if (row.kind === "heat") heatScale = row.scale;
    }
    const swatches = document.createElement("ul");
    swatches.className = "swatches";
    for (const name of Object.keys(CLASS_COLORS).filter((c) => classes.has(c))) {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = CLASS_COLORS[name]!;
      item.append(swatch, `${name} ${CLASS_NAMES[name] ?? ""}`);
      swatches.append(item);
    }
    if (classes.size > 0) legend.append(swatches);
    if (heatScale) {
      legend.append(
        colorBar({ scale: heatScale, title: "class probability", ticks: [0, 0.5, 1], format: (v) => v.toFixed(1) }),
      );
    }
    return legend;
  }
}
