/**
 * One method's explanation: a placeholder with the method's state and progress while it computes,
 * then the attribution heatmap (features × residues, or amino acids × residues for mutagenesis), the
 * per-residue track, the top residues and the downloads. Panels sit side by side with their columns
 * on the same residue layout, so the methods can be compared residue for residue.
 */

import { AttributionMap, type MapRow } from "./attributionMap";
import { AttributionScale, formatAttribution, sortedMagnitudes } from "./attributionScale";
import { AttributionTrack } from "./attributionTrack";
import type { MethodInfo } from "./api";
import { colorBar } from "./colorbar";
import { h } from "./dom";
import { isMutagenesis, type ExplanationResult, type FeatureResult, type MethodState, type MutagenesisResult } from "./explainApi";
import type { FocusHub } from "./focus";
import { panelExports } from "./panelExports";
import { Columns } from "./residueCanvas";
import { topResidueTable } from "./topResidues";
import { residueName } from "./values";

/** Feature maps and mutagenesis maps measure different things, so they never share a colour scale. */
export type PanelKind = "features" | "mutagenesis";

export interface PanelContext {
  focus: FocusHub;
  sequence: string;
  hasStructure: boolean;
  /** Tells the explorer that this panel has drawn (or stopped being drawn). */
  onReadyChange: () => void;
}

const FEATURE_ROW_HEIGHT = 8;
const MUTANT_ROW_HEIGHT = 10;
const ZOOM_ROW_HEIGHT = 12;

export const methodTitle = (name: string): string => name.replaceAll("_", " ");

/** "one-hot A" → group "one-hot", label "A"; names without a known prefix form the "flag" group. */
function featureRows(names: string[]): MapRow[] {
  return names.map((name) => {
    const match = /^(one-hot|profile) (.+)$/.exec(name);
    return match ? { group: match[1]!, label: match[2]!, name } : { group: "flag", label: name, name };
  });
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

export class MethodPanel {
  readonly element: HTMLElement;
  result: ExplanationResult | null = null;
  /** Sorted |values| of the map, for percentile clipping. */
  magnitudes: Float32Array | null = null;
  /** The result's signed sum per residue. */
  residueSum: Float32Array | null = null;
  private readonly status: HTMLElement;
  private readonly body: HTMLElement;
  private readonly legend = h("div", { class: "method-panel__legend" });
  private readonly badge = h("span", { class: "method-panel__badge" });
  private maps: AttributionMap[] = [];
  private track: AttributionTrack | null = null;
  private scaled = false;

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
      ),
      h("p", { class: "method-panel__summary", title: method.summary }, method.summary),
      this.status,
      this.body,
    );
    this.showExactness(method.exact);
    this.setState("queued", null);
  }

  get kind(): PanelKind | null {
    return this.result === null ? null : isMutagenesis(this.result) ? "mutagenesis" : "features";
  }

  get ready(): boolean {
    return this.element.dataset.state === "ready";
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
    const line = h(
      "p",
      { class: `method-panel__state method-panel__state--${state}`, "data-testid": `state-${this.method.name}` },
      words[state],
      percent !== null && ` · ${percent} %`,
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

  /** Builds the figures for the result; they are drawn once `setScale` gives them colours. */
  show(result: ExplanationResult): void {
    this.result = result;
    const { focus, sequence, hasStructure } = this.context;
    const name = this.method.name;
    const onDrawn = (): void => this.markReady();
    const figures = isMutagenesis(result) ? mutagenesisFigures(result, name, focus, sequence, onDrawn) : featureFigures(result, name, focus, sequence, onDrawn);
    this.maps = figures.maps;
    this.magnitudes = sortedMagnitudes(figures.values);
    const sum = Float32Array.from(result.residue_sum);
    this.residueSum = sum;
    const magnitude = Float32Array.from(result.residue_magnitude);
    this.track = new AttributionTrack({
      testId: `panel-track-${name}`,
      label: `${methodTitle(name)}: attribution summed per residue`,
      sum,
      magnitude,
      focus,
      describe: (i) => `${residueName(sequence, i)} · Σ ${formatAttribution(sum[i]!)} · Σ|·| ${formatAttribution(magnitude[i]!)}`,
      onDrawn,
    });

    this.showExactness(result.exact);
    this.status.replaceChildren(
      h("p", { class: "method-panel__meta" }, `explained value ${formatAttribution(result.value)} · computed in ${result.seconds.toFixed(2)} s`),
    );
    this.body.replaceChildren(
      ...figures.elements,
      this.legend,
      this.track.element,
      h("h4", { class: "method-panel__subtitle" }, "Top residues"),
      topResidueTable(result.top, name, focus),
      panelExports(result.key, name, hasStructure),
    );
  }

  /** Colours the maps (the track keeps its own axis); the panel is ready once all are drawn. */
  setScale(scale: AttributionScale, title: string): void {
    if (!this.track) return;
    this.scaled = true;
    for (const map of this.maps) map.setScale(scale);
    this.legend.replaceChildren(colorBar({ scale, title, ticks: scale.ticks(), format: formatAttribution }));
    for (const map of this.maps) map.layout();
    this.track.layout();
    this.markReady();
  }

  dispose(): void {
    for (const map of this.maps) map.dispose();
    this.track?.dispose();
    this.element.remove();
  }

  /** Called whenever a map or the track draws: the first time all have, the panel is ready. */
  private markReady(): void {
    if (this.ready || !this.scaled || !this.track?.drawn || !this.maps.every((map) => map.drawn)) return;
    this.element.dataset.state = "ready";
    this.context.onReadyChange();
  }

  private showExactness(exact: boolean): void {
    this.badge.replaceChildren(
      exact
        ? ""
        : h("span", { class: "badge badge--approximate", title: "this method only approximates the attribution for this model's architecture" }, "approximate for this model"),
    );
  }
}

/** A panel's heatmaps, what goes into the panel for them, and their values for the colour scale. */
interface MapFigures {
  maps: AttributionMap[];
  elements: HTMLElement[];
  values: Float32Array;
}

function featureFigures(result: FeatureResult, name: string, focus: FocusHub, sequence: string, onDrawn: () => void): MapFigures {
  const values = rowsByResidues(result.attribution);
  const map = new AttributionMap({
    testId: `panel-map-${name}`,
    label: `${methodTitle(name)}: attribution to each input feature at each residue`,
    rows: featureRows(result.features),
    values,
    columns: new Columns(result.residue_sum.length),
    rowHeight: FEATURE_ROW_HEIGHT,
    focus,
    describe: (row, i, value) => `${residueName(sequence, i)} · ${row.name} · ${formatAttribution(value)}`,
    onDrawn,
  });
  return { maps: [map], elements: [map.element], values };
}

/**
 * The whole sequence, aligned with the other panels, and, when only a window around the target was
 * mutated, that window again at a readable size.
 */
function mutagenesisFigures(result: MutagenesisResult, name: string, focus: FocusHub, sequence: string, onDrawn: () => void): MapFigures {
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
