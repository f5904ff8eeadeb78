/**
 * The explanation explorer: pick a target (a map cell, a track residue, a row of the influence
 * overview or an internal unit), pick methods and what to attribute to (the model input or a
 * layer's input), and see one panel per method side by side, each drawn the moment its result
 * arrives. The target is marked in every figure through the shared FocusHub; the whole state lives
 * in the URL, so a reload asks again and the server answers from its cache. Below the panels, the
 * analyses of the target (analyses.ts) test its maps; the randomization verdict of a method is
 * shown in its panel's header.
 */

import type { RandomizationResult } from "./analysisApi";
import { failureText, type JobStatus, type ModelInfo } from "./api";
import { lackedInputs } from "./absentInputs";
import { AgreementView } from "./agreement";
import { Analyses } from "./analyses";
import { AttributeTo } from "./attributeTo";
import { AttributionScale, percentile, pooledPercentile, sortedMagnitudes, type ColourSettings } from "./attributionScale";
import { ColourControls } from "./colourControls";
import { h } from "./dom";
import { requestExplanation, type ExplainAnswer, type ExplainRequest, type ExplanationResult, type TaskStatus } from "./explainApi";
import { describeTarget, isUnitTarget, targetFocus, type ExplainTarget, type OutputTarget } from "./explainTarget";
import { readExplorerState, writeExplorerState } from "./explorerState";
import { methodTitle, type StatePair } from "./explorerTypes";
import type { FocusHub } from "./focus";
import { DEFAULT_METHODS, MethodChooser } from "./methodChooser";
import { MethodPanel, type ScaleKind } from "./methodPanel";
import { InfluenceOverview } from "./overview";
import { headLabel } from "./results";
import { TaskRun } from "./taskRun";
import type { ResiduePick } from "./tracks";
import { UnitPicker } from "./unitPicker";
import { residueZoomBar } from "./residueZoomBar";
import { ZoomHub } from "./zoom";

/** A panel's per-residue sums, to colour the structure by; null until its result is in. */
export interface ResidueAttribution {
  method: string;
  label: string;
  values: Float32Array | null;
}

type ExplanationRun = TaskRun<ExplainAnswer, ExplanationResult>;

/** What a request's errors are shown beside: the Explain button or the unit picker. */
type Origin = "explain" | "unit";

const SCALE_KINDS: ScaleKind[] = ["features", "mutagenesis", "pair", "grid"];

/** What each kind of figure colours, for its colour bar. */
const QUANTITY: Record<ScaleKind, string> = {
  features: "attribution",
  mutagenesis: "change of the target when mutated",
  pair: "attribution summed over channels",
  grid: "attribution to the state pair",
};

const TRACK_NAMES: Record<string, string> = { ss3: "SS3", ss8: "SS8", rsa: "RSA", plddt: "pLDDT" };

/** "a, b or c". */
const either = (items: string[]): string => (items.length < 2 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`);

/**
 * The ways this model's page offers to pick a target, in words: only the maps, tracks, overview
 * and layers it has (the 2018 network has distance maps and layers, no contact map or tracks).
 */
function pickingWays(model: ModelInfo | null, overview: boolean): string[] {
  const heads = model?.spec.heads ?? [];
  const maps = [...new Set(heads.filter((head) => head.kind === "pair").map((head) => (head.name.startsWith("dist_") ? "distance" : head.name === "contact" ? "contact" : head.source ? "expected-error" : head.name)))];
  const tracks = heads.filter((head) => head.kind === "per-residue").map((head) => TRACK_NAMES[head.name] ?? head.name);
  return [
    maps.length > 0 && `click a cell of a ${either(maps)} map`,
    tracks.length > 0 && `a residue in the ${either(tracks)} track${tracks.length > 1 ? "s" : ""} (the class under the pointer is explained)`,
    overview && "a row of the influence overview",
    (model?.spec.layers?.length ?? 0) > 0 && "pick an internal unit below",
  ].filter((way): way is string => typeof way === "string");
}

function introText(ways: string[]): string {
  const how = ways.length > 0 ? ` ${either(ways).replace(/^./, (c) => c.toUpperCase())}.` : "";
  return `Which inputs drive a prediction?${how} Each method's attribution to every input feature at every residue (or, under “Attribute to”, to the input of a layer) appears in its own panel; the target is marked in green everywhere.`;
}

export class Explorer {
  readonly element: HTMLElement;
  /** The panel the URL asks to colour the structure by. */
  readonly initialColour3d: string | null;
  private target: ExplainTarget | null;
  private colours: ColourSettings;
  /** The layer whose input is attributed to; null for the model input. */
  private wrt: string | null;
  private wholePairMap: boolean;
  private statePair: StatePair | null;
  /** What the job's input lacks, and whether the feature groups that need it are counted. */
  private readonly lacks: Set<string>;
  private includeAbsent: boolean;
  private run: ExplanationRun | null = null;
  private runKey = "";
  /** Whether the last run got every method; a complete run is not asked for again. */
  private runComplete = false;
  private panels: MethodPanel[] = [];
  /** Runs replaced by a newer request, still computing on the server (see `dropReplaced`). */
  private readonly replaced: ExplanationRun[] = [];
  private readonly attributionListeners: (() => void)[] = [];
  private readonly chooser: MethodChooser;
  private readonly unitPicker: UnitPicker | null;
  private readonly attributeTo: AttributeTo | null;
  private readonly overview: InfluenceOverview | null;
  private readonly analyses: Analyses;
  /** The randomization test of the current target's maps, its verdicts shown in the panels' headers. */
  private verdicts: RandomizationResult | null = null;
  private readonly details: HTMLDetailsElement;
  private readonly description = h("span", { class: "explorer__description", "data-testid": "target-description" });
  private readonly runStatus = h("span", { class: "explorer__run-status", role: "status" });
  private readonly cancelButton = h("button", { type: "button", class: "button button--secondary button--small", "data-testid": "cancel-explain", hidden: true }, "Cancel");
  private readonly explainSlot = h("div", { class: "error-slot" });
  private readonly error = h("p", { class: "error", "data-testid": "explain-error", role: "alert" });
  private readonly panelRow = h("div", { class: "explorer__panels", "aria-live": "polite" });
  private readonly agreementView: AgreementView;
  /** The residues the panels show, shared by them all. */
  private readonly residueZoom: ZoomHub;
  /** How this model's page lets one pick a target, in words. */
  private readonly ways: string[];

  constructor(
    private readonly job: JobStatus,
    model: ModelInfo | null,
    private readonly focus: FocusHub,
  ) {
    const state = readExplorerState(job.length);
    this.target = state.target;
    this.colours = state.colours;
    this.initialColour3d = state.colour3d;
    const methods = model?.methods ?? [];
    const known = new Set(methods.map((method) => method.name));
    const checked = (state.methods ?? DEFAULT_METHODS).filter((name) => known.has(name));
    this.chooser = new MethodChooser(methods, checked, state.options, () =>
      writeExplorerState({ methods: this.chooser.checked(), options: this.chooser.changedTexts() }),
    );
    const layers = model?.spec.layers ?? [];
    this.attributeTo =
      layers.length > 0 ? new AttributeTo(layers, model?.spec.input?.features?.length ?? null, state.wrt, (wrt) => this.setWrt(wrt)) : null;
    this.wrt = this.attributeTo?.value ?? null;
    this.chooser.setLayer(this.wrt);
    // A layer this model does not have (a hand-edited or stale URL) leaves the model input.
    if (state.wrt !== this.wrt) writeExplorerState({ wrt: this.wrt });
    this.wholePairMap = state.wholePairMap;
    this.statePair = state.statePair;
    this.lacks = lackedInputs(job.mode, job.has_structure);
    this.agreementView = new AgreementView(job.sequence, focus);
    this.residueZoom = new ZoomHub(job.length, "rzoom", 1);
    this.includeAbsent = state.includeAbsent;
    this.unitPicker =
      layers.length > 0
        ? new UnitPicker(layers, job.length, state.target && isUnitTarget(state.target) ? state.target : null, () => this.explainUnit())
        : null;
    // The overview batches the network's own heads; pLDDT reads whole rows of a pair map.
    const residueHeads = (model?.spec.heads ?? []).filter((head) => head.kind === "per-residue" && !head.source);
    // The server names the methods that compute all L rows in one pass.
    const singlePass = (model?.overview_methods ?? []).flatMap((name) => methods.filter((method) => method.name === name));
    this.overview =
      residueHeads.length > 0 && singlePass.length > 0
        ? new InfluenceOverview({
            jobId: job.id,
            sequence: job.sequence,
            heads: residueHeads,
            methods: singlePass,
            initial: state.overview,
            colours: this.colours,
            focus,
            onChoice: (overview) => writeExplorerState({ overview }),
            onPickRow: (choice, i) => this.pick(choice.class === null ? { head: choice.head, i } : { head: choice.head, i, class: choice.class }),
          })
        : null;
    this.ways = pickingWays(model, this.overview !== null);
    this.analyses = new Analyses({
      jobId: job.id,
      target: this.target,
      initial: state.analysis,
      onChoice: (analysis) => writeExplorerState({ analysis }),
      onVerdicts: (verdicts) => {
        this.verdicts = verdicts;
        for (const panel of this.panels) panel.setVerdict(verdicts);
      },
    });
    const colourControls = new ColourControls(this.colours, (colours) => {
      this.colours = colours;
      writeExplorerState({ colours });
      this.applyColours();
      this.overview?.setColours(colours);
    });

    this.details = h(
      "details",
      { class: "card explorer", "data-testid": "explorer", open: state.open },
      h("summary", { class: "card__title explorer__summary" }, "Explain a prediction"),
      methods.length === 0 ? h("p", { class: "hint" }, "This server offers no explanations for this model.") : this.content(colourControls),
    );
    this.details.addEventListener("toggle", () => {
      writeExplorerState({ open: this.details.open });
      if (!this.details.open) return;
      this.explainCurrentTarget();
      this.overview?.showInitial();
      this.analyses.showInitial();
    });
    this.element = this.details;
    this.showTarget();
    if (this.target) this.unitPicker?.setResidues(targetFocus(this.target));
    document.body.dataset.explained = "0";
    if (state.open) {
      this.explainCurrentTarget();
      this.overview?.showInitial();
      this.analyses.showInitial();
    }
  }

  /** A map cell was clicked: explain that pair output (at once, while the explorer is open). */
  pickCell(head: string, cell: { i: number; j: number }): void {
    this.pick({ head, i: cell.i, j: cell.j });
  }

  /** A track residue was clicked: explain that residue's output, for class rows that class's logit. */
  pickResidue(pick: ResiduePick): void {
    this.pick(pick.className === null ? { head: pick.head, i: pick.i } : { head: pick.head, i: pick.i, class: pick.className });
  }

  residueAttributions(): ResidueAttribution[] {
    return this.panels.map((panel) => ({
      method: panel.method.name,
      label: methodTitle(panel.method.name),
      values: panel.ready ? panel.residueSum : null,
    }));
  }

  /** Diverging and centred at 0, saturating and stretched like the panels. */
  residueScale(values: Float32Array): AttributionScale {
    return new AttributionScale(percentile(sortedMagnitudes(values), this.colours.clip), true, this.colours.gamma);
  }

  /** Called whenever panels come, go, become ready or change colours. */
  onAttributionsChange(listener: () => void): void {
    this.attributionListeners.push(listener);
  }

  private content(colourControls: ColourControls): HTMLElement {
    const explain = h("button", { type: "button", class: "button button--small", "data-testid": "explain" }, "Explain");
    explain.addEventListener("click", () => this.explain("explain"));
    this.cancelButton.addEventListener("click", () => void this.cancel());
    const fieldset = (legend: string, content: HTMLElement): HTMLElement =>
      h("fieldset", { class: "explorer__fieldset" }, h("legend", {}, legend), content);
    return h(
      "div",
      { class: "explorer__content" },
      h("p", { class: "section-intro", "data-testid": "explorer-intro" }, introText(this.ways)),
      h(
        "div",
        { class: "explorer__target" },
        h("p", { class: "explorer__target-text" }, h("span", { class: "explorer__target-label" }, "Target: "), this.description),
        h("div", { class: "explorer__actions" }, explain, this.cancelButton, this.runStatus),
        this.explainSlot,
      ),
      h(
        "div",
        { class: "explorer__controls" },
        fieldset("Methods", this.chooser.element),
        h(
          "div",
          { class: "explorer__side" },
          this.attributeTo && fieldset("Attribute to", this.attributeTo.element),
          this.unitPicker && fieldset("Internal unit", this.unitPicker.element),
          fieldset("Colours", colourControls.element),
        ),
      ),
      this.overview?.element,
      residueZoomBar(this.residueZoom, this.focus),
      this.panelRow,
      this.agreementView.element,
      this.analyses.element,
    );
  }

  /** Explains the current target, if any (a repeated identical request is not sent again). */
  private explainCurrentTarget(): void {
    if (this.target && this.chooser.methods.length > 0) this.explain(isUnitTarget(this.target) ? "unit" : "explain");
  }

  private pick(target: OutputTarget): void {
    this.setTarget(target);
    this.unitPicker?.setResidues(targetFocus(target));
    if (this.details.open) this.explainCurrentTarget();
  }

  /** A new choice of what to attribute to: the current target is explained again. */
  private setWrt(wrt: string | null): void {
    this.wrt = wrt;
    this.chooser.setLayer(wrt);
    writeExplorerState({ wrt });
    this.showTarget();
    if (this.details.open) this.explainCurrentTarget();
  }

  private setTarget(target: ExplainTarget): void {
    this.target = target;
    writeExplorerState({ target });
    this.showTarget();
    this.analyses.setTarget(target);
  }

  /** Marks the target everywhere and says it in words until the server's description arrives. */
  private showTarget(): void {
    this.focus.setTarget(this.target && targetFocus(this.target));
    const layer = this.wrt === null ? "" : `, attributed to the input of layer ${this.wrt}`;
    this.description.textContent = this.target ? `${describeTarget(this.target, this.job.sequence, headLabel)}${layer}` : "none yet";
  }

  private explainUnit(): void {
    const unit = this.unitPicker?.target();
    if (!unit) return;
    if ("invalid" in unit) {
      this.showError("unit", unit.invalid);
      return;
    }
    this.setTarget(unit);
    this.explain("unit");
  }

  private explain(origin: Origin): void {
    this.clearError();
    if (!this.target) return this.showError(origin, `Pick a target first: ${either(this.ways)}.`);
    const methods = this.chooser.requested();
    if (methods.length === 0) {
      const layer = this.wrt !== null && this.chooser.checked().length > 0;
      return this.showError(origin, layer ? `None of the checked methods can attribute to the input of layer ${this.wrt}; check another.` : "Check at least one method.");
    }
    const options = this.chooser.options();
    if ("invalid" in options) return this.showError(origin, options.invalid);
    const request: ExplainRequest = { target: this.target, methods, options: options.options, ...(this.wrt === null ? {} : { wrt: this.wrt }) };
    const key = JSON.stringify(request);
    if (key === this.runKey && (this.run?.running || this.runComplete)) return;

    if (this.run?.running) this.replaced.push(this.run);
    this.run?.stop();
    this.runKey = key;
    this.runComplete = false;
    this.replacePanels(methods);
    this.cancelButton.hidden = false;
    this.cancelButton.disabled = false;
    this.runStatus.textContent = "Asking the server…";
    const run: ExplanationRun = new TaskRun(() => requestExplanation(this.job.id, request), {
      answered: (answer) => {
        this.dropReplaced(answer.task);
        this.description.textContent = answer.description;
      },
      progressed: (task) => this.showProgress(task),
      resultReady: (method, result) => {
        this.panelFor(method)?.show(result);
        this.applyColours();
      },
      resultFailed: (method, failure) => this.panelFor(method)?.setState("failed", null, failureText(failure)),
      failed: (failure) => {
        if (!run.task) this.dropReplaced(null);
        this.cancelButton.hidden = true;
        this.runStatus.textContent = "";
        if (!run.task) this.replacePanels([]);
        for (const panel of this.panels) if (!panel.result) panel.setState("failed", null, "the request was interrupted");
        this.showError(origin, failureText(failure));
      },
      ended: () => {
        this.cancelButton.hidden = true;
        this.runComplete = this.panels.every((panel) => panel.result !== null);
        this.showCount();
      },
    });
    this.run = run;
    void run.start();
  }

  /** The server stops at its next checkpoint; until the task reports it, the button stays disabled. */
  private async cancel(): Promise<void> {
    this.cancelButton.disabled = true;
    this.runStatus.textContent = "Cancelling…";
    try {
      await this.run?.cancel();
    } catch (failure) {
      this.cancelButton.disabled = false;
      this.showError("explain", `Could not cancel: ${failureText(failure)}`);
    }
  }

  /**
   * Cancels the runs a newer request replaced, whose methods the server need not finish. The server
   * shares one task between requests that compute the same, so a replaced run is cancelled only when
   * the newest answer shows that its task is not the one the new request follows too.
   */
  private dropReplaced(kept: TaskStatus | null): void {
    for (const run of this.replaced.splice(0)) {
      if (!kept || run.task?.id !== kept.id) void run.cancel().catch(() => undefined);
    }
  }

  private panelFor(method: string): MethodPanel | undefined {
    return this.panels.find((panel) => panel.method.name === method);
  }

  private replacePanels(methods: string[]): void {
    for (const panel of this.panels) panel.dispose();
    const context = {
      focus: this.focus,
      sequence: this.job.sequence,
      hasStructure: this.job.has_structure,
      wholePairMap: () => this.wholePairMap,
      statePair: () => this.statePair,
      onReadyChange: () => this.showCount(),
      onWholePairMapChange: (whole: boolean) => {
        this.wholePairMap = whole;
        writeExplorerState({ wholePairMap: whole });
        for (const panel of this.panels) panel.setWholePairMap(whole);
      },
      onStatePairChange: (pair: StatePair) => {
        this.statePair = pair;
        writeExplorerState({ statePair: pair });
        for (const panel of this.panels) panel.showStatePair(pair);
      },
      lacks: this.lacks,
      residueZoom: this.residueZoom,
      includeAbsent: () => this.includeAbsent,
      onIncludeAbsentChange: (include: boolean) => {
        this.includeAbsent = include;
        writeExplorerState({ includeAbsent: include });
        for (const panel of this.panels) panel.countAbsent();
        this.applyColours();
        this.showAgreement();
      },
    };
    this.panels = this.chooser.methods.filter((method) => methods.includes(method.name)).map((method) => new MethodPanel(method, context));
    for (const panel of this.panels) panel.setVerdict(this.verdicts);
    this.panelRow.replaceChildren(...this.panels.map((panel) => panel.element));
    this.showCount();
  }

  /** Per-method state and progress from the task. */
  private showProgress(task: TaskStatus): void {
    for (const [method, state] of Object.entries(task.states)) {
      const fraction = state === "running" ? (task.method_progress[method] ?? 0) : null;
      this.panelFor(method)?.setState(state, fraction, task.messages[method]);
    }
    if (task.status === "running" && !this.cancelButton.disabled) {
      this.runStatus.textContent = `${this.readyCount()} of ${this.panels.length} ready · ${Math.round(100 * task.progress)} % computed`;
    }
  }

  private readyCount(): number {
    return this.panels.filter((panel) => panel.ready).length;
  }

  /** The ready signal tests wait on, and the line beside the button. */
  private showCount(): void {
    const ready = this.readyCount();
    document.body.dataset.explained = String(ready);
    if (this.cancelButton.hidden && this.panels.length > 0) {
      const failed = this.panels.filter((panel) => ["failed", "cancelled"].includes(panel.element.dataset.state ?? "")).length;
      this.runStatus.textContent = `${ready} of ${this.panels.length} ready${failed > 0 ? `, ${failed} failed or cancelled` : ""}`;
    }
    this.showAgreement();
    for (const listener of this.attributionListeners) listener();
  }

  private showAgreement(): void {
    this.agreementView.update(
      this.panels.flatMap((panel) => (panel.ready && panel.residueMagnitude ? [{ method: panel.method.name, magnitude: panel.residueMagnitude }] : [])),
    );
  }

  /** Scales per panel, or pooled over the panels of a kind when the scale is shared. */
  private applyColours(): void {
    const { signed, shared, clip, gamma } = this.colours;
    for (const kind of SCALE_KINDS) {
      const group = this.panels.flatMap((panel) => {
        const magnitudes = panel.magnitudes(kind);
        return magnitudes === null ? [] : [{ panel, magnitudes }];
      });
      if (group.length === 0) continue;
      const pooled = shared ? pooledPercentile(group.map((member) => member.magnitudes), clip) : null;
      const quantity = QUANTITY[kind];
      const title = `${signed ? quantity : `|${quantity}|`}; saturates at the ${clip}th percentile of |value|${shared ? " over all panels" : ""}${gamma === 1 ? "" : `, gamma ${gamma}`}`;
      for (const { panel, magnitudes } of group) {
        const limit = pooled ?? percentile(magnitudes, clip);
        panel.setScale(kind, new AttributionScale(limit, signed, gamma), title);
      }
    }
    for (const listener of this.attributionListeners) listener();
  }

  private showError(origin: Origin, message: string): void {
    this.error.textContent = message;
    (origin === "unit" && this.unitPicker ? this.unitPicker.errorSlot : this.explainSlot).append(this.error);
  }

  private clearError(): void {
    this.error.remove();
  }
}
