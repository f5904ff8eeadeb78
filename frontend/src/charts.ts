/**
 * Small charts on canvas for the analyses: lines, grouped bars and dots over a category axis (e.g.
 * layers, methods, amino acids) or a numeric one, with round ticks, dotted guides, an HTML legend
 * and a tooltip listing every series' value at the pointer; and a table heatmap (rows × columns
 * of named categories) on the diverging attribution colours. Both draw once laid out, like every
 * figure of the page, and mark the pointer on an overlay.
 */

import { AttributionScale, formatAttribution } from "./attributionScale";
import { colorBar } from "./colorbar";
import { h } from "./dom";
import { CanvasLayers, LABEL_FONT, cellImage, drawFrame } from "./figureCanvas";
import { hideTooltip, showTooltip } from "./tooltip";
import { theme } from "./theme";

/** One colour per series, distinguishable by most readers (Tableau 10). */
export const SERIES_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

export const seriesColour = (k: number): string => SERIES_COLOURS[k % SERIES_COLOURS.length]!;

/** Points (x, y); a null y breaks the line. On a category axis x is the category's index. */
export interface LineSeries {
  kind: "line";
  label: string;
  colour: string;
  dashed?: boolean;
  markers?: boolean;
  points: [number, number | null][];
}

/** One bar per category (null: none); several bar series stand side by side in each category. */
export interface BarSeries {
  kind: "bars";
  label: string;
  colour: string;
  values: (number | null)[];
}

/** Points drawn as dots; several at one category spread a little sideways. */
export interface DotSeries {
  kind: "dots";
  label: string;
  colour: string;
  points: [number, number][];
}

export type Series = LineSeries | BarSeries | DotSeries;

export type XAxis = { title: string; categories: string[] } | { title: string; min?: number; max?: number };

export interface YAxis {
  title: string;
  min?: number;
  max?: number;
  /** Logarithmic (values ≤ 0 are left out). */
  log?: boolean;
}

/** A dotted line across the plot at `value` of the axis, labelled at its end. */
export interface Guide {
  axis: "x" | "y";
  value: number;
  label?: string;
}

export interface ChartOptions {
  testId: string;
  /** What the chart shows, for screen readers. */
  label: string;
  x: XAxis;
  y: YAxis;
  series: Series[];
  guides?: Guide[];
  /** Height of the plotted area in CSS pixels. */
  height?: number;
  /** Series left out of the legend (e.g. the dashed twins of solid lines explained elsewhere). */
  legend?: (series: Series) => boolean;
  onDrawn?: () => void;
}

/** A figure that draws once it is laid out. */
export interface DrawnFigure {
  readonly element: HTMLElement;
  readonly drawn: boolean;
  dispose(): void;
}

/** A canvas figure drawn whenever its width changes (and it is shown); ready after the first time. */
abstract class CanvasFigure implements DrawnFigure {
  abstract readonly element: HTMLElement;
  protected readonly layers: CanvasLayers;
  private painted = false;
  private readonly resizeObserver: ResizeObserver;

  constructor(
    layers: { className: string; testId: string; label: string },
    private readonly onDrawn: (() => void) | undefined,
  ) {
    this.layers = new CanvasLayers({ ...layers, focusable: false });
    this.resizeObserver = new ResizeObserver(() => this.layout());
    this.resizeObserver.observe(this.layers.element);
  }

  get drawn(): boolean {
    return this.painted;
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.element.remove();
  }

  /** Sizes the layers for `width` (CSS pixels) and draws the figure. */
  protected abstract draw(width: number): void;

  private layout(): void {
    const width = this.layers.element.clientWidth;
    if (width === 0 || width === this.layers.width) return;
    this.draw(width);
    this.painted = true;
    this.layers.base.dataset.state = "ready";
    this.onDrawn?.();
  }
}

const MARGIN = { left: 58, right: 14, top: 10 };
const TITLE_SPACE = 16;
const GUIDE_COLOR = "#868e96";
const MAX_LABEL_SPACE = 120;
const MAX_BAR_WIDTH = 48;

/** Round steps 1, 2 or 5 × 10^k giving about `count` intervals over [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) ticks.push(Math.abs(k * step) < step * 1e-9 ? 0 : k * step);
  return ticks;
}

/** The range [min, max] widened to the round ticks around it; a flat range gets some room. */
function niceDomain(min: number, max: number): [number, number] {
  if (min === max) [min, max] = min === 0 ? [-1, 1] : [min - Math.abs(min) * 0.1, max + Math.abs(max) * 0.1];
  const ticks = niceTicks(min, max);
  const [first, last] = [ticks[0]!, ticks.at(-1)!];
  const step = ticks.length > 1 ? ticks[1]! - first : max - min;
  return [first > min ? first - step : first, last < max ? last + step : last];
}

const isCategorical = (axis: XAxis): axis is { title: string; categories: string[] } => "categories" in axis;

/** A value → pixel map along one axis, with its ticks. */
interface Scale {
  at(value: number): number;
  ticks: number[];
  format(value: number): string;
}

/** Tick labels with as many decimals as the step between ticks needs: "0.5", "−1", "250". */
function tickFormat(ticks: number[]): (value: number) => string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(ticks[0] ?? 1);
  const large = Math.max(...ticks.map(Math.abs));
  if (!(step > 0) || step < 1e-3 || large >= 1e5) return formatAttribution;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return (value) => value.toFixed(decimals).replace("-", "−");
}

function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const ticks = niceTicks(d0, d1);
  return {
    at: (value) => r0 + ((value - d0) / (d1 - d0)) * (r1 - r0),
    ticks,
    format: tickFormat(ticks),
  };
}

function logScale(domain: [number, number], range: [number, number]): Scale {
  const [l0, l1] = [Math.floor(Math.log10(domain[0])), Math.ceil(Math.log10(domain[1]))];
  const top = l1 > l0 ? l1 : l0 + 1;
  const every = Math.max(1, Math.ceil((top - l0) / 6));
  const ticks: number[] = [];
  for (let p = l0; p <= top; p += every) ticks.push(10 ** p);
  return {
    at: (value) => range[0] + ((Math.log10(value) - l0) / (top - l0)) * (range[1] - range[0]),
    ticks,
    format: (value) => `1e${Math.round(Math.log10(value))}`,
  };
}

/** Every y value a series draws (log axes: the positive ones). */
function yValues(series: Series): number[] {
  if (series.kind === "bars") return series.values.filter((v): v is number => v !== null && Number.isFinite(v));
  return series.points.map(([, y]) => y).filter((y): y is number => y !== null && Number.isFinite(y));
}

function xValues(series: Series): number[] {
  return series.kind === "bars" ? series.values.map((_, k) => k) : series.points.map(([x]) => x);
}

export class Chart extends CanvasFigure {
  readonly element: HTMLElement;
  private x: Scale | null = null;
  private y: Scale | null = null;
  private slot = 0;
  private plot = { left: 0, top: 0, width: 0, height: 0 };

  constructor(private readonly options: ChartOptions) {
    super({ className: "chart__plot", testId: options.testId, label: options.label }, options.onDrawn);
    const shown = options.series.filter((series) => options.legend?.(series) ?? true);
    this.element = h("div", { class: "chart" }, this.layers.element, shown.length > 0 && legend(shown));
    this.bindPointer();
  }

  protected draw(width: number): void {
    const { x, height = 200 } = this.options;
    const plotWidth = Math.max(40, width - MARGIN.left - MARGIN.right);
    const labels = isCategorical(x) ? this.categorySpace(x.categories, plotWidth) : 16;
    this.plot = { left: MARGIN.left, top: MARGIN.top, width: plotWidth, height };
    this.layers.resize(width, MARGIN.top + height + labels + TITLE_SPACE);
    this.scales();
    this.paint();
  }

  /** Height the category labels need: horizontal when they fit their slots, else turned upright. */
  private categorySpace(categories: string[], plotWidth: number): number {
    const context = this.layers.base.getContext("2d")!;
    context.font = LABEL_FONT;
    const widest = Math.max(0, ...categories.map((text) => context.measureText(text).width));
    this.slot = plotWidth / Math.max(1, categories.length);
    return widest + 4 <= this.slot ? 16 : Math.min(MAX_LABEL_SPACE, widest + 8);
  }

  private scales(): void {
    const { x, y, series, guides = [] } = this.options;
    const { left, top, width, height } = this.plot;
    let values = series.flatMap(yValues).concat(guides.filter((g) => g.axis === "y").map((g) => g.value));
    if (y.log) values = values.filter((v) => v > 0);
    if (series.some((s) => s.kind === "bars")) values.push(0);
    const low = y.min ?? (values.length > 0 ? Math.min(...values) : 0);
    const high = y.max ?? (values.length > 0 ? Math.max(...values) : 1);
    if (y.log) this.y = logScale([low > 0 ? low : 1e-6, high > 0 ? high : 1], [top + height, top]);
    else this.y = linearScale(y.min !== undefined && y.max !== undefined ? [y.min, y.max] : niceDomain(low, high), [top + height, top]);
    if (isCategorical(x)) {
      this.slot = width / Math.max(1, x.categories.length);
      this.x = { at: (k) => left + (k + 0.5) * this.slot, ticks: x.categories.map((_, k) => k), format: (k) => x.categories[k] ?? "" };
      return;
    }
    const xs = series.flatMap(xValues).concat(guides.filter((g) => g.axis === "x").map((g) => g.value));
    const domain = niceDomain(x.min ?? Math.min(...xs), x.max ?? Math.max(...xs));
    this.x = linearScale([x.min ?? domain[0], x.max ?? domain[1]], [left, left + width]);
  }

  private paint(): void {
    const context = this.layers.context(this.layers.base);
    this.drawAxes(context);
    this.drawGuides(context);
    const bars = this.options.series.filter((s): s is BarSeries => s.kind === "bars");
    bars.forEach((series, k) => this.drawBars(context, series, k, bars.length));
    for (const series of this.options.series) {
      if (series.kind === "dots") this.drawDots(context, series);
      if (series.kind === "line") this.drawLine(context, series);
    }
  }

  private drawAxes(context: CanvasRenderingContext2D): void {
    const y = this.y!;
    const { left, top, width, height } = this.plot;
    const bottom = top + height;
    context.font = LABEL_FONT;
    context.lineWidth = 1;
    context.strokeStyle = theme.grid;
    context.beginPath();
    for (const tick of y.ticks) {
      const at = Math.round(y.at(tick)) + 0.5;
      context.moveTo(left, at);
      context.lineTo(left + width, at);
    }
    context.stroke();
    context.strokeStyle = theme.axis;
    context.beginPath();
    context.moveTo(left - 0.5, top);
    context.lineTo(left - 0.5, bottom + 0.5);
    context.lineTo(left + width, bottom + 0.5);
    context.stroke();
    context.fillStyle = theme.axisText;
    context.textAlign = "right";
    context.textBaseline = "middle";
    for (const tick of y.ticks) context.fillText(y.format(tick), left - 5, y.at(tick));

    const labels = this.xLabels();
    const upright = isCategorical(this.options.x) && labels.some(([text]) => context.measureText(text).width + 4 > this.slot);
    for (const [text, at] of labels) {
      if (upright) {
        context.save();
        context.translate(at, bottom + 4);
        context.rotate(-Math.PI / 2);
        context.textAlign = "right";
        context.textBaseline = "middle";
        context.fillText(text, 0, 0);
        context.restore();
      } else {
        context.textAlign = "center";
        context.textBaseline = "top";
        context.fillText(text, at, bottom + 4);
      }
    }
    context.textAlign = "center";
    context.textBaseline = "bottom";
    context.fillText(this.options.x.title, left + width / 2, this.layers.height - 1);
    context.save();
    context.translate(11, top + height / 2);
    context.rotate(-Math.PI / 2);
    context.textBaseline = "middle";
    context.fillText(this.options.y.title, 0, 0);
    context.restore();
  }

  /** Tick labels along x: every category that fits (every k-th when they crowd), or round numbers. */
  private xLabels(): [string, number][] {
    const x = this.x!;
    if (!isCategorical(this.options.x)) return x.ticks.map((tick) => [x.format(tick), x.at(tick)]);
    const every = Math.max(1, Math.ceil(11 / this.slot));
    return x.ticks.filter((k) => k % every === 0).map((k) => [x.format(k), x.at(k)]);
  }

  private drawGuides(context: CanvasRenderingContext2D): void {
    const { left, top, width, height } = this.plot;
    context.strokeStyle = GUIDE_COLOR;
    context.fillStyle = GUIDE_COLOR;
    context.lineWidth = 1;
    context.font = LABEL_FONT;
    for (const guide of this.options.guides ?? []) {
      context.setLineDash([2, 3]);
      context.beginPath();
      if (guide.axis === "y") {
        const at = this.y!.at(guide.value);
        context.moveTo(left, at);
        context.lineTo(left + width, at);
      } else {
        const at = this.x!.at(guide.value);
        context.moveTo(at, top);
        context.lineTo(at, top + height);
      }
      context.stroke();
      context.setLineDash([]);
      if (!guide.label) continue;
      if (guide.axis === "y") {
        context.textAlign = "right";
        context.textBaseline = "bottom";
        context.fillText(guide.label, left + width - 2, this.y!.at(guide.value) - 1);
      } else {
        context.textAlign = "left";
        context.textBaseline = "top";
        context.fillText(guide.label, this.x!.at(guide.value) + 3, top + 2);
      }
    }
  }

  private drawBars(context: CanvasRenderingContext2D, series: BarSeries, k: number, count: number): void {
    const y = this.y!;
    const group = Math.min(this.slot * 0.8, MAX_BAR_WIDTH * count);
    const width = group / count;
    const zero = y.at(Math.min(Math.max(0, this.options.y.min ?? -Infinity), this.options.y.max ?? Infinity));
    context.fillStyle = series.colour;
    series.values.forEach((value, c) => {
      if (value === null || !Number.isFinite(value)) return;
      const x = this.x!.at(c) - group / 2 + k * width;
      const top = y.at(value);
      context.fillRect(x, Math.min(top, zero), Math.max(1, width - 1), Math.abs(zero - top));
    });
  }

  private drawDots(context: CanvasRenderingContext2D, series: DotSeries): void {
    context.fillStyle = series.colour;
    context.globalAlpha = 0.85;
    const seen = new Map<number, number>();
    for (const [x, y] of series.points) {
      const n = seen.get(x) ?? 0;
      seen.set(x, n + 1);
      const offset = isCategorical(this.options.x) ? ((n % 5) - 2) * 3 : 0;
      context.beginPath();
      context.arc(this.x!.at(x) + offset, this.y!.at(y), 3.2, 0, 2 * Math.PI);
      context.fill();
    }
    context.globalAlpha = 1;
  }

  private drawLine(context: CanvasRenderingContext2D, series: LineSeries): void {
    const points = this.pixels(series);
    context.strokeStyle = series.colour;
    context.lineWidth = series.dashed ? 1.2 : 1.8;
    context.setLineDash(series.dashed ? [5, 3] : []);
    context.beginPath();
    let drawing = false;
    for (const point of points) {
      if (point === null) {
        drawing = false;
        continue;
      }
      if (drawing) context.lineTo(point[0], point[1]);
      else context.moveTo(point[0], point[1]);
      drawing = true;
    }
    context.stroke();
    context.setLineDash([]);
    if (!series.markers) return;
    context.fillStyle = series.colour;
    for (const point of points) {
      if (point === null) continue;
      context.beginPath();
      context.arc(point[0], point[1], 2.4, 0, 2 * Math.PI);
      context.fill();
    }
  }

  /** The series' points in CSS pixels; null where the line breaks (no value, or ≤ 0 on a log axis). */
  private pixels(series: LineSeries): ([number, number] | null)[] {
    return series.points.map(([x, y]) =>
      y === null || !Number.isFinite(y) || (this.options.y.log && y <= 0) ? null : [this.x!.at(x), this.y!.at(y)],
    );
  }

  /** The x (category index or data x) nearest to the pointer, or null off the plot. */
  private nearestX(event: MouseEvent): number | null {
    if (!this.x) return null;
    const offset = event.clientX - this.layers.base.getBoundingClientRect().left;
    const { left, width } = this.plot;
    if (offset < left - 4 || offset > left + width + 4) return null;
    if (isCategorical(this.options.x)) {
      const k = Math.floor((offset - left) / this.slot);
      return k >= 0 && k < this.options.x.categories.length ? k : null;
    }
    let best: number | null = null;
    for (const x of this.options.series.flatMap(xValues)) {
      if (best === null || Math.abs(this.x.at(x) - offset) < Math.abs(this.x.at(best) - offset)) best = x;
    }
    return best;
  }

  /** "x: label value · label value …" for every series with a value at x. */
  private describe(x: number): string {
    const at = isCategorical(this.options.x) ? (this.options.x.categories[x] ?? "") : formatAttribution(x);
    const parts = this.options.series.flatMap((series) => {
      const values =
        series.kind === "bars"
          ? [series.values[x] ?? null]
          : series.points.filter(([px]) => px === x).map(([, y]) => y);
      const shown = values.filter((v): v is number => v !== null && Number.isFinite(v));
      return shown.length === 0 ? [] : [`${series.label} ${shown.map(formatAttribution).join(", ")}`];
    });
    return `${this.options.x.title} ${at}: ${parts.join(" · ") || "no value"}`;
  }

  private bindPointer(): void {
    const base = this.layers.base;
    base.addEventListener("pointermove", (event) => {
      const x = this.nearestX(event);
      this.drawPointer(x);
      if (x === null) hideTooltip();
      else showTooltip(this.describe(x), event.clientX, event.clientY);
    });
    base.addEventListener("pointerleave", () => {
      this.drawPointer(null);
      hideTooltip();
    });
  }

  /** A vertical line at x on the overlay, with the lines' points there ringed. */
  private drawPointer(x: number | null): void {
    if (this.layers.width === 0) return;
    const context = this.layers.context(this.layers.overlay);
    if (x === null || !this.x) return;
    const { top, height } = this.plot;
    const at = this.x.at(x);
    context.strokeStyle = "rgba(29, 78, 137, 0.5)";
    context.lineWidth = 1;
    context.beginPath();
    context.moveTo(at, top);
    context.lineTo(at, top + height);
    context.stroke();
    for (const series of this.options.series) {
      if (series.kind !== "line") continue;
      const index = series.points.findIndex(([px]) => px === x);
      const point = index < 0 ? null : this.pixels(series)[index];
      if (!point) continue;
      context.strokeStyle = series.colour;
      context.lineWidth = 2;
      context.beginPath();
      context.arc(point[0], point[1], 4, 0, 2 * Math.PI);
      context.stroke();
    }
  }
}

function legend(series: Series[]): HTMLElement {
  return h(
    "ul",
    { class: "chart-legend" },
    ...series.map((item) => {
      const style =
        item.kind === "line"
          ? `border-top: 2px ${item.dashed ? "dashed" : "solid"} ${item.colour}`
          : `background: ${item.colour}${item.kind === "dots" ? "; border-radius: 50%" : ""}`;
      return h("li", {}, h("span", { class: `chart-legend__mark chart-legend__mark--${item.kind}`, style }), item.label);
    }),
  );
}

export interface TableHeatmapOptions {
  testId: string;
  label: string;
  rows: string[];
  columns: string[];
  /** values[r][c]; null where there is none. */
  values: (number | null)[][];
  /** What a value is, for the tooltip and the colour bar. */
  quantity: string;
  onDrawn?: () => void;
}

const TABLE = { left: 22, top: 16, right: 6, bottom: 4 };

/** A rows × columns table of signed values, diverging colours centred at 0 saturating at the largest |value|. */
export class TableHeatmap extends CanvasFigure {
  readonly element: HTMLElement;
  private readonly image: HTMLCanvasElement;
  private cell = 0;

  constructor(private readonly options: TableHeatmapOptions) {
    super({ className: "heatmap__plot table-heatmap__plot", testId: options.testId, label: options.label }, options.onDrawn);
    const { values, rows, columns } = options;
    const finite = values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
    const limit = finite.length > 0 ? Math.max(...finite.map(Math.abs)) : 0;
    const scale = new AttributionScale(limit, true, 1);
    this.image = cellImage(columns.length, rows.length, scale, (r, c) => values[r]?.[c] ?? Number.NaN);
    this.element = h(
      "div",
      { class: "table-heatmap" },
      this.layers.element,
      colorBar({ scale, title: `${options.quantity} (grey: no pair of these types)`, ticks: scale.ticks(), format: formatAttribution }),
    );
    this.bindPointer();
  }

  protected draw(width: number): void {
    const { rows, columns } = this.options;
    this.cell = (width - TABLE.left - TABLE.right) / columns.length;
    this.layers.resize(width, TABLE.top + rows.length * this.cell + TABLE.bottom);
    const context = this.layers.context(this.layers.base);
    context.imageSmoothingEnabled = false;
    context.drawImage(this.image, TABLE.left, TABLE.top, columns.length * this.cell, rows.length * this.cell);
    drawFrame(context, { left: TABLE.left, top: TABLE.top, width: columns.length * this.cell, height: rows.length * this.cell }, {
      columns: columns.map((text, c) => [text, TABLE.left + (c + 0.5) * this.cell]),
      rows: rows.map((text, r) => [text, TABLE.top + (r + 0.5) * this.cell]),
      font: LABEL_FONT,
      tick: 2,
      marks: false,
    });
  }

  private bindPointer(): void {
    const base = this.layers.base;
    base.addEventListener("pointermove", (event) => {
      const rect = base.getBoundingClientRect();
      const c = Math.floor((event.clientX - rect.left - TABLE.left) / this.cell);
      const r = Math.floor((event.clientY - rect.top - TABLE.top) / this.cell);
      const { rows, columns, values, quantity } = this.options;
      if (this.cell === 0 || r < 0 || c < 0 || r >= rows.length || c >= columns.length) {
        hideTooltip();
        return;
      }
      const value = values[r]?.[c] ?? null;
      showTooltip(`${rows[r]} × ${columns[c]}: ${quantity} ${value === null ? "n/a" : formatAttribution(value)}`, event.clientX, event.clientY);
    });
    base.addEventListener("pointerleave", hideTooltip);
  }
}
