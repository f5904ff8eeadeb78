/**
 * The result page of one job: waits for the job while it runs, then lays out the predicted maps, the
 * alignment and its coevolution map (when the job had one), the comparison with a known structure,
 * the per-residue tracks, the 3D view and the downloads. Every figure shares one FocusHub, so
 * pointing at anything highlights the same residues everywhere.
 */

import {
  ApiError,
  getCouplings,
  getJob,
  getPredictions,
  getStructurePdb,
  getTruth,
  listModels,
  type CouplingMap,
  type JobStatus,
  type ModelInfo,
  type Truth,
} from "./api";
import { ColorScale, VIRIDIS, differenceScale, distanceScale, probabilityScale } from "./colormaps";
import { alignmentSection } from "./alignmentSection";
import { h, section } from "./dom";
import { downloadsSection } from "./downloads";
import { Explorer } from "./explorer";
import { FocusHub } from "./focus";
import { Heatmap } from "./heatmap";
import { DISTANCE_CAP, contactPrecision, distanceErrors } from "./metrics";
import { buildResult, headLabel, resolveTrack, type PairMap, type ResidueHead, type ResidueTrack, type ResultData } from "./results";
import { readViewState, writeViewState } from "./state";
import { structureModelSection } from "./structureModelSection";
import { initialColorTrack, structureSection } from "./structureSection";
import { currentSubmission, deleteSubmission, tokenFor } from "./submissions";
import { Tracks, type TrackRow } from "./tracks";
import { formatDifference, formatPairValue, residueName, scalarValue, shortPairLabel, topClass, trueDssp, ValuesPanel } from "./values";
import { StructureViewer } from "./viewer3d";
import { ZoomHub } from "./zoom";

const POLL_INTERVAL_MS = 300;
const RETRY_INTERVAL_MS = 2000;
const DISTANCE_TICKS = [0, 4, 8, 12, 16, 20];
const PROBABILITY_TICKS = [0, 0.25, 0.5, 0.75, 1];

/** Anything drawn on canvas that must be measured once it is in the page. */
interface Figure {
  layout(): boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => window.setTimeout(resolve, ms));

export function renderResultPage(root: HTMLElement, id: string): void {
  const page = h("div", { class: "result", "data-state": "loading" });
  const header = h("section", { class: "card job-header" }, h("h1", { class: "page-title" }, "Loading job…"));
  const status = h("div", { class: "status" });
  page.append(header, status);
  root.replaceChildren(page);
  window.addEventListener("viewstatechange", () => {
    const permalink = header.querySelector<HTMLInputElement>("#permalink");
    if (permalink) permalink.value = window.location.href;
  });
  void follow(id, page, header, status);
}

async function follow(id: string, page: HTMLElement, header: HTMLElement, status: HTMLElement): Promise<void> {
  let job: JobStatus;
  let shownStatus: string | null = null;
  for (;;) {
    try {
      job = await getJob(id, currentSubmission());
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) {
        showMissing(page, header, status, failure.detail);
        return;
      }
      status.replaceChildren(errorBox(`${describe(failure)} Retrying…`));
      await sleep(RETRY_INTERVAL_MS);
      continue;
    }
    if (job.status !== shownStatus) renderHeader(header, job);
    shownStatus = job.status;
    page.dataset.state = job.status;
    if (job.status === "done") break;
    if (job.status === "failed") {
      status.replaceChildren(
        errorBox(`The prediction failed: ${job.message ?? "no reason was given."}`),
        h("p", {}, h("a", { class: "button", href: `/?from=${encodeURIComponent(job.id)}` }, "Try again")),
      );
      return;
    }
    status.replaceChildren(progressBox(job));
    await sleep(POLL_INTERVAL_MS);
  }

  status.replaceChildren(h("p", { class: "hint" }, "Loading the predictions…"));
  try {
    const [predictions, truth, pdb, model, couplings] = await Promise.all([
      getPredictions(job.id),
      job.has_structure ? getTruth(job.id) : Promise.resolve(null as Truth | null),
      job.has_structure ? getStructurePdb(job.id) : Promise.resolve(null),
      modelInfo(job.model),
      job.alignment?.couplings.fitted ? getCouplings(job.id) : Promise.resolve(null),
    ]);
    status.replaceChildren();
    renderDone(page, job, buildResult(predictions, truth, model?.spec ?? null), pdb, model, couplings);
  } catch (failure) {
    page.dataset.state = "failed";
    status.replaceChildren(errorBox(`The results could not be loaded: ${describe(failure)}`));
  }
}

/**
 * The model's spec names and describes its heads, and its method list drives the explorer; the page
 * still shows the predictions from their keys without it.
 */
async function modelInfo(name: string): Promise<ModelInfo | null> {
  try {
    return (await listModels()).find((model) => model.name === name) ?? null;
  } catch {
    return null;
  }
}

function describe(failure: unknown): string {
  return failure instanceof ApiError ? failure.detail : failure instanceof Error ? failure.message : String(failure);
}

function errorBox(message: string): HTMLElement {
  return h("p", { class: "error", "data-testid": "error", role: "alert" }, message);
}

function showMissing(page: HTMLElement, header: HTMLElement, status: HTMLElement, detail: string): void {
  page.dataset.state = "missing";
  document.title = "No such job · foldlens";
  header.replaceChildren(h("h1", { class: "page-title" }, "No such job"));
  status.replaceChildren(
    errorBox(detail),
    h("p", {}, "The link may be mistyped, or the job was removed from this server. ", h("a", { href: "/" }, "Start a new prediction"), "."),
  );
}

/** "waiting in the queue: next (about 20 s)" from the job's place and the server's estimate. */
function queueText(job: JobStatus): string {
  const place = job.queue_position;
  if (place === null) return "waiting in the queue";
  const where = place === 1 ? "next in line" : `${place - 1} ahead in line`;
  const wait = job.estimated_wait;
  if (wait === null) return `waiting in the queue: ${where}`;
  const about = wait < 90 ? `${Math.max(1, Math.round(wait))} s` : `${Math.round(wait / 60)} min`;
  return `waiting in the queue: ${where} (about ${about})`;
}

function progressBox(job: JobStatus): HTMLElement {
  const percent = Math.round(100 * Math.min(1, Math.max(0, job.progress)));
  const stage = job.status === "queued" ? queueText(job) : (job.stage || "running");
  return h(
    "div",
    { class: "card progress-card" },
    h(
      "div",
      {
        class: "progress",
        "data-testid": "progress",
        role: "progressbar",
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": String(percent),
        "aria-valuetext": `${percent}%, ${stage}`,
      },
      h("div", { class: "progress__bar", style: `width: ${percent}%` }),
    ),
    h("p", { class: "progress__stage" }, `${percent}% · ${stage}`),
  );
}

/** A "Delete" button when this browser holds the token of the submission the page shows. */
function deleteButton(job: JobStatus): HTMLElement[] {
  const submission = job.submission;
  const token = tokenFor(job.id, submission);
  if (submission === null || token === null) return [];
  const button = h(
    "button",
    { type: "button", class: "button button--secondary button--small", "data-testid": "delete-job", title: "Delete your submission; the job goes too unless someone else submitted it" },
    "Delete",
  );
  button.addEventListener("click", async () => {
    if (!window.confirm("Delete this prediction? The link will stop working for you.")) return;
    button.disabled = true;
    try {
      await deleteSubmission(job.id, submission, token);
      window.location.assign("/");
    } catch (failure) {
      button.disabled = false;
      button.textContent = `Not deleted: ${describe(failure)}`;
    }
  });
  return [button];
}

function renderHeader(header: HTMLElement, job: JobStatus): void {
  document.title = `${job.name} · foldlens`;
  const permalink = h("input", {
    id: "permalink",
    class: "permalink__url",
    "data-testid": "permalink",
    readonly: true,
    value: window.location.href,
  });
  const copy = h("button", { type: "button", class: "button button--secondary button--small" }, "Copy");
  copy.addEventListener("click", async () => {
    permalink.select();
    try {
      await navigator.clipboard.writeText(permalink.value);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Press Ctrl+C";
    }
    window.setTimeout(() => (copy.textContent = "Copy"), 1500);
  });

  const meta = (term: string, value: string): HTMLElement => h("div", {}, h("dt", {}, term), h("dd", {}, value));
  header.replaceChildren(
    h("div", { class: "job-header__title" },
      h("h1", { class: "page-title" }, job.name),
      h("span", { class: `badge badge--${job.status}` }, job.status),
    ),
    h("dl", { class: "job-meta" },
      meta("Length", `${job.length} residues`),
      meta("Model", `${job.model} (${job.model_version})`),
      meta("Mode", modeText(job)),
      meta("Known structure", job.has_structure ? "yes, compared below" : "none given"),
    ),
    h("div", { class: "permalink" }, h("label", { for: "permalink" }, "Permalink"), permalink, copy, ...deleteButton(job)),
  );
}

/** The prediction mode as the header says it: where a profile came from, or that there was none. */
function modeText(job: JobStatus): string {
  const alignment = job.alignment;
  if (job.mode === "profile") {
    if (alignment?.source === "search") return `profile (searched MSA, Neff ${alignment.neff.toFixed(1)})`;
    return alignment ? `profile (uploaded MSA, Neff ${alignment.neff.toFixed(1)})` : "profile (from an alignment)";
  }
  if (job.search && job.status !== "done") return "searching for an MSA first";
  if (alignment && alignment.why.includes("reads no profile")) return "single sequence (this model reads no profile)";
  if (alignment?.source === "search") return `single sequence: the searched MSA is too shallow (Neff ${alignment.neff.toFixed(1)})`;
  return "single sequence (weaker than with an alignment)";
}

function renderDone(
  page: HTMLElement,
  job: JobStatus,
  data: ResultData,
  pdb: string | null,
  model: ModelInfo | null,
  couplings: CouplingMap | null,
): void {
  const view = readViewState(data.length);
  const focus = new FocusHub((selection) => writeViewState({ selection }));
  focus.setSelection(view.selection);
  const explorer = new Explorer(job, model, focus);
  const pick = (map: PairMap) => (cell: { i: number; j: number }) => explorer.pickCell(map.key, cell);
  // One zoom for every L × L map of the page: zooming or panning one moves them all.
  const zoom = new ZoomHub(data.length, "zoom");
  const figures: Figure[] = [];
  const main = h("div", { class: "result-main" });

  const distanceMaps = data.pairMaps.filter((map) => map.kind === "distance");
  if (distanceMaps.length > 0) {
    const maps = distanceMaps.map((map) => predictedMap(map, data, focus, pick(map), zoom));
    figures.push(...maps);
    main.append(
      section(
        "Predicted distance maps",
        h("p", { class: "section-intro" }, "Distances between residues i (rows) and j (columns); bright = close. Click a cell to pin it and explain it (below)."),
        h("div", { class: "figure-grid" }, ...maps.map((map) => map.element)),
      ),
    );
  }

  const otherMaps = data.pairMaps.filter((map) => map.kind !== "distance");
  if (otherMaps.length > 0) {
    const maps = otherMaps.map((map) => predictedMap(map, data, focus, pick(map), zoom));
    figures.push(...maps);
    const contact = otherMaps.find((map) => map.key === "contact");
    main.append(
      section(
        contact ? "Contacts" : "Other pair outputs",
        h("div", { class: "figure-grid" }, ...maps.map((map) => map.element), contact && contactSummary(contact, data)),
      ),
    );
  }

  if (job.alignment) main.append(alignmentSection(job.alignment, couplings, data, focus, figures, zoom));

  const comparable = distanceMaps.filter((map) => data.truth?.maps.has(map.key));
  if (comparable.length > 0) main.append(comparisonSection(comparable, data, focus, view.compare, figures, zoom));

  const rows = trackRows(data);
  const tracks = new Tracks({
    sequence: data.sequence,
    rows: rows.map(({ row }) => row),
    focus,
    describe: (i) => describeResidue(data, i),
    onPick: (residue) => explorer.pickResidue(residue),
  });
  figures.push(tracks);
  main.append(
    section(
      "Per-residue predictions",
      h("p", { class: "section-intro" }, trackIntro(rows.map(({ explanation }) => explanation))),
      tracks.element,
    ),
    explorer.element,
  );

  const colorTracks = job.tracks.map((name) => resolveTrack(name, data)).filter((t): t is ResidueTrack => t !== null);
  const initialColor = initialColorTrack(colorTracks, view.color);
  let viewer: StructureViewer | null = null;
  if (pdb) {
    viewer = new StructureViewer(pdb, focus);
    main.append(
      structureSection({ viewer, tracks: colorTracks, length: data.length, initialTrack: initialColor, explorer, initialPanel: explorer.initialColour3d }),
    );
  }

  // Predictions carry the expected-error map exactly when the model's distances are distograms.
  if (data.confidence) {
    main.append(
      structureModelSection({
        jobId: job.id,
        length: data.length,
        confidence: data.confidence,
        tracks: colorTracks,
        focus,
        zoom,
        hasKnownStructure: pdb !== null,
        onPickPair: (cell) => explorer.pickCell("pae", cell),
      }),
    );
  }

  // The 3D model's files exist once it is built; its section offers them then.
  const downloads = job.exports.filter((item) => item.what !== "model3d");
  main.append(section("Downloads", downloadsSection(downloads, initialColor)));

  page.append(h("div", { class: "result-layout" }, main, new ValuesPanel(data, focus).element));
  const allDrawn = figures.map((figure) => figure.layout()).every(Boolean);
  viewer?.start();
  requestAnimationFrame(() => {
    page.dataset.state = allDrawn ? "ready" : "done";
    if (allDrawn) document.body.dataset.ready = "true";
  });
}

function predictedMap(map: PairMap, data: ResultData, focus: FocusHub, onPick: (cell: { i: number; j: number }) => void, zoom: ZoomHub): Heatmap {
  const isDistance = map.kind === "distance";
  const trueContacts = map.key === "contact" ? (data.truth?.contacts ?? null) : null;
  const scale = isDistance ? distanceScale() : map.kind === "probability" ? probabilityScale() : valueScale(map);
  return new Heatmap({
    testId: `map-${map.key}`,
    title: map.label,
    subtitle: isDistance ? "predicted" : map.meaning || undefined,
    values: map.values,
    length: data.length,
    scale,
    colorBar: isDistance
      ? { title: "distance (Å); ≥ 22 Å darkest", ticks: DISTANCE_TICKS }
      : map.kind === "probability"
        ? { title: map.key === "contact" ? "contact probability (Cβ–Cβ < 8 Å)" : "probability", ticks: PROBABILITY_TICKS }
        : { title: map.units || "value", ticks: [scale.min, scale.max], format: (v) => v.toPrecision(3) },
    markers: trueContacts,
    markerLegend: "true contacts (Cβ–Cβ < 8 Å, from the known structure), marked in the lower triangle",
    focus,
    describe: (i, j) => `${pairName(data, i, j)} · ${shortPairLabel(map)} ${formatPairValue(map, map.values[i * data.length + j]!)}${
      trueContacts ? ` · true: ${trueContacts[i * data.length + j] ? "contact" : "no contact"}` : ""
    }`,
    onPick,
    zoom,
  });
}

/** A pair map whose units the page does not know: spread the colours over its own range. */
function valueScale(map: PairMap): ColorScale {
  let min = Infinity;
  let max = -Infinity;
  for (const value of map.values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return new ColorScale(VIRIDIS, min, max > min ? max : min + 1);
}

const pairName = (data: ResultData, i: number, j: number): string =>
  `${residueName(data.sequence, i)} – ${residueName(data.sequence, j)}`;

function contactSummary(contact: PairMap, data: ResultData): HTMLElement {
  const contacts = data.truth?.contacts;
  const intro = h("p", {}, "Probability that residues i and j are in contact: their Cβ atoms closer than 8 Å.");
  if (!contacts) return h("div", { class: "figure-note" }, intro);
  const rows = contactPrecision(contact.values, contacts, data.length).map(({ label, precision }) =>
    h("tr", {}, h("th", { scope: "row" }, `top ${label}`), h("td", {}, Number.isNaN(precision) ? "n/a" : precision.toFixed(2))),
  );
  return h(
    "div",
    { class: "figure-note" },
    intro,
    h("p", { class: "summary-title" }, "Precision of the most probable contacts with |i − j| ≥ 6"),
    h("table", { class: "summary-table" }, h("tbody", {}, ...rows)),
  );
}

function comparisonSection(
  comparable: PairMap[],
  data: ResultData,
  focus: FocusHub,
  requested: string | null,
  figures: Figure[],
  zoom: ZoomHub,
): HTMLElement {
  const preferred = comparable.find((map) => map.key === requested) ?? comparable.find((map) => map.key === "dist_cb_cb") ?? comparable[0]!;
  const select = h("select", { id: "compare-map", "data-testid": "compare-map" });
  select.append(...comparable.map((map) => new Option(map.label, map.key, false, map === preferred)));
  const grid = h("div", { class: "figure-grid" });
  const stats = h("p", { class: "section-intro" });
  let shown: Heatmap[] = [];

  const show = (map: PairMap): Heatmap[] => {
    for (const old of shown) old.dispose();
    const truth = data.truth!.maps.get(map.key)!;
    const difference = map.values.map((value, cell) => value - Math.min(truth[cell]!, DISTANCE_CAP));
    const errors = distanceErrors(map.values, truth, data.length);
    stats.textContent = `${map.label}: mean |predicted − true| = ${errors.all.toFixed(2)} Å over all pairs (true distances capped at ${DISTANCE_CAP} Å, the largest the distogram can predict), ${errors.near.toFixed(2)} Å over pairs closer than 15 Å in the structure.`;
    const label = shortPairLabel(map);
    shown = [
      new Heatmap({
        testId: "map-truth",
        title: label,
        subtitle: "true, from the structure",
        values: truth,
        length: data.length,
        scale: distanceScale(),
        colorBar: { title: "distance (Å); grey = atom missing from the structure", ticks: DISTANCE_TICKS },
        focus,
        describe: (i, j) => `${pairName(data, i, j)} · true ${label} ${formatPairValue(map, truth[i * data.length + j]!)}`,
        zoom,
      }),
      new Heatmap({
        testId: "map-difference",
        title: label,
        subtitle: "predicted − true",
        values: difference,
        length: data.length,
        scale: differenceScale(),
        colorBar: { title: `difference (Å), true distances capped at ${DISTANCE_CAP} Å; red = predicted too far, blue = too close`, ticks: [-10, -5, 0, 5, 10], format: (v) => (v > 0 ? `+${v}` : String(v)) },
        focus,
        describe: (i, j) => `${pairName(data, i, j)} · ${label} predicted − true = ${formatDifference(difference[i * data.length + j]!)}`,
        zoom,
      }),
    ];
    grid.replaceChildren(...shown.map((map) => map.element));
    return shown;
  };

  figures.push(...show(preferred));
  select.addEventListener("change", () => {
    const map = comparable.find((m) => m.key === select.value)!;
    for (const figure of show(map)) figure.layout();
    writeViewState({ compare: map.key });
  });

  return section(
    "Comparison with the known structure",
    h("div", { class: "controls" }, h("label", { for: "compare-map" }, "Map"), select),
    stats,
    grid,
  );
}

function shortTrackLabel(key: string): string {
  return key === "rsa" ? "RSA" : key.toUpperCase();
}

/** Class probabilities first, the true DSSP right under them for comparison, then scalar tracks. */
const TRACK_ORDER: TrackRow["kind"][] = ["stacked", "heat", "categories", "bars"];
const TRUE_DSSP = "DSSP (true)";

function trackRow(head: ResidueHead): TrackRow {
  const label = shortTrackLabel(head.key);
  const common = { label, head: head.key };
  if (head.classes && head.classes.length <= 3) return { kind: "stacked", ...common, classes: head.classes, values: head.values };
  if (head.classes) return { kind: "heat", ...common, classes: head.classes, values: head.values, scale: probabilityScale() };
  let max = 1;
  for (const value of head.values) if (value > max) max = Math.ceil(value);
  return { kind: "bars", ...common, values: head.values, max };
}

/** The rows in display order, each with the sentence that explains it. */
function trackRows(data: ResultData): { row: TrackRow; explanation: string }[] {
  const rows = data.residueHeads.map((head) => ({
    row: trackRow(head),
    explanation: `${shortTrackLabel(head.key)}: ${headLabel(head.key).toLowerCase()}${head.classes ? " (class probabilities)" : ""}`,
  }));
  if (data.truth?.dssp) {
    rows.push({
      row: { kind: "categories", label: TRUE_DSSP, letters: data.truth.dssp },
      explanation: `${TRUE_DSSP}: secondary structure assigned by DSSP to the known structure`,
    });
  }
  return rows.sort((a, b) => TRACK_ORDER.indexOf(a.row.kind) - TRACK_ORDER.indexOf(b.row.kind));
}

function trackIntro(explanations: string[]): string {
  if (explanations.length === 0) return "This model predicts no per-residue values; the sequence is shown for reference.";
  return `One column per residue. ${explanations.join("; ")}.`;
}

function describeResidue(data: ResultData, i: number): string {
  const parts = [residueName(data.sequence, i)];
  for (const head of data.residueHeads) {
    parts.push(`${shortTrackLabel(head.key)} ${head.classes ? topClass(head, i) : scalarValue(head, i)}`);
  }
  const dssp = trueDssp(data, i);
  if (dssp) parts.push(`DSSP ${dssp}`);
  return parts.join(" · ");
}
