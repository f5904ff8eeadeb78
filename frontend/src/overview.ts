/**
 * The influence overview of a per-residue head: the head (class) at every residue i attributed to
 * every input residue k at once, as one L × L map (row i: output residue, column k: input residue,
 * the signed attribution summed over residue k's features). It shows which inputs drive which
 * outputs along the whole chain; clicking row i explains that output in the panels below.
 */

import { failureText, type HeadSpec, type MethodInfo } from "./api";
import { AttributionScale, formatAttribution, percentile, sortedMagnitudes, type ColourSettings } from "./attributionScale";
import { colorBar } from "./colorbar";
import { h } from "./dom";
import { requestOverview, type Overview } from "./explainApi";
import type { OverviewChoice } from "./explorerState";
import type { FocusHub } from "./focus";
import { methodTitle } from "./explorerTypes";
import { headLabel } from "./results";
import { SquareMap } from "./squareMap";
import { residueName } from "./values";

export interface OverviewOptions {
  jobId: string;
  sequence: string;
  /** The model's per-residue heads. */
  heads: HeadSpec[];
  methods: MethodInfo[];
  initial: OverviewChoice | null;
  colours: ColourSettings;
  focus: FocusHub;
  /** A map was asked for: the choice to keep in the URL. */
  onChoice: (choice: OverviewChoice) => void;
  /** Row i was clicked: explain that output. */
  onPickRow: (choice: OverviewChoice, i: number) => void;
}

const INTRO =
  "How every output residue depends on every input residue: row i is the chosen output at residue i, column k its attribution to residue k (summed over k's input features), all rows computed together. Click a row to explain that output below.";

export class InfluenceOverview {
  readonly element: HTMLElement;
  private readonly head: HTMLSelectElement;
  private readonly className: HTMLSelectElement;
  private readonly classField: HTMLElement;
  private readonly method: HTMLSelectElement;
  private readonly run: HTMLButtonElement;
  private readonly status = h("span", { class: "explorer__run-status", role: "status" });
  private readonly error = h("p", { class: "error", "data-testid": "overview-error", role: "alert" });
  private readonly errorSlot = h("div", { class: "error-slot" });
  private readonly figure = h("figure", { class: "overview__figure" });
  private colours: ColourSettings;
  private pending: OverviewChoice | null;
  private map: SquareMap | null = null;
  private magnitudes: Float32Array | null = null;
  private legendTitle = "";
  private readonly legend = h("div", { class: "overview__legend" });
  /** Counts requests, so that only the answer to the latest one is drawn. */
  private asked = 0;

  constructor(private readonly options: OverviewOptions) {
    const { heads, methods, initial } = options;
    this.colours = options.colours;
    this.head = h("select", { id: "overview-head", "data-testid": "overview-head" });
    this.head.append(...heads.map((head) => new Option(headLabel(head.name), head.name)));
    this.className = h("select", { id: "overview-class", "data-testid": "overview-class" });
    this.method = h("select", { id: "overview-method", "data-testid": "overview-method" });
    this.method.append(...methods.map((method) => new Option(methodTitle(method.name), method.name)));
    this.run = h("button", { type: "button", class: "button button--secondary button--small", "data-testid": "overview-run" }, "Compute");
    const field = (id: string, label: string, input: HTMLElement): HTMLElement =>
      h("div", { class: "unit-picker__field" }, h("label", { for: id }, label), input);
    this.classField = field("overview-class", "Class", this.className);

    const valid = initial !== null && this.accepts(initial);
    if (valid) {
      this.head.value = initial.head;
      this.method.value = initial.method;
    }
    this.fitHead(valid ? initial.class : null);
    this.pending = valid ? initial : null;
    this.head.addEventListener("change", () => this.fitHead(null));
    this.run.addEventListener("click", () => this.compute(this.choice()));

    this.element = h(
      "fieldset",
      { class: "explorer__fieldset overview", "data-testid": "overview" },
      h("legend", {}, "Influence overview"),
      h("p", { class: "hint overview__intro" }, INTRO),
      h(
        "div",
        { class: "unit-picker__row overview__controls" },
        field("overview-head", "Output", this.head),
        this.classField,
        field("overview-method", "Method", this.method),
        this.run,
        this.status,
      ),
      this.errorSlot,
      this.figure,
    );
  }

  /** Draws the map the URL asked for, once (called when the explorer is open). */
  showInitial(): void {
    const choice = this.pending;
    this.pending = null;
    if (choice) this.compute(choice);
  }

  /** The explorer's colour settings: clip and gamma apply; the map stays signed (diverging). */
  setColours(colours: ColourSettings): void {
    this.colours = colours;
    this.applyColours();
  }

  private accepts(choice: OverviewChoice): boolean {
    const head = this.options.heads.find((spec) => spec.name === choice.head);
    const classes = head?.classes ?? [];
    const classOk = classes.length === 0 ? choice.class === null : choice.class !== null && classes.includes(choice.class);
    return head !== undefined && classOk && this.options.methods.some((method) => method.name === choice.method);
  }

  /** The class picker offers the head's classes, and is hidden for heads without any. */
  private fitHead(className: string | null): void {
    const classes = this.options.heads.find((head) => head.name === this.head.value)?.classes ?? [];
    this.className.replaceChildren(...classes.map((name) => new Option(name, name)));
    if (className !== null) this.className.value = className;
    this.classField.hidden = classes.length === 0;
  }

  private choice(): OverviewChoice {
    return { head: this.head.value, class: this.classField.hidden ? null : this.className.value, method: this.method.value };
  }

  private async compute(choice: OverviewChoice): Promise<void> {
    const asked = ++this.asked;
    this.error.remove();
    this.options.onChoice(choice);
    this.run.disabled = true;
    this.status.textContent = "Computing…";
    try {
      const overview = await requestOverview(this.options.jobId, choice);
      if (asked !== this.asked) return;
      this.status.textContent = `computed in ${overview.seconds.toFixed(2)} s`;
      this.draw(overview, choice);
    } catch (failure) {
      if (asked !== this.asked) return;
      this.status.textContent = "";
      this.error.textContent = `The overview could not be computed: ${failureText(failure)}`;
      this.errorSlot.append(this.error);
    } finally {
      if (asked === this.asked) this.run.disabled = false;
    }
  }

  private draw(overview: Overview, choice: OverviewChoice): void {
    const { sequence, focus } = this.options;
    const length = overview.matrix.length;
    const values = Float32Array.from(overview.matrix.flat());
    const output = `${headLabel(choice.head)}${choice.class === null ? "" : `, class ${choice.class}`}`;
    this.map?.dispose();
    this.magnitudes = sortedMagnitudes(values);
    this.legendTitle = `attribution of the output at residue i to input residue k (${methodTitle(choice.method)}), summed over k's features`;
    this.map = new SquareMap({
      testId: "overview-map",
      label: `Influence overview of ${output} by ${methodTitle(choice.method)}: output residue (rows) × input residue (columns)`,
      values,
      length,
      focus,
      ringTarget: false,
      describe: (i, k, value) => `output ${residueName(sequence, i)} ← input ${residueName(sequence, k)} · ${formatAttribution(value)} · click to explain row ${i + 1}`,
      onPick: (cell) => this.options.onPickRow(choice, cell.i),
    });
    this.figure.replaceChildren(
      h("figcaption", { class: "figure-title" }, output, h("span", { class: "figure-subtitle" }, methodTitle(choice.method))),
      this.map.element,
      h("p", { class: "square-map__axes" }, "rows: output residue i · columns: input residue k"),
      this.legend,
    );
    this.applyColours();
    this.map.layout();
  }

  private applyColours(): void {
    if (!this.map || !this.magnitudes) return;
    const { clip, gamma } = this.colours;
    const scale = new AttributionScale(percentile(this.magnitudes, clip), true, gamma);
    this.map.setScale(scale);
    const title = `${this.legendTitle}; saturates at the ${clip}th percentile of |value|${gamma === 1 ? "" : `, gamma ${gamma}`}`;
    this.legend.replaceChildren(colorBar({ scale, title, ticks: scale.ticks(), format: formatAttribution }));
  }
}
