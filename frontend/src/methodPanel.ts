/**
 * One method's explanation: a placeholder with the method's state and progress while it computes,
 * then its figures — the attribution heatmap (features × residues, a 1D layer's channels ×
 * residues, or amino acids × residues for mutagenesis; for a 2D layer the L × L pair map, and the
 * grid of state pairs where the layer has one) — the per-residue track, the top residues and the
 * downloads. Panels sit side by side with their columns on the same residue layout, so the methods
 * can be compared residue for residue.
 */

import { absentGroups, absentNote, absentRows, countedScores, countedValues, type ResidueScores } from "./absentInputs";
import type { RandomizationResult } from "./analysisApi";
import { AttributionMap, type MapRow } from "./attributionMap";
import { AttributionScale, formatAttribution, sortedMagnitudes } from "./attributionScale";
import { AttributionTrack } from "./attributionTrack";
import type { MethodInfo } from "./api";
import { colorBar } from "./colorbar";
import { h } from "./dom";
import { isMutagenesis, isPair, type ExplanationResult, type FeatureGroup, type FeatureResult, type MethodState, type MutagenesisResult, type PairResult } from "./explainApi";
import { methodTitle, type StatePair } from "./explorerTypes";
import type { FocusHub } from "./focus";
import { panelExports } from "./panelExports";
import { Columns } from "./residueCanvas";
import { SquareMap, isWhole, nonZeroWindow, rangeText, wholeWindow, type CellWindow } from "./squareMap";
import { StateGridView } from "./stateGrid";
import { topResidueTable } from "./topResidues";
import { residueName } from "./values";
import { verdictBadge } from "./verdicts";
import type { ZoomHub } from "./zoom";

/**
 * What a figure's colours measure. Each kind has its own colour scale (pooled over the panels when
 * the scale is shared): feature maps, mutagenesis maps, pair maps and state-pair grids differ in
 * what they measure or in how many values one number sums.
 */
export type ScaleKind = "features" | "mutagenesis" | "pair" | "grid";

export interface PanelContext {
  focus: FocusHub;
  sequence: string;
  hasStructure: boolean;
  /** Whether pair maps start with the whole map rather than the cells the target reaches (asked when a result arrives). */
  wholePairMap: () => boolean;
  /** The state pair the state-pair grids start with; null for each grid's largest. */
  statePair: () => StatePair | null;
  /** Tells the explorer that this panel has drawn (or stopped being drawn). */
  onReadyChange: () => void;
  /** The user switched a pair map between the whole map and the cells the target reaches. */
  onWholePairMapChange: (whole: boolean) => void;
  /** The user clicked a state pair's window in a grid. */
  onStatePairChange: (pair: StatePair) => void;
  /** What the job's input lacks ("profile", "structure"): feature groups needing it are all 0. */
  lacks: ReadonlySet<string>;
  /** Whether those groups count in sums, colour scales and rankings. */
  includeAbsent: () => boolean;
  onIncludeAbsentChange: (include: boolean) => void;
  /** The residue window the panels' maps and tracks share. */
  residueZoom: ZoomHub;
}

const FEATURE_ROW_HEIGHT = 8;
const MUTANT_ROW_HEIGHT = 10;
const ZOOM_ROW_HEIGHT = 12;
/** Maps with many rows (a layer's 128 channels) get thinner rows and a label every few rows. */
const MANY_ROWS = 64;
const THIN_ROW_HEIGHT = 4;
const CHANNEL_LABEL_EVERY = 16;

/**
 * Rows of the model's feature groups as the server names them: in group "one-hot", feature
 * "one-hot A" gets label "A" (a group of one is labelled by its name). Without groups (a layer's
 * input channels, "channel 5") rows form one group "input channel", labelled every 16th row of
 * tall maps.
 */
function featureRows(names: string[], groups: FeatureGroup[] | undefined, absent: ReadonlySet<number>): MapRow[] {
  if (groups && groups.reduce((total, group) => total + group.size, 0) === names.length) {
    const groupOf = groups.flatMap((group) => Array<FeatureGroup>(group.size).fill(group));
    return names.map((name, row) => {
      const group = groupOf[row]!;
      const label = group.size === 1 ? group.name : name.slice(group.name.length).trim();
      return { group: group.name, label, name, muted: absent.has(row) };
    });
  }
  const labelEvery = names.length > MANY_ROWS ? CHANNEL_LABEL_EVERY : 1;
  return names.map((name, row) => ({
    group: "input channel",
    label: row % labelEvery === 0 ? (/^channel (\d+)$/.exec(name)?.[1] ?? name) : "",
    name,
  }));
}

/** Row-major rows × residues, null → NaN. */
function rowsByResidues(rows: (number | null)[][]): Float32Array {
  const length = rows[0]?.length ?? 0;
  const values = new Float32Array(rows.length * length);
  rows.forEach((row, r) => row.forEach((value, i) => (values[r * length + i] = value ?? Number.NaN)));
  return values;
}

/** The transpose of a residues × amino-acids table, so that amino acids become the rows. */
function aminoAcidsByResidues(delta: (number | null)[][], alphabet: string): Float32Array {
  const length = delta.length;
  const values = new Float32Array(alphabet.length * length);
  delta.forEach((row, i) => {
    for (let a = 0; a < alphabet.length; a++) values[a * length + i] = row[a] ?? Number.NaN;
  });
  return values;
}

/** Anything in a panel that is coloured on an attribution scale and drawn on canvas. */
interface Figure {
  readonly drawn: boolean;
  setScale(scale: AttributionScale): void;
  layout(): boolean;
  dispose(): void;
}

/** The figures of one scale kind, with the colour bar drawn under them. */
interface ScalePart {
  kind: ScaleKind;
  /** Sorted |values|, for percentile clipping. */
  magnitudes: Float32Array;
  figures: Figure[];
  legend: HTMLElement;
  scaled: boolean;
}

export class MethodPanel {
  readonly element: HTMLElement;
  result: ExplanationResult | null = null;
  /** The result's signed sum per residue, as shown (absent inputs left out unless counted). */
  residueSum: Float32Array | null = null;
  /** Its Σ|·| per residue, as shown. */
  residueMagnitude: Float32Array | null = null;
  private readonly status: HTMLElement;
  private readonly body: HTMLElement;
  private readonly badge = h("span", { class: "method-panel__badge" });
  private readonly verdict = h("span", { class: "method-panel__badge" });
  private readonly parts: ScalePart[] = [];
  private pairView: PairView | null = null;
  private grid: StateGridView | null = null;
  private track: AttributionTrack | null = null;
  /** When this page first saw the method running, and how far it was then (ms, fraction). */
  private firstSeen: { at: number; fraction: number } | null = null;

  constructor(
    readonly method: MethodInfo,
    private readonly context: PanelContext,
  ) {
    this.status = h("div", { class: "method-panel__status" });
    this.body = h("div", { class: "method-panel__body" });
    this.element = h(
      "article",
      { class: "method-panel", "data-testid": `panel-${method.name}`, "data-state": "queued", "aria-label": `${methodTitle(method.name)} explanation` },
      h(
        "header",
        { class: "method-panel__header" },
        h("h3", { class: "method-panel__title", title: method.summary }, methodTitle(method.name)),
        this.badge,
        this.verdict,
      ),
      h("p", { class: "method-panel__summary", title: method.summary }, method.summary),
      this.status,
      this.body,
    );
    this.showExactness(method.exact);
    this.setState("queued", null);
  }

  get ready(): boolean {
    return this.element.dataset.state === "ready";
  }

  /** The sorted |values| of the figures of `kind`, or null when the panel has none (yet). */
  magnitudes(kind: ScaleKind): Float32Array | null {
    return this.parts.find((part) => part.kind === kind)?.magnitudes ?? null;
  }

  /** While the method computes: its state, the fraction done when running, the reason when it failed. */
  setState(state: MethodState, fraction: number | null, message?: string): void {
    if (this.result) return;
    this.element.dataset.state = state;
    const words: Record<MethodState, string> = {
      queued: "Queued",
      running: "Running",
      done: "Fetching the result…",
      failed: "Failed",
      cancelled: "Cancelled",
    };
    // Methods that report no progress stay at 0 while running: say only "Running" for them.
    const percent = state === "running" && fraction !== null && fraction > 0 ? Math.round(100 * Math.min(1, fraction)) : null;
    const eta = state === "running" && fraction !== null ? this.timeLeft(fraction) : null;
    const line = h(
      "p",
      { class: `method-panel__state method-panel__state--${state}`, "data-testid": `state-${this.method.name}` },
      words[state],
      percent !== null && ` · ${percent} %`,
      eta,
      message && `: ${message}`,
    );
    if (percent === null) {
      this.status.replaceChildren(line);
      return;
    }
    const bar = h(
      "div",
      { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent) },
      h("div", { class: "progress__bar", style: `width: ${percent}%` }),
    );
    this.status.replaceChildren(line, bar);
  }

  /**
   * " · 12 s elapsed, about 20 s left": the rate since this page first saw the method running
   * (it may have joined a task already under way), once it has measured one.
   */
  private timeLeft(fraction: number): string | null {
    const now = performance.now();
    if (this.firstSeen === null) {
      this.firstSeen = { at: now, fraction };
      return null;
    }
    const elapsed = (now - this.firstSeen.at) / 1000;
    const done = fraction - this.firstSeen.fraction;
    if (done <= 0 || elapsed < 0.5) return null;
    return ` · ${formatSeconds(elapsed)} elapsed, about ${formatSeconds(((1 - fraction) * elapsed) / done)} left`;
  }

  /** Builds the figures for the result; they are drawn once `setScale` gives them colours. */
  show(result: ExplanationResult): void {
    this.result = result;
    this.render(result);
  }

  /** Draws the result again when the explorer's choice to count absent inputs changes what it shows. */
  countAbsent(): void {
    const result = this.result;
    if (!result || isMutagenesis(result) || isPair(result) || absentRows(result, this.context.lacks).size === 0) return;
    for (const part of this.parts.splice(0)) for (const figure of part.figures) figure.dispose();
    this.track?.dispose();
    this.element.dataset.state = "done";
    this.render(result);
  }

  private render(result: ExplanationResult): void {
    const { focus, sequence, hasStructure, lacks } = this.context;
    const name = this.method.name;
    const onDrawn = (): void => this.markReady();
    const elements: HTMLElement[] = [];
    const addPart = (kind: ScaleKind, values: Float32Array, figures: Figure[], figureElements: HTMLElement[]): void => {
      const legend = h("div", { class: `method-panel__legend method-panel__legend--${kind}` });
      this.parts.push({ kind, magnitudes: sortedMagnitudes(values), figures, legend, scaled: false });
      elements.push(...figureElements, legend);
    };
    let scores: ResidueScores = { sum: Float32Array.from(result.residue_sum), magnitude: Float32Array.from(result.residue_magnitude), top: result.top };
    if (isMutagenesis(result)) {
      const figures = mutagenesisFigures(result, name, focus, sequence, onDrawn, this.context.residueZoom);
      addPart("mutagenesis", figures.values, figures.maps, figures.elements);
    } else if (isPair(result)) {
      this.pairView = new PairView(result, name, this.context, onDrawn);
      addPart("pair", this.pairView.values, [this.pairView.map], [this.pairView.element]);
      if (result.grid) {
        const grid = new StateGridView({
          testId: `panel-grid-${name}`,
          label: `${methodTitle(name)}: attribution to each state pair of ${result.wrt}'s input around the target`,
          grid: result.grid,
          sequence,
          focus,
          statePair: this.context.statePair(),
          onSelect: this.context.onStatePairChange,
          onDrawn,
        });
        this.grid = grid;
        this.element.classList.add("method-panel--wide"); // the 21 × 21 windows need the row's width
        elements.push(h("h4", { class: "method-panel__subtitle" }, `State pairs (the ${result.grid.states.length} × ${result.grid.states.length} input channels of ${result.wrt})`));
        addPart("grid", grid.values, [grid], [grid.element]);
      }
    } else {
      const absent = absentRows(result, lacks);
      const leftOut = this.context.includeAbsent() ? new Set<number>() : absent;
      const figures = featureFigures(result, name, focus, sequence, onDrawn, absent, this.context.residueZoom);
      addPart("features", countedValues(figures.values, result.features.length, leftOut), figures.maps, figures.elements);
      if (absent.size > 0) {
        scores = countedScores(result, leftOut, sequence);
        elements.push(absentNote(absentGroups(result, lacks), leftOut.size === 0, name, this.context.onIncludeAbsentChange));
      }
    }
    const { sum, magnitude, top } = scores;
    this.residueSum = sum;
    this.residueMagnitude = magnitude;
    this.track = new AttributionTrack({
      testId: `panel-track-${name}`,
      label: `${methodTitle(name)}: attribution summed per residue`,
      sum,
      magnitude,
      focus,
      describe: (i) => `${residueName(sequence, i)} · Σ ${formatAttribution(sum[i]!)} · Σ|·| ${formatAttribution(magnitude[i]!)}`,
      onDrawn,
      zoom: this.context.residueZoom,
    });

    this.showExactness(result.exact, result.approximation);
    const reference = result.reference_value ?? null;
    const compared =
      reference === null
        ? ""
        : ` · at the reference ${formatAttribution(reference)}, a change of ${formatAttribution(result.value - reference)}; the map sums to ${formatAttribution(result.map_sum ?? Number.NaN)}`;
    this.status.replaceChildren(
      h("p", { class: "method-panel__meta", "data-testid": `panel-meta-${name}` }, `explained value ${formatAttribution(result.value)}${compared} · computed in ${result.seconds.toFixed(2)} s`),
    );
    this.body.replaceChildren(
      ...elements,
      this.track.element,
      h("h4", { class: "method-panel__subtitle" }, "Top residues"),
      topResidueTable(top, name, focus),
      panelExports(result.key, name, { hasStructure, logo: !("wrt" in result) }),
    );
  }

  /** Colours the figures of `kind` and draws its colour bar; the panel is ready once all are drawn. */
  setScale(kind: ScaleKind, scale: AttributionScale, title: string): void {
    const part = this.parts.find((p) => p.kind === kind);
    if (!part || !this.track) return;
    part.scaled = true;
    for (const figure of part.figures) figure.setScale(scale);
    part.legend.replaceChildren(colorBar({ scale, title, ticks: scale.ticks(), format: formatAttribution }));
    for (const figure of part.figures) figure.layout();
    this.track.layout();
    this.markReady();
  }

  /** The randomization test's verdict on this method's map of the target (none without a test
   * of this method), with how many layers the map survived unchanged. */
  setVerdict(randomization: RandomizationResult | null): void {
    const name = this.method.name;
    const verdict = randomization?.verdicts[name];
    if (!randomization || verdict === undefined) {
      this.verdict.replaceChildren();
      return;
    }
    const kept = `ρ > ${randomization.thresholds.barely_above} for ${randomization.unchanged_layers[name] ?? 0}/${randomization.layers.length} layers`;
    this.verdict.replaceChildren(verdictBadge(`randomization: ${verdict} · ${kept}`, verdict, `panel-verdict-${name}`));
  }

  /** Shows the whole pair map, or only the cells the target reaches. */
  setWholePairMap(whole: boolean): void {
    this.pairView?.setWhole(whole);
  }

  /** Enlarges the window of state pair `pair` in the grid, if the panel has one. */
  showStatePair(pair: StatePair): void {
    this.grid?.select(pair);
  }

  dispose(): void {
    for (const part of this.parts) for (const figure of part.figures) figure.dispose();
    this.track?.dispose();
    this.element.remove();
  }

  /** Called whenever a figure or the track draws: the first time all have, the panel is ready. */
  private markReady(): void {
    if (this.ready || !this.track?.drawn || this.parts.length === 0) return;
    if (!this.parts.every((part) => part.scaled && part.figures.every((figure) => figure.drawn))) return;
    this.element.dataset.state = "ready";
    this.context.onReadyChange();
  }

  /** The badge of a method that is not exact: for this model (the catalogue's audit), or, once a
   * result came, for this target (the audit of its own call, e.g. a readout without a rule). */
  private showExactness(exact: boolean, reason?: string): void {
    const forTarget = reason !== undefined && this.method.exact;
    this.badge.replaceChildren(
      exact
        ? ""
        : h(
            "span",
            { class: "badge badge--approximate", "data-testid": `panel-approximate-${this.method.name}`, title: reason || this.method.approximation || "this method only approximates the attribution for this model's architecture" },
            forTarget ? "approximate for this target" : "approximate for this model",
          ),
    );
  }
}

/**
 * The L × L attribution to a 2D layer's input, zoomed at first to the cells the target reaches
 * (the rest is 0), with a switch to the whole map.
 */
class PairView {
  readonly element: HTMLElement;
  readonly values: Float32Array;
  readonly map: SquareMap;
  private readonly reached: CellWindow;
  private readonly length: number;
  private readonly whole: HTMLInputElement | null = null;
  private showingWhole: boolean;
  private readonly caption = h("p", { class: "square-map__axes" });

  constructor(result: PairResult, name: string, context: PanelContext, onDrawn: () => void) {
    const { focus, sequence } = context;
    this.length = result.pair.length;
    this.values = Float32Array.from(result.pair.flat());
    this.reached = nonZeroWindow(this.values, this.length);
    const zoomable = !isWhole(this.reached, this.length);
    this.showingWhole = !zoomable || context.wholePairMap();
    this.map = new SquareMap({
      testId: `panel-pair-${name}`,
      label: `${methodTitle(name)}: attribution to the input of ${result.wrt} at each residue pair, summed over its channels`,
      values: this.values,
      length: this.length,
      focus,
      window: this.showingWhole ? wholeWindow(this.length) : this.reached,
      describe: (i, j, value) => `i = ${residueName(sequence, i)}, j = ${residueName(sequence, j)} · ${formatAttribution(value)}`,
      onDrawn,
    });
    if (zoomable) {
      const id = `pair-whole-${name}`;
      this.whole = h("input", { type: "checkbox", id, "data-testid": id, checked: this.showingWhole });
      this.whole.addEventListener("change", () => context.onWholePairMapChange(this.whole!.checked));
    }
    this.showCaption();
    this.element = h(
      "div",
      { class: "pair-view" },
      h("p", { class: "method-panel__subtitle" }, `Residue pairs of the input of ${result.wrt}, summed over its channels`),
      this.whole && h("span", { class: "pair-view__switch" }, this.whole, h("label", { for: this.whole.id }, "Show the whole map")),
      this.map.element,
      this.caption,
    );
  }

  setWhole(whole: boolean): void {
    if (!this.whole) return;
    this.whole.checked = whole;
    if (whole === this.showingWhole) return;
    this.showingWhole = whole;
    this.map.setWindow(whole ? wholeWindow(this.length) : this.reached);
    this.showCaption();
  }

  private showCaption(): void {
    const { rowStart, rowEnd, colStart, colEnd } = this.reached;
    const reached = `i ${rangeText(rowStart, rowEnd)} × j ${rangeText(colStart, colEnd)}`;
    this.caption.textContent = !this.whole
      ? "rows: residue i, columns: residue j"
      : this.showingWhole
        ? `rows: residue i, columns: residue j; the target depends on the cells ${reached} only`
        : `rows: residue i, columns: residue j; zoomed to the cells the target depends on, ${reached} (0 elsewhere)`;
  }
}

/** A panel's heatmaps, what goes into the panel for them, and their values for the colour scale. */
interface MapFigures {
  maps: AttributionMap[];
  elements: HTMLElement[];
  values: Float32Array;
}

function featureFigures(result: FeatureResult, name: string, focus: FocusHub, sequence: string, onDrawn: () => void, absent: ReadonlySet<number>, zoom: ZoomHub): MapFigures {
  const values = rowsByResidues(result.attribution);
  const rows = featureRows(result.features, result.feature_groups, absent);
  const map = new AttributionMap({
    testId: `panel-map-${name}`,
    label: result.wrt
      ? `${methodTitle(name)}: attribution to each input channel of ${result.wrt} at each residue`
      : `${methodTitle(name)}: attribution to each input feature at each residue`,
    rows,
    values,
    columns: new Columns(result.residue_sum.length),
    rowHeight: rows.length > MANY_ROWS ? THIN_ROW_HEIGHT : FEATURE_ROW_HEIGHT,
    focus,
    describe: (row, i, value) => `${residueName(sequence, i)} · ${row.name} · ${formatAttribution(value)}`,
    onDrawn,
    zoom,
  });
  const elements = result.wrt ? [h("p", { class: "method-panel__subtitle" }, `The ${rows.length} input channels of ${result.wrt}`), map.element] : [map.element];
  return { maps: [map], elements, values };
}

/**
 * The whole sequence, aligned with the other panels, and, when only a window around the target was
 * mutated, that window again at a readable size.
 */
function mutagenesisFigures(result: MutagenesisResult, name: string, focus: FocusHub, sequence: string, onDrawn: () => void, residueZoom: ZoomHub): MapFigures {
  const { alphabet, delta } = result;
  const length = delta.length;
  const values = aminoAcidsByResidues(delta, alphabet);
  const wildType = Int16Array.from(result.wild_type);
  const rows = [...alphabet].map((letter) => ({ group: "mutant", label: letter, name: letter }));
  const describe = (row: MapRow, i: number, value: number): string => {
    if (Number.isNaN(value)) return `${residueName(sequence, i)}: not mutated (outside the window)`;
    const wild = wildType[i] === alphabet.indexOf(row.label) ? " (wild type)" : "";
    return `${residueName(sequence, i)} → ${row.label}${wild}: Δ ${formatAttribution(value)}`;
  };
  const common = { rows, focus, describe, onDrawn };
  const map = new AttributionMap({
    ...common,
    testId: `panel-map-${name}`,
    label: `${methodTitle(name)}: change of the target for each amino acid at each residue`,
    values,
    columns: new Columns(length),
    rowHeight: MUTANT_ROW_HEIGHT,
    wildType,
    zoom: residueZoom,
  });
  const mutated = Int32Array.from(delta.flatMap((row, i) => (row.some((value) => value !== null) ? [i] : [])));
  if (mutated.length === 0 || mutated.length === length) return { maps: [map], elements: [map.element], values };

  const count = mutated.length;
  const mutatedValues = new Float32Array(alphabet.length * count);
  for (let a = 0; a < alphabet.length; a++) {
    mutated.forEach((residue, column) => (mutatedValues[a * count + column] = values[a * length + residue]!));
  }
  const ranges = residueRanges(mutated);
  const zoom = new AttributionMap({
    ...common,
    testId: `panel-zoom-${name}`,
    label: `${methodTitle(name)}: the mutated residues ${ranges}`,
    values: mutatedValues,
    columns: new Columns(length, mutated),
    rowHeight: ZOOM_ROW_HEIGHT,
    wildType,
  });
  const title = h("h4", { class: "method-panel__subtitle" }, `Mutated residues ${ranges} (dots: wild type)`);
  return { maps: [map, zoom], elements: [map.element, title, zoom.element], values };
}

/** "8 s", "2 min 5 s". */
function formatSeconds(seconds: number): string {
  const whole = Math.max(1, Math.round(seconds));
  return whole < 60 ? `${whole} s` : `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/** "39–43, 119–123": ascending 0-based residues as 1-based runs. */
function residueRanges(residues: Int32Array): string {
  const runs: string[] = [];
  let start = 0;
  for (let k = 1; k <= residues.length; k++) {
    if (k < residues.length && residues[k] === residues[k - 1]! + 1) continue;
    const [first, last] = [residues[start]! + 1, residues[k - 1]! + 1];
    runs.push(first === last ? String(first) : `${first}–${last}`);
    start = k;
  }
  return runs.join(", ");
}
