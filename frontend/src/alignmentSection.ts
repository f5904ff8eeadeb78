/**
 * The job's alignment: where it came from (searched or uploaded), how deep it is (sequences, Neff,
 * per-column coverage), which mode the prediction ran in and why — plainly when a search was too
 * shallow and the prediction is single-sequence —, and the coevolution map of its Potts model beside
 * the predicted contacts, the top L/5 pairs of each marked against the true contacts when the
 * structure is known, with their precision, their overlap and a table of the strongest couplings.
 */

import type { AlignmentSummary, CouplingMap } from "./api";
import { Chart, seriesColour } from "./charts";
import { ColorScale, VIRIDIS } from "./colormaps";
import { h, section, type Child } from "./dom";
import type { FocusHub } from "./focus";
import { Heatmap } from "./heatmap";
import type { PairMap, ResultData } from "./results";
import { residueName } from "./values";
import type { ZoomHub } from "./zoom";

/** Pairs closer in sequence than this are left out of the rankings, as in the contact summary. */
const MIN_SEPARATION = 6;
const TOP_COUPLINGS = 20;

interface Figure {
  layout(): boolean;
}

/** The top `count` pairs (i < j, j − i ≥ MIN_SEPARATION) of an L×L map, strongest first. */
export function topPairs(values: Float32Array, length: number, count: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < length; i++) for (let j = i + MIN_SEPARATION; j < length; j++) pairs.push([i, j]);
  pairs.sort(([a, b], [c, d]) => values[c * length + d]! - values[a * length + b]!);
  return pairs.slice(0, count);
}

const describeSource = (alignment: AlignmentSummary): string =>
  alignment.source === "search"
    ? `searched in ${alignment.database} (${alignment.program ?? "jackhmmer"}, ${alignment.iterations} iteration${alignment.iterations === 1 ? "" : "s"}${
        alignment.converged === null ? "" : alignment.converged ? ", converged" : ", stopped before converging"
      })`
    : "uploaded";

export function alignmentSection(
  alignment: AlignmentSummary,
  couplings: CouplingMap | null,
  data: ResultData,
  focus: FocusHub,
  figures: Figure[],
  zoom: ZoomHub,
): HTMLElement {
  const meta = (term: string, value: string): HTMLElement => h("div", {}, h("dt", {}, term), h("dd", {}, value));
  const weaker = alignment.source === "search" && alignment.mode === "single";
  const coverage = new Chart({
    testId: "msa-coverage",
    label: "fraction of the MSA's rows with a residue in each column",
    x: { title: "residue", min: 1, max: data.length },
    y: { title: "coverage", min: 0, max: 1 },
    series: [{ kind: "line", label: "coverage", colour: seriesColour(0), points: alignment.coverage.map((c, k): [number, number] => [k + 1, c]) }],
    height: 110,
  });
  const parts: Child[] = [
    h("dl", { class: "job-meta", "data-testid": "msa-summary" },
      meta("Alignment", describeSource(alignment)),
      meta("Sequences", String(alignment.sequences)),
      meta("Neff (80 % identity)", alignment.neff.toFixed(1)),
      meta("Prediction mode", alignment.mode === "profile" ? "profile (from the alignment)" : "single sequence"),
    ),
    h("p", { class: weaker ? "error" : "hint", "data-testid": "msa-why", role: weaker ? "status" : undefined }, capitalised(alignment.why) + "."),
    alignment.note ? h("p", { class: "hint" }, `The database is ${alignment.note}.`) : null,
    coverage.element,
  ];
  const contact = data.pairMaps.find((map) => map.key === "contact") ?? null;
  if (couplings) parts.push(coevolution(couplings, contact, data, focus, figures, zoom));
  else parts.push(h("p", { class: "hint" }, `No coevolution map: ${alignment.couplings.why ?? "none was fitted"}.`));
  return section("Alignment and coevolution", ...parts);
}

const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

function coevolution(couplings: CouplingMap, contact: PairMap | null, data: ResultData, focus: FocusHub, figures: Figure[], zoom: ZoomHub): HTMLElement {
  const length = data.length;
  const apc = Float32Array.from(couplings.apc.flat());
  const truth = data.truth?.contacts ?? null;
  const count = Math.max(1, Math.floor(length / 5));
  const topCoupled = topPairs(apc, length, count);
  let max = 0;
  for (const value of apc) if (value > max) max = value;
  const map = new Heatmap({
    testId: "map-couplings",
    title: "Coevolution (APC couplings)",
    subtitle: `Potts model of the MSA, Neff ${couplings.neff.toFixed(1)}${couplings.converged ? "" : ", fit stopped before converging"}`,
    values: apc,
    length,
    scale: new ColorScale(VIRIDIS, 0, max > 0 ? max : 1),
    colorBar: { title: "APC-corrected coupling strength", ticks: [0, max], format: (v) => v.toPrecision(2) },
    markers: truth,
    markerLegend: "true contacts (lower triangle)",
    highlights: { cells: topCoupled, hits: truth, legend: `top L/5 couplings, |i − j| ≥ ${MIN_SEPARATION} (upper triangle)` },
    focus,
    describe: (i, j) => `${residueName(data.sequence, i)} – ${residueName(data.sequence, j)} · APC ${apc[i * length + j]!.toPrecision(3)}`,
    zoom,
  });
  const maps: Heatmap[] = [map];
  let topPredicted: [number, number][] = [];
  if (contact) {
    topPredicted = topPairs(contact.values, length, count);
    maps.unshift(
      new Heatmap({
        testId: "map-contact-top",
        title: contact.label,
        subtitle: "predicted, for comparison",
        values: contact.values,
        length,
        scale: new ColorScale(VIRIDIS, 0, 1),
        colorBar: { title: "contact probability", ticks: [0, 1] },
        markers: truth,
        markerLegend: "true contacts (lower triangle)",
        highlights: { cells: topPredicted, hits: truth, legend: `top L/5 predicted contacts, |i − j| ≥ ${MIN_SEPARATION} (upper triangle)` },
        focus,
        describe: (i, j) => `${residueName(data.sequence, i)} – ${residueName(data.sequence, j)} · P(contact) ${contact.values[i * length + j]!.toFixed(2)}`,
        zoom,
      }),
    );
  }
  figures.push(...maps);
  return h("div", { class: "coevolution" },
    h("div", { class: "figure-grid" }, ...maps.map((m) => m.element)),
    comparisonTable(topCoupled, topPredicted, truth, length),
    couplingTable(apc, contact, truth, data, focus),
  );
}

function precision(pairs: [number, number][], truth: Uint8Array, length: number): string {
  if (pairs.length === 0) return "n/a";
  return (pairs.filter(([i, j]) => truth[i * length + j] === 1).length / pairs.length).toFixed(2);
}

function comparisonTable(coupled: [number, number][], predicted: [number, number][], truth: Uint8Array | null, length: number): HTMLElement {
  const key = ([i, j]: [number, number]): number => i * length + j;
  const shared = new Set(coupled.map(key));
  const overlap = predicted.filter((pair) => shared.has(key(pair))).length;
  const rows = [
    h("tr", {}, h("th", { scope: "row" }, "pairs compared (top L/5)"), h("td", {}, String(coupled.length))),
  ];
  if (predicted.length > 0) rows.push(h("tr", {}, h("th", { scope: "row" }, "in both top lists"), h("td", { "data-testid": "top-overlap" }, String(overlap))));
  if (truth) {
    rows.push(h("tr", {}, h("th", { scope: "row" }, "precision, couplings"), h("td", { "data-testid": "precision-couplings" }, precision(coupled, truth, length))));
    if (predicted.length > 0) rows.push(h("tr", {}, h("th", { scope: "row" }, "precision, network"), h("td", {}, precision(predicted, truth, length))));
  }
  return h("div", { class: "figure-note" },
    h("p", { class: "summary-title" }, `The top L/5 pairs (|i − j| ≥ ${MIN_SEPARATION}) of the couplings and of the network`),
    h("table", { class: "summary-table" }, h("tbody", {}, ...rows)),
  );
}

function couplingTable(apc: Float32Array, contact: PairMap | null, truth: Uint8Array | null, data: ResultData, focus: FocusHub): HTMLElement {
  const length = data.length;
  const strongest = topPairs(apc, length, TOP_COUPLINGS);
  const header = h("tr", {},
    h("th", { scope: "col" }, "pair"),
    h("th", { scope: "col" }, "APC"),
    contact ? h("th", { scope: "col" }, "P(contact)") : null,
    truth ? h("th", { scope: "col" }, "true contact") : null,
  );
  const rows = strongest.map(([i, j]) => {
    const row = h("tr", { tabindex: "0", class: "clickable-row", title: "select this pair in the maps" },
      h("td", {}, `${residueName(data.sequence, i)} – ${residueName(data.sequence, j)}`),
      h("td", {}, apc[i * length + j]!.toPrecision(3)),
      contact ? h("td", {}, contact.values[i * length + j]!.toFixed(2)) : null,
      truth ? h("td", {}, truth[i * length + j] ? "yes" : "no") : null,
    );
    const select = (): void => focus.setSelection({ i, j });
    row.addEventListener("click", select);
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter") select();
    });
    return row;
  });
  return h("details", { class: "coupling-table", "data-testid": "top-couplings" },
    h("summary", {}, `The ${strongest.length} strongest couplings`),
    h("table", { class: "summary-table" }, h("thead", {}, header), h("tbody", {}, ...rows)),
  );
}
