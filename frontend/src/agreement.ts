/**
 * Where the methods agree. Five methods can name five different top residues; this view says how
 * far their rankings agree and which residues they credit together.
 *
 * Each method ranks the residues by its per-residue magnitude Σ|·| (the quantity of its Top
 * residues table), largest first, ties sharing their mean rank. Over the residues at least one
 * method credits (the others, outside every receptive field, tie at 0 for all methods and would
 * only inflate the agreement):
 * - the matrix holds Spearman's ρ of every pair of methods (Pearson's r of their ranks);
 * - the consensus ranking orders residues by their mean rank over the methods, each method's own
 *   rank beside it.
 */

import { h } from "./dom";
import { methodTitle } from "./explorerTypes";
import type { FocusHub } from "./focus";
import { residueName } from "./values";

export interface MethodMagnitudes {
  method: string;
  /** Σ|attribution| per residue, as the panel shows it. */
  magnitude: Float32Array;
}

const CONSENSUS_ROWS = 10;

/** Ranks 1…n of `values`, largest first; tied values share the mean of their ranks. */
export function descendingRanks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, k) => k).sort((a, b) => values[b]! - values[a]!);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    const shared = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = shared;
    start = end;
  }
  return ranks;
}

/** Pearson's r of two equally long samples; NaN when either is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let meanA = 0;
  let meanB = 0;
  for (let k = 0; k < n; k++) {
    meanA += a[k]! / n;
    meanB += b[k]! / n;
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < n; k++) {
    ab += (a[k]! - meanA) * (b[k]! - meanB);
    aa += (a[k]! - meanA) ** 2;
    bb += (b[k]! - meanB) ** 2;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : Number.NaN;
}

export interface Agreement {
  methods: string[];
  /** The residues compared: those some method credits. */
  residues: number[];
  /** Spearman's ρ, methods × methods. */
  rho: number[][];
  /** Residues by mean rank, each with its mean rank and every method's rank. */
  consensus: { residue: number; mean: number; ranks: number[] }[];
}

export function agreement(panels: MethodMagnitudes[]): Agreement {
  const length = panels[0]?.magnitude.length ?? 0;
  const residues = Array.from({ length }, (_, i) => i).filter((i) => panels.some((panel) => panel.magnitude[i]! > 0));
  const ranks = panels.map((panel) => descendingRanks(residues.map((i) => panel.magnitude[i]!)));
  const rho = ranks.map((a) => ranks.map((b) => pearson(a, b)));
  const consensus = residues
    .map((residue, k) => {
      const own = ranks.map((r) => r[k]!);
      return { residue, mean: own.reduce((sum, r) => sum + r, 0) / own.length, ranks: own };
    })
    .sort((a, b) => a.mean - b.mean || a.residue - b.residue);
  return { methods: panels.map((panel) => panel.method), residues, rho, consensus };
}

/** ρ as a cell colour: white at 0, blue towards 1, red towards −1. */
function rhoColour(rho: number): string {
  if (Number.isNaN(rho)) return "transparent";
  const alpha = Math.min(1, Math.abs(rho)) * 0.55;
  return rho >= 0 ? `rgba(29, 78, 137, ${alpha})` : `rgba(180, 35, 24, ${alpha})`;
}

const formatRank = (rank: number): string => (Number.isInteger(rank) ? String(rank) : rank.toFixed(1));

export class AgreementView {
  readonly element = h("section", { class: "agreement", "data-testid": "agreement", hidden: true });

  constructor(
    private readonly sequence: string,
    private readonly focus: FocusHub,
  ) {}

  /** Shows the agreement of the ready panels (hidden with fewer than two). */
  update(panels: MethodMagnitudes[]): void {
    this.element.hidden = panels.length < 2;
    if (panels.length < 2) return this.element.replaceChildren();
    const found = agreement(panels);
    const titles = found.methods.map(methodTitle);
    const matrix = h(
      "table",
      { class: "agreement__matrix", "data-testid": "agreement-matrix" },
      h("thead", {}, h("tr", {}, h("th", {}, ""), ...titles.map((title) => h("th", { scope: "col" }, title)))),
      h(
        "tbody",
        {},
        ...found.rho.map((row, a) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, titles[a]!),
            ...row.map((rho, b) =>
              h("td", { style: `background: ${rhoColour(rho)}`, "data-testid": `agreement-${found.methods[a]}-${found.methods[b]}` }, Number.isNaN(rho) ? "–" : rho.toFixed(2)),
            ),
          ),
        ),
      ),
    );
    const rows = found.consensus.slice(0, CONSENSUS_ROWS).map((entry, k) => {
      const at = { i: entry.residue, j: null };
      const name = h("button", { type: "button", class: "top-residues__name", title: "pin this residue" }, residueName(this.sequence, entry.residue));
      name.addEventListener("click", () => this.focus.toggleSelection(at));
      const row = h("tr", {}, h("td", {}, String(k + 1)), h("th", { scope: "row" }, name), h("td", {}, entry.mean.toFixed(1)), ...entry.ranks.map((rank) => h("td", {}, formatRank(rank))));
      row.addEventListener("pointerenter", () => this.focus.setHover(at));
      row.addEventListener("pointerleave", () => this.focus.setHover(null));
      return row;
    });
    const consensus = h(
      "table",
      { class: "top-residues agreement__consensus", "data-testid": "agreement-consensus" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, "residue"), h("th", { scope: "col" }, "mean rank"), ...titles.map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, ...rows),
    );
    this.element.replaceChildren(
      h("h3", { class: "agreement__title" }, "Where the methods agree"),
      h(
        "p",
        { class: "hint" },
        `Each method ranks the residues by Σ|·| (its Top residues), over the ${found.residues.length} residues some method credits. Left: Spearman's ρ between the methods' rankings (1: the same order). Right: the residues by their mean rank over the methods, with each method's own rank.`,
      ),
      h("div", { class: "agreement__tables" }, matrix, consensus),
    );
  }
}
