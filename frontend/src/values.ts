/**
 * The side panel that reads out every value under the cursor (or at the pinned selection): all pair
 * maps for (i, j), predicted next to true, and the per-residue values of i and j.
 */

import { h } from "./dom";
import type { Focus, FocusHub } from "./focus";
import { CLASS_NAMES, type PairMap, type ResidueHead, type ResultData } from "./results";

/** "A12": the residue's letter and its 1-based number. */
export function residueName(sequence: string, i: number): string {
  return `${sequence[i] ?? "?"}${i + 1}`;
}

export function formatPairValue(map: Pick<PairMap, "kind" | "units">, value: number): string {
  if (Number.isNaN(value)) return "n/a";
  if (map.kind === "distance") return `${value.toFixed(1)} Å`;
  if (map.kind === "probability") return value.toFixed(2);
  return `${value.toPrecision(3)}${map.units ? ` ${map.units}` : ""}`;
}

/** "Cα–Cα" for a distance map, "P(contact)" for the contact map: short enough for table rows. */
export function shortPairLabel(map: PairMap): string {
  if (map.kind === "distance") return map.label.replace(/ distance$/, "");
  return map.key === "contact" ? "P(contact)" : map.label;
}

export function formatDifference(value: number): string {
  if (Number.isNaN(value)) return "n/a";
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${Math.abs(value).toFixed(1)} Å`;
}

/** The most probable class with its probability, e.g. "H 0.91". */
export function topClass(head: ResidueHead, i: number): string {
  const classes = head.classes ?? [];
  let best = 0;
  for (let k = 1; k < classes.length; k++) {
    if (head.values[i * classes.length + k]! > head.values[i * classes.length + best]!) best = k;
  }
  return `${classes[best]} ${head.values[i * classes.length + best]!.toFixed(2)}`;
}

export function scalarValue(head: ResidueHead, i: number): string {
  const value = head.values[i]!;
  return Number.isNaN(value) ? "n/a" : value.toFixed(2);
}

/** The true DSSP letter of residue i, with "-" (no assigned structure) read as coil. */
export function trueDssp(data: ResultData, i: number): string | null {
  const letter = data.truth?.dssp?.[i];
  if (letter === undefined) return null;
  const name = letter === "-" || letter === " " ? "C" : letter;
  return `${name}${CLASS_NAMES[name] ? ` (${CLASS_NAMES[name]})` : ""}`;
}

export class ValuesPanel {
  readonly element: HTMLElement;
  private readonly body: HTMLDivElement;

  constructor(
    private readonly data: ResultData,
    private readonly focus: FocusHub,
  ) {
    this.body = h("div", { class: "values__body" });
    this.element = h(
      "aside",
      { class: "card values", "data-testid": "values", "aria-label": "values under the cursor" },
      h("h2", { class: "card__title" }, "Values"),
      this.body,
    );
    focus.subscribe(() => this.render());
    this.render();
  }

  private render(): void {
    const focus = this.focus.current;
    this.body.replaceChildren(
      ...(focus
        ? this.describe(focus)
        : [h("p", { class: "hint" }, "Point at a map or a track to read its values here; click to pin a cell, Escape to release it.")]),
    );
    this.element.dataset.pinned = String(this.focus.hover === null && this.focus.selection !== null);
  }

  private describe(focus: Focus): HTMLElement[] {
    const { sequence } = this.data;
    const parts: HTMLElement[] = [];
    const pinned = this.focus.hover === null ? " (pinned)" : "";
    if (focus.j !== null) {
      const { i, j } = focus;
      parts.push(
        h(
          "p",
          { class: "values__where" },
          h("strong", {}, `${residueName(sequence, i)} – ${residueName(sequence, j)}`),
          ` · i = ${i + 1}, j = ${j + 1}, |i − j| = ${Math.abs(i - j)}${pinned}`,
        ),
        this.pairTable(i, j),
      );
      parts.push(this.residueBlock(i));
      if (j !== i) parts.push(this.residueBlock(j));
    } else {
      parts.push(
        h("p", { class: "values__where" }, h("strong", {}, residueName(sequence, focus.i)), ` · residue ${focus.i + 1}${pinned}`),
        this.residueBlock(focus.i),
      );
    }
    return parts;
  }

  private pairTable(i: number, j: number): HTMLElement {
    const { length, truth } = this.data;
    const cell = i * length + j;
    const hasTruth = truth !== null;
    const rows = this.data.pairMaps.map((map) => {
      const predicted = map.values[cell]!;
      let trueText = "";
      let deltaText = "";
      if (map.key === "contact" && truth?.contacts) {
        trueText = truth.contacts[cell] ? "contact" : "none";
      } else {
        const trueValue = truth?.maps.get(map.key)?.[cell];
        if (trueValue !== undefined) {
          trueText = formatPairValue(map, trueValue);
          if (map.kind === "distance") deltaText = formatDifference(predicted - trueValue);
        }
      }
      return h(
        "tr",
        {},
        h("th", { scope: "row", title: map.label }, shortPairLabel(map)),
        h("td", {}, formatPairValue(map, predicted)),
        hasTruth && h("td", {}, trueText),
        hasTruth && h("td", {}, deltaText),
      );
    });
    return h(
      "table",
      { class: "values__table" },
      h(
        "thead",
        {},
        h("tr", {}, h("th", {}, ""), h("th", { scope: "col" }, "predicted"), hasTruth && h("th", { scope: "col" }, "true"), hasTruth && h("th", { scope: "col" }, "Δ")),
      ),
      h("tbody", {}, ...rows),
    );
  }

  private residueBlock(i: number): HTMLElement {
    const items: HTMLElement[] = [];
    for (const head of this.data.residueHeads) {
      items.push(h("dt", {}, head.label));
      if (head.classes) {
        const k = head.classes.length;
        const cells = head.classes.map((name, c) =>
          h("span", { class: "values__class", title: CLASS_NAMES[name] ?? name }, h("b", {}, name), ` ${head.values[i * k + c]!.toFixed(2)}`),
        );
        items.push(h("dd", { class: "values__classes" }, ...cells));
      } else {
        items.push(h("dd", {}, scalarValue(head, i)));
      }
    }
    const dssp = trueDssp(this.data, i);
    if (dssp) items.push(h("dt", {}, "DSSP (true)"), h("dd", {}, dssp));
    return h(
      "div",
      { class: "values__residue" },
      h("h3", {}, `Residue ${residueName(this.data.sequence, i)}`),
      items.length > 0 ? h("dl", {}, ...items) : h("p", { class: "hint" }, "This model predicts no per-residue values."),
    );
  }
}
