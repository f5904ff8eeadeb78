/**
 * The figures of each analysis, drawn from its JSON result (see analysisApi.ts), as the server's
 * own figure export draws them: the randomization curves with their verdicts, the random-target
 * similarities, the deletion and insertion curves, the receptive-field profile, the output along
 * the map's direction, the correlation with each input feature and the amino-acid patterns.
 */

import type {
  AminoAcidResult,
  AnalysisResult,
  CategoricalJacobianResult,
  CoevolutionResult,
  DeletionResult,
  FollowGradientResult,
  InputCorrelationResult,
  RandomTargetResult,
  RandomizationResult,
  ReceptiveFieldResult,
} from "./analysisApi";
import { formatAttribution } from "./attributionScale";
import { Chart, TableHeatmap, seriesColour, type DrawnFigure, type Series } from "./charts";
import { h } from "./dom";
import { TARGET_COLOR } from "./focus";
import { methodTitle } from "./explorerTypes";
import { explainVerdict, verdictBadge } from "./verdicts";

export interface AnalysisFigure {
  /** The charts, their notes and (randomization) the verdicts. */
  element: HTMLElement;
  figures: DrawnFigure[];
}

/** Builds the figure of `result`; `onDrawn` is called whenever one of its charts has drawn. */
export function analysisFigure(result: AnalysisResult, onDrawn: () => void): AnalysisFigure {
  const testId = `analysis-plot-${result.analysis}`;
  switch (result.analysis) {
    case "randomization":
      return randomization(result, testId, onDrawn);
    case "random_target":
      return randomTarget(result, testId, onDrawn);
    case "deletion":
      return deletion(result, testId, onDrawn);
    case "receptive_field":
      return receptiveField(result, testId, onDrawn);
    case "follow_gradient":
      return followGradient(result, testId, onDrawn);
    case "input_correlation":
      return inputCorrelation(result, testId, onDrawn);
    case "aa_patterns":
      return aminoAcids(result, testId, onDrawn);
    case "coevolution":
      return coevolution(result, testId, onDrawn);
    case "categorical_jacobian":
      return categoricalJacobian(result, testId, onDrawn);
  }
}

function categoricalJacobian(result: CategoricalJacobianResult, testId: string, onDrawn: () => void): AnalysisFigure {
  const length = result.coupling.length;
  const sums = new Float64Array(length);
  result.coupling.forEach((row, i) => {
    for (let j = i + 1; j < length; j++) sums[j - i] = sums[j - i]! + row[j]!;
  });
  const points: [number, number][] = [];
  for (let separation = 1; separation < length; separation++) points.push([separation, sums[separation]! / (length - separation)]);
  const chart = new Chart({
    testId,
    label: "mean coupling of the network's categorical Jacobian by sequence separation",
    x: { title: "sequence separation |i − j|", min: 1, max: Math.max(2, length - 1) },
    y: { title: "mean APC Jacobian coupling" },
    series: [{ kind: "line", label: `over ${result.mutants} single mutants, heads ${result.heads.join(", ")}`, colour: seriesColour(0), points }],
    guides: result.receptive_radius ? [{ axis: "x", value: result.receptive_radius, label: "receptive radius" }] : [],
    onDrawn,
  });
  const words: string[] = [];
  const fmt = (value: number | null | undefined): string => (value === null || value === undefined ? "n/a" : value.toFixed(2));
  if (result.precision) {
    const which = Object.entries(result.precision).map(([name, p]) => `${name === "dca" ? "DCA" : "Jacobian"} ${fmt(p[">=6"])} (≥ 24: ${fmt(p[">=24"])})`);
    words.push(`Top-L/5 precision against the true contacts, |i − j| ≥ 6: ${which.join("; ")}.`);
  }
  if (result.dca) {
    words.push(`Against the MSA's couplings (Neff ${result.dca.neff.toFixed(1)}): Spearman ${fmt(result.dca.spearman)}, top-L/5 overlap ${(100 * result.dca.top_overlap).toFixed(0)} %.`);
  } else {
    words.push("No DCA map to compare: the job fitted no couplings (it has no MSA of two rows or more).");
  }
  words.push("Pairs farther apart than the per-residue heads' receptive radius cannot couple.");
  return single(chart, note(words.join(" ")));
}

function coevolution(result: CoevolutionResult, testId: string, onDrawn: () => void): AnalysisFigure {
  const coupling = result.coupling ?? [];
  const chart = new Chart({
    testId,
    label: "attribution against coevolution, one dot per residue pair",
    x: { title: `APC coupling of the MSA (Neff ${result.neff.toFixed(1)})` },
    y: { title: `|${methodTitle(result.method)}| attribution to the input of ${result.layer}` },
    series: [
      {
        kind: "dots",
        label: "residue pairs k < l, |k − l| ≥ 6",
        colour: seriesColour(0),
        points: (result.attribution ?? []).map((value, k): [number, number] => [coupling[k]!, value]),
      },
    ],
    onDrawn,
  });
  const words =
    result.spearman === null
      ? `Too few pairs (${result.cells}) to compare.`
      : `Spearman ${result.spearman.toFixed(2)} over ${result.cells} pairs; the top ${result.top} pairs of each agree on ${(100 * (result.top_overlap ?? 0)).toFixed(0)} %. Near 0: the map does not follow coevolution.`;
  return single(chart, note(words));
}

const note = (text: string): HTMLElement => h("p", { class: "hint analysis-card__note" }, text);

function single(chart: Chart, ...notes: HTMLElement[]): AnalysisFigure {
  return { element: h("div", { class: "analysis-card__figure" }, chart.element, ...notes), figures: [chart] };
}

function randomization(result: RandomizationResult, testId: string, onDrawn: () => void): AnalysisFigure {
  const methods = Object.keys(result.similarities);
  const series: Series[] = methods.flatMap((method, k) => {
    const steps = result.similarities[method]!;
    const line = (label: string, values: number[], dashed: boolean): Series => ({
      kind: "line",
      label,
      colour: seriesColour(k),
      dashed,
      markers: !dashed,
      points: [1, ...values].map((value, x): [number, number] => [x, value]),
    });
    return [
      line(`${methodTitle(method)} |map|`, steps.map((s) => s.spearman_absolute), false),
      line(`${methodTitle(method)} signed`, steps.map((s) => s.spearman_signed), true),
    ];
  });
  const cascade = result.mode === "cascade";
  const { thresholds } = result;
  const chart = new Chart({
    testId,
    label: `Spearman correlation of each method's map with its map on the model randomized ${cascade ? "down to" : "at"} each layer`,
    x: { title: cascade ? "randomized down to this layer (cascade)" : "layer randomized alone (independent)", categories: ["none", ...result.layers] },
    y: { title: "Spearman ρ with the original map", min: -1, max: 1 },
    series,
    guides: [
      { axis: "y", value: thresholds.depends_below, label: `${thresholds.depends_below}: below, the map depends on the weights` },
      { axis: "y", value: thresholds.barely_above, label: `${thresholds.barely_above}: above, it barely changes` },
    ],
    height: 230,
    onDrawn,
  });
  const verdicts = h(
    "ul",
    { class: "verdicts", "aria-label": "verdicts" },
    ...methods.map((method) => {
      const verdict = result.verdicts[method] ?? "";
      return h(
        "li",
        {},
        verdictBadge(`${methodTitle(method)}: ${verdict}`, verdict, `analysis-verdict-${method}`),
        h("span", { class: "verdicts__explanation" }, `${explainVerdict(verdict)}. ${survival(result, method)}`),
      );
    }),
  );
  return single(chart, note("solid: ρ of |map| (the verdict's measure); dashed: ρ of the signed map; compared over the residues that can change the target"), verdicts);
}

/** How many of the randomized layers the map survives (ρ(|map|) above the upper threshold), in
 * the words of the chart: the count the verdict is drawn from, where the curve first falls and
 * where it ends. */
function survival(result: RandomizationResult, method: string): string {
  const kept = result.unchanged_layers[method] ?? 0;
  const total = result.layers.length;
  const limit = result.thresholds.barely_above;
  const rhos = (result.similarities[method] ?? []).map((s) => s.spearman_absolute);
  const share = `ρ(|map|) stays above ${limit} for ${kept} of the ${total} layers`;
  if (result.mode !== "cascade") return `${share} randomized one at a time; lowest ρ ${Math.min(...rhos).toFixed(2)}.`;
  const fall = rhos.findIndex((rho) => rho <= limit);
  const where = fall < 0 ? "it never falls below" : fall === 0 ? `it falls below at the first (${result.layers[0]})` : `it first falls below at ${result.layers[fall]}, step ${fall + 1}`;
  return `${share} of the cascade; ${where}; with all randomized ρ is ${rhos[rhos.length - 1]?.toFixed(2) ?? "–"}.`;
}

function randomTarget(result: RandomTargetResult, testId: string, onDrawn: () => void): AnalysisFigure {
  const methods = Object.keys(result.similarities);
  const absolute = (method: string): number[] => result.similarities[method]!.map((s) => s.spearman_absolute);
  const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
  const where = result.targets.map((target) => target.map((i) => i + 1).join(",")).join("; ");
  const chart = new Chart({
    testId,
    label: "Spearman correlation of each method's map with the maps of other targets",
    x: { title: "method", categories: methods.map(methodTitle) },
    y: { title: "Spearman ρ of |map| with another target's", min: -1, max: 1 },
    series: [
      { kind: "bars", label: "mean", colour: "#c9d6e6", values: methods.map((method) => mean(absolute(method))) },
      ...methods.map((method, k): Series => ({
        kind: "dots",
        label: methodTitle(method),
        colour: seriesColour(k),
        points: absolute(method).map((value): [number, number] => [k, value]),
      })),
    ],
    onDrawn,
  });
  return single(chart, note(`A map that follows its target differs from the maps of other targets (low ρ). Other targets at residue(s) ${where}.`));
}

function deletion(result: DeletionResult, testId: string, onDrawn: () => void): AnalysisFigure {
  const curves = [result.deletion, result.insertion, result.random_deletion, result.random_insertion].flatMap((curve) => curve.values);
  const [low, high] = [Math.min(...curves), Math.max(...curves)];
  // One y range for both charts, so that the two can be compared.
  const y = high > low ? { title: "target", min: low, max: high } : { title: "target" };
  const charts = (["deletion", "insertion"] as const).map((kind) => {
    const [ranked, random] = [result[kind], result[`random_${kind}`]];
    const points = (values: number[], fractions: number[]): [number, number][] => values.map((value, k) => [fractions[k]!, value]);
    return new Chart({
      testId: `${testId}-${kind}`,
      label: `${kind} curve of the map's order against random orders`,
      x: { title: `fraction of residues ${kind === "deletion" ? "removed" : "restored"}`, min: 0, max: 1 },
      y,
      series: [
        { kind: "line", label: `map order (AUC ${formatAttribution(ranked.auc)})`, colour: seriesColour(0), points: points(ranked.values, ranked.fractions) },
        { kind: "line", label: `random orders (AUC ${formatAttribution(random.auc)})`, colour: seriesColour(9), dashed: true, points: points(random.values, random.fractions) },
      ],
      height: 180,
      onDrawn,
    });
  });
  return {
    element: h(
      "div",
      { class: "analysis-card__figure" },
      h("div", { class: "analysis-card__pair" }, ...charts.map((chart, k) => h("div", {}, h("p", { class: "analysis-card__subtitle" }, k === 0 ? "Deletion" : "Insertion"), chart.element))),
      note("Residues replaced by the all-zero baseline (deletion) or restored into it (insertion) in the order of the map. A faithful map drops the target faster than random orders on deletion (smaller AUC) and raises it faster on insertion (larger AUC)."),
    ),
    figures: charts,
  };
}

function receptiveField(result: ReceptiveFieldResult, testId: string, onDrawn: () => void): AnalysisFigure {
  const radius = result.theoretical_radius;
  const chart = new Chart({
    testId,
    label: "mean attribution magnitude against the sequence distance from the target",
    x: { title: "sequence distance from the target residue(s)" },
    y: { title: "mean |attribution| per residue", log: true },
    series: Object.entries(result.magnitude).map(([method, values], k): Series => ({
      kind: "line",
      label: methodTitle(method),
      colour: seriesColour(k),
      points: values.map((value, d): [number, number | null] => [result.distances[d]!, value]),
    })),
    guides: radius === null ? [] : [{ axis: "x", value: radius, label: `receptive field (${radius})` }],
    onDrawn,
  });
  return single(chart, note("Attribution beyond the network's receptive field must be zero; within it, most of it should sit near the target."));
}

function followGradient(result: FollowGradientResult, testId: string, onDrawn: () => void): AnalysisFigure {
  const method = String(result.options.method ?? "map");
  const chart = new Chart({
    testId,
    label: "the target as the input moves along the map",
    x: { title: `ε (input + ε · ${methodTitle(method)} map)` },
    y: { title: "target" },
    series: [
      { kind: "line", label: "target", colour: seriesColour(0), markers: true, points: result.epsilons.map((e, k): [number, number] => [e, result.values[k]!]) },
      { kind: "dots", label: "original input (ε = 0)", colour: TARGET_COLOR, points: [[0, result.value]] },
    ],
    guides: [{ axis: "x", value: 0, label: "ε = 0" }],
    onDrawn,
  });
  return single(chart, note("Moving the input along the map (ε > 0) should raise the target, against it (ε < 0) lower it."));
}

/** "one-hot A" → "A", "profile A" → "pA", as in the server's figure. */
const shortFeature = (name: string): string => name.replace("one-hot ", "").replace("profile ", "p");

function inputCorrelation(result: InputCorrelationResult, testId: string, onDrawn: () => void): AnalysisFigure {
  const chart = new Chart({
    testId,
    label: "correlation of the map with each input feature's values",
    x: { title: "input feature (pX: profile of X)", categories: result.features.map(shortFeature) },
    y: { title: "Pearson r (attribution, feature)" },
    series: Object.entries(result.correlation).map(([method, found], k): Series => ({
      kind: "bars",
      label: `${methodTitle(method)} (all features: r = ${found.overall === null ? "n/a" : found.overall.toFixed(2)})`,
      colour: seriesColour(k),
      values: found.per_feature,
    })),
    onDrawn,
  });
  return single(chart, note("A map that only repeats the input correlates strongly with it (|r| near 1)."));
}

function aminoAcids(result: AminoAcidResult, testId: string, onDrawn: () => void): AnalysisFigure {
  const letters = [...result.alphabet];
  const chart = new Chart({
    testId,
    label: "mean per-residue attribution by amino-acid type",
    x: { title: "amino acid", categories: letters },
    y: { title: "mean per-residue attribution" },
    series: Object.entries(result.by_type).map(([method, values], k): Series => ({ kind: "bars", label: methodTitle(method), colour: seriesColour(k), values })),
    onDrawn,
  });
  const counts = letters.map((letter, k) => `${letter} ${result.counts[k] ?? 0}`).join(" · ");
  const figures: DrawnFigure[] = [chart];
  const tables = Object.entries(result.pair_table ?? {}).map(([method, table]) => {
    const heatmap = new TableHeatmap({
      testId: `${testId}-pairs-${method}`,
      label: `${methodTitle(method)}: mean of s_i + s_j by the amino-acid types of the pair (i, j)`,
      rows: letters,
      columns: letters,
      values: table,
      quantity: "mean s_i + s_j",
      onDrawn,
    });
    figures.push(heatmap);
    return h("div", {}, h("p", { class: "analysis-card__subtitle" }, `${methodTitle(method)}: s_i + s_j by the types of residues i (rows) and j (columns)`), heatmap.element);
  });
  const pairs = result.pairs?.length ?? 0;
  return {
    element: h(
      "div",
      { class: "analysis-card__figure" },
      chart.element,
      note(`Residues per type in this protein: ${counts}.`),
      tables.length > 0 && h("div", { class: "analysis-card__tables" }, ...tables),
      tables.length > 0 && note(`Over the ${pairs} pairs the model is most sure of; s_i + s_j is the attribution to the pair's own two residues.`),
    ),
    figures,
  };
}
