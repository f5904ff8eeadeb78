/**
 * Inputs this job lacks. A feature group that `needs` something the protein was not given (a
 * profile in single-sequence mode, a structure) is all zero, yet gradient-type maps can be large
 * there: they say how the target would change if the profile were given, not what drove this
 * prediction. The page greys those rows and, unless the user includes them, leaves them out of the
 * per-residue sums, the colour scale and the top residues — display only: the API's arrays,
 * exports and cached results stay complete.
 */

import { h } from "./dom";
import type { FeatureGroup, FeatureResult, TopResidue } from "./explainApi";

/** What the job's input lacks, from its mode and whether it has a structure. */
export function lackedInputs(mode: string, hasStructure: boolean): Set<string> {
  const lacks = new Set<string>();
  if (mode !== "profile") lacks.add("profile");
  if (!hasStructure) lacks.add("structure");
  return lacks;
}

const WHY: Record<string, string> = {
  profile: "this job has no profile (single-sequence mode)",
  structure: "this job has no structure",
};

/** The groups of a model-input result whose needs the job lacks. */
export function absentGroups(result: FeatureResult, lacks: ReadonlySet<string>): FeatureGroup[] {
  if (result.wrt || !result.feature_groups) return [];
  return result.feature_groups.filter((group) => group.needs !== null && lacks.has(group.needs));
}

/** Row indices of the absent groups' features. */
export function absentRows(result: FeatureResult, lacks: ReadonlySet<string>): Set<number> {
  const absent = new Set(absentGroups(result, lacks).map((group) => group.name));
  const rows = new Set<number>();
  let row = 0;
  for (const group of result.feature_groups ?? []) {
    for (let k = 0; k < group.size; k++, row++) if (absent.has(group.name)) rows.add(row);
  }
  return rows;
}

export interface ResidueScores {
  sum: Float32Array;
  magnitude: Float32Array;
  top: TopResidue[];
}

/**
 * Σ and Σ|·| per residue over the rows not `left out`, and the residues of largest Σ|·| (as many
 * as the server listed, ties in residue order — the server's rule).
 */
export function countedScores(result: FeatureResult, leftOut: ReadonlySet<number>, sequence: string): ResidueScores {
  const length = result.residue_sum.length;
  const sum = new Float32Array(length);
  const magnitude = new Float32Array(length);
  result.attribution.forEach((row, r) => {
    if (leftOut.has(r)) return;
    row.forEach((value, i) => {
      sum[i]! += value ?? 0;
      magnitude[i]! += Math.abs(value ?? 0);
    });
  });
  const order = Array.from({ length }, (_, i) => i).sort((a, b) => magnitude[b]! - magnitude[a]! || a - b);
  const top = order.slice(0, result.top.length).map((i) => ({ index: i, residue: sequence[i] ?? "?", sum: sum[i]!, magnitude: magnitude[i]! }));
  return { sum, magnitude, top };
}

/** The rows of `values` (rows × residues) not left out, for a colour scale. */
export function countedValues(values: Float32Array, rows: number, leftOut: ReadonlySet<number>): Float32Array {
  if (leftOut.size === 0) return values;
  const length = values.length / rows;
  const kept = new Float32Array((rows - leftOut.size) * length);
  let at = 0;
  for (let r = 0; r < rows; r++) {
    if (leftOut.has(r)) continue;
    kept.set(values.subarray(r * length, (r + 1) * length), at);
    at += length;
  }
  return kept;
}

/** Says which rows are greyed and why, with the switch that counts them in. */
export function absentNote(groups: FeatureGroup[], included: boolean, method: string, onChange: (include: boolean) => void): HTMLElement {
  const names = groups.map((group) => group.name).join(", ");
  const why = [...new Set(groups.map((group) => WHY[group.needs ?? ""] ?? `this job has no ${group.needs}`))].join("; ");
  const id = `absent-${method}`;
  const box = h("input", { type: "checkbox", id, "data-testid": id, checked: included });
  box.addEventListener("change", () => onChange(box.checked));
  return h(
    "p",
    { class: "method-panel__absent", "data-testid": `panel-absent-${method}` },
    `Greyed: ${names} — ${why}, so these inputs are all 0. Attribution there says how the target would change if they were given, not what drove this prediction; `,
    included ? "they are counted in Σ, the colour scale and Top residues. " : "they are left out of Σ, the colour scale and Top residues. ",
    h("span", { class: "method-panel__absent-switch" }, box, h("label", { for: id }, "Count them")),
  );
}
