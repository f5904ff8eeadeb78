/**
 * The analyses of the explorer's target: sanity checks of its maps (does a map change when the
 * learned weights are destroyed, does it differ between targets, does deleting what it ranks
 * first change the output, …). The catalogue and every option come from the server; each run
 * becomes a card (one per analysis, the newest on top) that follows the server's task, with a
 * progress bar and Cancel while it runs, then its chart, verdicts and downloads. Changing the
 * target clears the cards. The analysis last answered is kept in the URL, so a reload asks again
 * and the server answers from its cache.
 */

import { ApiError, failureText } from "./api";
import {
  listAnalyses,
  requestAnalysis,
  type AnalysisInfo,
  type AnalysisOption,
  type AnalysisOptionValue,
  type AnalysisRequest,
  type AnalysisResult,
  type AnalyzeAnswer,
  type RandomizationResult,
} from "./analysisApi";
import { analysisFigure } from "./analysisFigures";
import type { DrawnFigure } from "./charts";
import { h } from "./dom";
import { exportUrl, type MethodState } from "./explainApi";
import { encodeTarget, isUnitTarget, type ExplainTarget } from "./explainTarget";
import type { AnalysisChoice } from "./explorerState";
import { optionInput } from "./methodChooser";
import { methodTitle } from "./explorerTypes";
import { TaskRun, type TaskAnswer } from "./taskRun";

export interface AnalysesOptions {
  jobId: string;
  target: ExplainTarget | null;
  /** The analysis the URL asks for, run once the explorer is open. */
  initial: AnalysisChoice | null;
  /** An analysis was answered (or the cards cleared: null): the choice to keep in the URL. */
  onChoice: (choice: AnalysisChoice | null) => void;
  /** The randomization test of the current target's maps, for the panels' badges; null when none. */
  onVerdicts: (randomization: RandomizationResult | null) => void;
}

const INTRO =
  "Can the maps of this target be trusted? Each analysis tests them: randomization destroys the learned weights layer by layer (a map that barely changes shows the input and the architecture, not what the network learned), random target compares with the maps of other outputs, deletion removes residues in the map's order. Every run adds a card below; a new target clears them.";

const NO_TARGET = "Pick a target first (a map cell, a track residue or an internal unit): the analyses test its maps.";

/** One option's input(s), built from its spec. */
interface OptionField {
  name: string;
  element: HTMLElement;
  /** The value to send: numbers as numbers when they parse (the server checks the range). */
  value(): AnalysisOptionValue;
  /** The value as text for the URL, or null at the default. */
  changed(): string | null;
}

const sameItems = (a: string[], b: string[]): boolean => a.length === b.length && a.every((item) => b.includes(item));

function listField(id: string, name: string, option: AnalysisOption, text: string | undefined): OptionField {
  const initial = text === undefined ? (option.default as string[]) : text.split(/[ +]/);
  const boxes = option.choices.map((choice) =>
    h("input", { type: "checkbox", id: `${id}-${choice}`, "data-testid": `${id}-${choice}`, value: choice, checked: initial.includes(choice) }),
  );
  const chosen = (): string[] => boxes.filter((box) => box.checked).map((box) => box.value);
  // At most `maximum` items: the unchecked boxes are disabled once that many are checked.
  const limit = (): void => {
    const full = option.maximum !== null && chosen().length >= option.maximum;
    for (const box of boxes) box.disabled = full && !box.checked;
  };
  for (const box of boxes) box.addEventListener("change", limit);
  limit();
  const most = option.maximum === null ? "" : ` (at most ${option.maximum})`;
  return {
    name,
    element: h(
      "fieldset",
      { class: "analysis-option analysis-option--list", "data-testid": id },
      h("legend", { title: option.description }, `${name}${most}`),
      h("div", { class: "analysis-option__choices" }, ...boxes.map((box) => h("span", {}, box, h("label", { for: box.id }, methodTitle(box.value))))),
      h("span", { class: "hint" }, option.description),
    ),
    value: chosen,
    changed: () => (sameItems(chosen(), option.default as string[]) ? null : chosen().join(" ")),
  };
}

function singleField(id: string, name: string, option: AnalysisOption, text: string | undefined): OptionField {
  const input = optionInput(id, option, text);
  const numeric = option.choices.length === 0;
  return {
    name,
    element: h(
      "div",
      { class: "analysis-option" },
      h("label", { for: id, title: option.description }, name),
      input,
      h("span", { class: "hint" }, option.description),
    ),
    value: () => {
      const number = Number(input.value);
      return numeric && input.value.trim() !== "" && Number.isFinite(number) ? number : input.value;
    },
    changed: () => (input.value === String(option.default) ? null : input.value),
  };
}

function optionField(name: string, option: AnalysisOption, text: string | undefined): OptionField {
  const id = `analysis-option-${name}`;
  return Array.isArray(option.default) ? listField(id, name, option, text) : singleField(id, name, option, text);
}

export class Analyses {
  readonly element: HTMLFieldSetElement;
  private catalogue: AnalysisInfo[] = [];
  private fields: OptionField[] = [];
  private target: ExplainTarget | null;
  private pending: AnalysisChoice | null;
  /** The analysis the URL names, while its card is not failed or cancelled. */
  private inUrl: string | null = null;
  private open = false;
  private readonly cards = new Map<string, AnalysisCard>();
  private readonly choice = h("select", { id: "analysis-choice", "data-testid": "analysis-choice" });
  private readonly summary = h("p", { class: "hint analyses__summary", "data-testid": "analysis-summary" });
  private readonly optionBox = h("div", { class: "analyses__options" });
  private readonly runButton = h("button", { type: "button", class: "button button--small", "data-testid": "analysis-run" }, "Run");
  private readonly hint = h("p", { class: "hint analyses__hint", "data-testid": "analyses-hint" });
  private readonly error = h("p", { class: "error", "data-testid": "analysis-error", role: "alert" });
  private readonly errorSlot = h("div", { class: "error-slot" });
  private readonly cardList = h("div", { class: "analyses__cards", "aria-live": "polite" });

  constructor(private readonly options: AnalysesOptions) {
    this.target = options.target;
    this.pending = options.initial;
    this.choice.addEventListener("change", () => this.showChoice(null));
    this.runButton.addEventListener("click", () => this.run());
    this.element = h(
      "fieldset",
      { class: "explorer__fieldset analyses", "data-testid": "analyses" },
      h("legend", {}, "Analyses"),
      h("p", { class: "hint analyses__intro" }, INTRO),
      this.hint,
      h(
        "div",
        { class: "analyses__controls" },
        h("div", { class: "unit-picker__field" }, h("label", { for: "analysis-choice" }, "Analysis"), this.choice),
        this.summary,
        this.optionBox,
        h("div", { class: "explorer__actions" }, this.runButton),
      ),
      this.errorSlot,
      this.cardList,
    );
    this.update();
    void this.load();
  }

  /** The explorer is open: run the analysis the URL asked for, once. */
  showInitial(): void {
    this.open = true;
    this.runPending();
  }

  /** A new target: the cards of the old one go (their tasks are cancelled). */
  setTarget(target: ExplainTarget | null): void {
    const same = target !== null && this.target !== null && encodeTarget(target) === encodeTarget(this.target);
    if (same || target === this.target) return;
    this.target = target;
    this.pending = null;
    for (const card of this.cards.values()) card.dispose();
    this.cards.clear();
    this.error.remove();
    this.inUrl = null;
    this.options.onChoice(null);
    this.options.onVerdicts(null);
    this.update();
  }

  private async load(): Promise<void> {
    this.hint.textContent = "Loading the analyses…";
    try {
      this.catalogue = await listAnalyses();
    } catch (failure) {
      this.showError(`The analyses could not be listed: ${failureText(failure)}`);
      this.hint.textContent = "";
      return;
    }
    this.choice.append(...this.catalogue.map((info) => new Option(methodTitle(info.name), info.name)));
    const initial = this.pending && this.catalogue.some((info) => info.name === this.pending!.analysis) ? this.pending : null;
    if (initial) this.choice.value = initial.analysis;
    this.pending = initial;
    this.showChoice(initial);
    this.update();
    this.runPending();
  }

  /** Runs the URL's analysis, unless the target cannot have it (an output-only analysis of a unit). */
  private runPending(): void {
    const pending = this.pending;
    if (!this.open || !pending || this.catalogue.length === 0 || !this.target) return;
    this.pending = null;
    if (this.choice.value === pending.analysis) this.run();
    else this.options.onChoice(null);
  }

  private selected(): AnalysisInfo | undefined {
    return this.catalogue.find((info) => info.name === this.choice.value);
  }

  /** The chosen analysis's summary and option inputs (filled from the URL's texts, when given). */
  private showChoice(initial: AnalysisChoice | null): void {
    const info = this.selected();
    this.summary.textContent = info?.summary ?? "";
    this.fields = Object.entries(info?.options ?? {}).map(([name, option]) => optionField(name, option, initial?.options[name]));
    this.optionBox.replaceChildren(...this.fields.map((field) => field.element));
    this.update();
  }

  /** Disabled without a target; analyses that read outputs are not offered for an internal unit. */
  private update(): void {
    const unit = this.target !== null && isUnitTarget(this.target);
    for (const option of Array.from(this.choice.options)) {
      const info = this.catalogue.find((item) => item.name === option.value);
      option.disabled = unit && (info?.outputs_only ?? false);
      option.textContent = `${methodTitle(option.value)}${option.disabled ? " (model outputs only)" : ""}`;
    }
    if (this.choice.selectedOptions[0]?.disabled) {
      const first = Array.from(this.choice.options).find((option) => !option.disabled);
      if (first) {
        this.choice.value = first.value;
        this.showChoice(null);
        return;
      }
    }
    this.element.disabled = this.target === null || this.catalogue.length === 0;
    if (this.catalogue.length > 0) this.hint.textContent = this.target === null ? NO_TARGET : "";
    this.hint.hidden = this.hint.textContent === "";
  }

  private run(): void {
    this.error.remove();
    const info = this.selected();
    if (!info || !this.target) return;
    const request: AnalysisRequest = {
      target: this.target,
      analysis: info.name,
      options: Object.fromEntries(this.fields.map((field) => [field.name, field.value()])),
    };
    const changed: Record<string, string> = {};
    for (const field of this.fields) {
      const text = field.changed();
      if (text !== null) changed[field.name] = text;
    }
    const key = JSON.stringify(request);
    const existing = this.cards.get(info.name);
    if (existing && existing.key === key && !existing.settledWithout) {
      this.cardList.prepend(existing.element);
      return;
    }
    existing?.dispose();
    const card: AnalysisCard = new AnalysisCard(this.options.jobId, info, request, key, {
      answered: () => {
        this.inUrl = info.name;
        this.options.onChoice({ analysis: info.name, options: changed });
      },
      // A reload should not start again what failed or was cancelled.
      stopped: () => {
        if (this.inUrl !== info.name || this.cards.get(info.name) !== card) return;
        this.inUrl = null;
        this.options.onChoice(null);
      },
      refused: (message) => {
        card.dispose();
        if (this.cards.get(info.name) === card) this.cards.delete(info.name);
        this.showError(message);
      },
      drawn: () => this.reportVerdicts(),
    });
    this.cards.set(info.name, card);
    this.cardList.prepend(card.element);
    this.reportVerdicts();
    card.start();
  }

  /** The verdicts of a drawn randomization card, for the explorer's panels. */
  private reportVerdicts(): void {
    const result = this.cards.get("randomization")?.result;
    this.options.onVerdicts(result?.analysis === "randomization" ? result : null);
  }

  private showError(message: string): void {
    this.error.textContent = message;
    this.errorSlot.append(this.error);
  }
}

interface CardHooks {
  /** The server took the request. */
  answered: () => void;
  /** The server refused the request (a 4xx answer, before any task): its message. */
  refused: (message: string) => void;
  /** It failed or was cancelled. */
  stopped: () => void;
  /** The result's figures are all drawn. */
  drawn: () => void;
}

type AnalysisRun = TaskRun<AnalyzeAnswer & TaskAnswer<AnalysisResult>, AnalysisResult>;

const STATE_WORDS: Record<MethodState, string> = {
  queued: "Queued",
  running: "Running",
  done: "Fetching the result…",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** "methods: gradient, guided backprop · mode: cascade" */
function optionsText(options: Record<string, AnalysisOptionValue>): string {
  return Object.entries(options)
    .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.map(methodTitle).join(", ") : typeof value === "string" ? methodTitle(value) : value}`)
    .join(" · ");
}

/** One analysis of the target: its state while it runs, then its figure, verdicts and downloads. */
class AnalysisCard {
  readonly element: HTMLElement;
  result: AnalysisResult | null = null;
  private readonly run: AnalysisRun;
  private readonly name: string;
  private figures: DrawnFigure[] = [];
  private readonly chart: HTMLElement;
  private readonly options = h("p", { class: "analysis-card__options" });
  private readonly described = h("p", { class: "analysis-card__target" });
  private readonly status = h("div", { class: "analysis-card__status" });
  private readonly body = h("div", { class: "analysis-card__body" });
  private readonly cancelButton: HTMLButtonElement;

  constructor(
    jobId: string,
    info: AnalysisInfo,
    request: AnalysisRequest,
    readonly key: string,
    private readonly hooks: CardHooks,
  ) {
    this.name = info.name;
    this.chart = h("div", { class: "analysis-card__chart", "data-testid": `analysis-chart-${info.name}` });
    this.cancelButton = h("button", { type: "button", class: "button button--secondary button--small", "data-testid": "analysis-cancel" }, "Cancel");
    this.cancelButton.addEventListener("click", () => void this.cancel());
    this.options.textContent = optionsText(request.options);
    this.element = h(
      "article",
      { class: "analysis-card", "data-testid": `analysis-card-${info.name}`, "data-state": "running", "aria-label": `${methodTitle(info.name)} analysis` },
      h("header", { class: "analysis-card__header" }, h("h3", { class: "analysis-card__title", title: info.summary }, methodTitle(info.name)), this.cancelButton),
      this.options,
      this.described,
      this.status,
      this.body,
    );
    this.showState("queued", null);
    const ask = async (): Promise<AnalyzeAnswer & TaskAnswer<AnalysisResult>> => {
      const answer = await requestAnalysis(jobId, request);
      return { ...answer, results: answer.result ? { [info.name]: answer.result } : {} };
    };
    this.run = new TaskRun(ask, {
      answered: (answer) => {
        this.described.textContent = `Target: ${answer.description}`;
        this.hooks.answered();
      },
      progressed: (task) => {
        const state = task.states[this.name];
        if (state === "queued" || state === "running") this.showState(state, task.method_progress[this.name] ?? 0, task.messages[this.name]);
      },
      resultReady: (_, result) => this.show(result),
      resultFailed: (_, failure) => this.fail(failureText(failure)),
      failed: (failure) => {
        const refused = !this.run.task && failure instanceof ApiError && failure.status >= 400 && failure.status < 500;
        if (refused) this.hooks.refused(failure.detail);
        else this.fail(failureText(failure));
      },
      ended: () => {
        this.cancelButton.remove();
        if (this.result) return;
        const task = this.run.task;
        if (task?.states[this.name] === "cancelled") this.settle("cancelled", "Cancelled: nothing was stored");
        else this.fail(task?.messages[this.name] ?? "the analysis did not finish");
      },
    });
  }

  /** Failed or cancelled: running it again starts afresh. */
  get settledWithout(): boolean {
    return ["failed", "cancelled"].includes(this.element.dataset.state ?? "");
  }

  start(): void {
    void this.run.start();
  }

  /** Removes the card; a task still running is cancelled on the server. */
  dispose(): void {
    if (this.run.running) void this.run.cancel().catch(() => undefined);
    this.run.stop();
    for (const figure of this.figures) figure.dispose();
    this.element.remove();
  }

  private async cancel(): Promise<void> {
    this.cancelButton.disabled = true;
    this.status.replaceChildren(h("p", { class: "analysis-card__state" }, "Cancelling…"));
    try {
      await this.run.cancel();
    } catch (failure) {
      this.cancelButton.disabled = false;
      this.status.replaceChildren(h("p", { class: "analysis-card__state analysis-card__state--failed" }, `Could not cancel: ${failureText(failure)}`));
    }
  }

  private showState(state: MethodState, fraction: number | null, message?: string): void {
    if (this.cancelButton.disabled) return;
    const percent = state === "running" && fraction !== null && fraction > 0 ? Math.round(100 * Math.min(1, fraction)) : null;
    const line = h(
      "p",
      { class: "analysis-card__state", "data-testid": `analysis-state-${this.name}` },
      STATE_WORDS[state],
      percent !== null && ` · ${percent} %`,
      message && `: ${message}`,
    );
    const bar = h(
      "div",
      { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent ?? 0), "data-testid": `analysis-progress-${this.name}` },
      h("div", { class: "progress__bar", style: `width: ${percent ?? 0}%` }),
    );
    this.status.replaceChildren(line, bar);
  }

  private settle(state: "failed" | "cancelled", text: string): void {
    this.element.dataset.state = state;
    this.cancelButton.remove();
    this.status.replaceChildren(h("p", { class: `analysis-card__state analysis-card__state--${state}`, "data-testid": `analysis-state-${this.name}` }, text));
    this.hooks.stopped();
  }

  private fail(message: string): void {
    this.settle("failed", `Failed: ${message}`);
  }

  private show(result: AnalysisResult): void {
    this.result = result;
    this.options.textContent = optionsText(result.options);
    const figure = analysisFigure(result, () => this.checkDrawn());
    this.figures = figure.figures;
    this.chart.replaceChildren(figure.element);
    this.status.replaceChildren(h("p", { class: "analysis-card__state" }, "Drawing…"));
    this.body.replaceChildren(this.chart, analysisExports(result.key, this.name));
  }

  /** Ready once every chart has drawn. */
  private checkDrawn(): void {
    if (this.element.dataset.state === "ready" || !this.figures.every((figure) => figure.drawn)) return;
    this.element.dataset.state = "ready";
    this.chart.dataset.state = "ready";
    this.cancelButton.remove();
    this.status.replaceChildren();
    this.hooks.drawn();
  }
}

/** The figure (PNG, SVG, PDF) and the JSON of a finished analysis, rendered by the server from its cache. */
function analysisExports(key: string, name: string): HTMLElement {
  const link = (what: string, format: string | null): HTMLElement =>
    h("a", { href: exportUrl(key, what, format), download: true, "data-testid": `analysis-export-${name}-${format ?? what}` }, (format ?? what).toUpperCase());
  return h(
    "ul",
    { class: "panel-exports", "data-testid": `analysis-exports-${name}`, "aria-label": `downloads of the ${methodTitle(name)} analysis` },
    h("li", { title: "the analysis as a figure" }, h("span", { class: "panel-exports__kind" }, "Figure"), link("figure", "png"), link("figure", "svg"), link("figure", "pdf")),
    h("li", { title: "the numbers of the analysis" }, h("span", { class: "panel-exports__kind" }, "Numbers"), link("json", null)),
  );
}
