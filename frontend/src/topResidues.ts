/**
 * The residues an explanation credits most, as a table that points into the figures: hovering a
 * row highlights the residue everywhere, clicking its name pins it.
 */

import { formatAttribution } from "./attributionScale";
import { h } from "./dom";
import type { TopResidue } from "./explainApi";
import type { FocusHub } from "./focus";

export function topResidueTable(top: TopResidue[], method: string, focus: FocusHub): HTMLElement {
  const rows = top.map((entry) => {
    const at = { i: entry.index, j: null };
    const name = h("button", { type: "button", class: "top-residues__name", title: "pin this residue" }, `${entry.residue}${entry.index + 1}`);
    name.addEventListener("click", () => focus.toggleSelection(at));
    name.addEventListener("focus", () => focus.setHover(at));
    name.addEventListener("blur", () => focus.setHover(null));
    const row = h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, formatAttribution(entry.sum)), h("td", {}, formatAttribution(entry.magnitude)));
    row.addEventListener("pointerenter", () => focus.setHover(at));
    row.addEventListener("pointerleave", () => focus.setHover(null));
    return row;
  });
  return h(
    "table",
    { class: "top-residues", "data-testid": `panel-top-${method}` },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "residue"), h("th", { scope: "col" }, "Σ signed"), h("th", { scope: "col" }, "Σ |·|"))),
    h("tbody", {}, ...rows),
  );
}
