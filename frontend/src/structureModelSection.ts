/**
 * The 3D model folded from the predicted distograms, built on demand (it takes seconds, so a plain
 * prediction does not wait for it) and kept by the server once built. Shown as AlphaFold DB shows
 * its models: the cartoon coloured by predicted lDDT in four bands, the expected-error map beside it
 * (a click explains a cell; a drag picks the residues whose relative placement you are asking about,
 * which stay coloured in 3D while the rest turns pale). The pLDDT itself is a track among the
 * per-residue predictions. With a known structure, the model is superposed on it and scored by
 * TM-score and lDDT.
 */

import { requestJson } from "./api";
import { ColorScale, GREENS, VIRIDIS } from "./colormaps";
import { h, section } from "./dom";
import type { TaskStatus } from "./explainApi";
import type { FocusHub } from "./focus";
import { Heatmap, type Region } from "./heatmap";
import type { ConfidenceData, ResidueTrack } from "./results";
import { writeQuery } from "./state";
import { TaskRun } from "./taskRun";
import { StructureViewer, type ResidueColours } from "./viewer3d";
import type { ZoomHub } from "./zoom";

/** AlphaFold DB's confidence bands: lowest pLDDT, name, colour (from the top). */
export const PLDDT_BANDS: readonly [number, string, string][] = [
  [90, "very high", "#0053d6"],
  [70, "confident", "#65cbf3"],
  [50, "low", "#ffdb13"],
  [0, "very low", "#ff7d45"],
];

const PLDDT = "plddt";
const POSITION = "position";
/** Query parameter that keeps the 3D model open in a shared link. */
const OPEN_PARAMETER = "model3d";

export function bandOf(plddt: number): [number, string, string] {
  return PLDDT_BANDS.find(([lowest]) => plddt >= lowest) ?? PLDDT_BANDS[PLDDT_BANDS.length - 1]!;
}

const hexOf = (colour: string): number => Number.parseInt(colour.slice(1), 16);

/** pLDDT → its band's colour, for the cartoon. */
const BAND_COLOURS: ResidueColours = {
  hex: (value) => (Number.isNaN(value) ? 0xc8c8c8 : hexOf(bandOf(value)[2])),
};

interface StructureModel {
  pdb: string;
  plddt: number[];
  summary: { mean_plddt: number; plddt_calibrated: boolean; negative_log_likelihood: number; other_hand_negative_log_likelihood: number };
  comparison: { tm_score: number; lddt: number; superposed_pdb: string } | null;
  seconds: number;
}

interface StructureModelAnswer {
  result: StructureModel | null;
  task: TaskStatus | null;
}

export interface StructureModelOptions {
  jobId: string;
  length: number;
  confidence: ConfidenceData;
  tracks: ResidueTrack[];
  focus: FocusHub;
  /** The zoom the page's maps share. */
  zoom: ZoomHub;
  /** Whether the job has a known structure: the model is then superposed on it and scored. */
  hasKnownStructure: boolean;
  /** Explains a clicked cell of the expected-error map. */
  onPickPair: (cell: { i: number; j: number }) => void;
}

const REGION_HINT = "Click a cell to explain its expected error; drag across the map to pick residues i × j for the 3D view (a click clears them).";

export function structureModelSection(options: StructureModelOptions): HTMLElement {
  const { confidence, focus, length } = options;
  const modelSlot = h("div", { class: "model3d", "data-testid": "model3d" });
  const downloadsSlot = h("div", {});
  const start = h("button", { type: "button", class: "button", "data-testid": "build-model3d" }, "Show the 3D model");
  const compared = options.hasKnownStructure ? " It is then scored against the known structure." : "";
  const status = h("p", { class: "hint", "data-testid": "model3d-status" }, `Folded from the distance distributions on request: a few seconds for 300 residues, kept once built.${compared}`);
  modelSlot.append(h("div", { class: "controls" }, start, status));

  let viewer: StructureViewer | null = null;
  let emphasis: Set<number> | null = null;
  const regionHint = h("p", { class: "hint", "data-testid": "pae-region" }, REGION_HINT);
  const pae = new Heatmap({
    testId: "pae-map",
    title: "Expected distance error",
    subtitle: "expected |error| of the predicted Cβ–Cβ distance, read from its distogram",
    values: confidence.pae,
    length,
    scale: new ColorScale(GREENS, 0, Math.max(10, ...confidence.pae)),
    colorBar: { title: "Å", ticks: [0, 5, 10] },
    focus,
    describe: (i, j) => `residues ${i + 1} × ${j + 1}: expected error ${confidence.pae[i * length + j]!.toFixed(2)} Å`,
    onPick: options.onPickPair,
    zoom: options.zoom,
    onRegion: (picked: Region | null) => {
      emphasis = picked ? regionResidues(picked) : null;
      viewer?.emphasize(emphasis);
      regionHint.textContent = picked
        ? `Residues ${picked.rows[0] + 1}–${picked.rows[1] + 1} × ${picked.cols[0] + 1}–${picked.cols[1] + 1} stay coloured in 3D; a click on the map clears them.`
        : REGION_HINT;
    },
  });

  const build = (): void => {
    start.disabled = true;
    writeQuery({ [OPEN_PARAMETER]: "1" });
    followBuild(options.jobId, status, (model) => {
      start.remove();
      viewer = new StructureViewer(model.pdb, focus);
      if (model.comparison) viewer.addReference(model.comparison.superposed_pdb);
      modelSlot.append(modelView(viewer, model, options));
      downloadsSlot.append(modelDownloads(options.jobId));
      const shown = viewer;
      requestAnimationFrame(() => {
        shown.start();
        shown.emphasize(emphasis);
      });
    });
  };
  start.addEventListener("click", build);
  if (new URLSearchParams(window.location.search).get(OPEN_PARAMETER) === "1") queueMicrotask(build);
  requestAnimationFrame(() => pae.layout());
  return section(
    "Predicted 3D model and its confidence",
    h(
      "p",
      { class: "section-intro" },
      "A reading of the distograms, not a physics-refined model: Cα positions, then rigid residues with ideal geometry, " +
        "optimised against the four predicted distance distributions from several starts; the mirror image is ruled out by the Cβ maps. " +
        "Colours give the predicted lDDT in AlphaFold DB's bands. The pLDDT track and this map are read out of the distograms, so they can be explained like any output; the 3D coordinates cannot (the optimisation is not differentiated).",
    ),
    h("div", { class: "model3d__grid" }, modelSlot, h("div", {}, pae.element, regionHint)),
    downloadsSlot,
  );
}

function regionResidues({ rows, cols }: Region): Set<number> {
  const residues = new Set<number>();
  for (const [low, high] of [rows, cols]) for (let k = low; k <= high; k++) residues.add(k);
  return residues;
}

function followBuild(jobId: string, status: HTMLElement, built: (model: StructureModel) => void): void {
  const run = new TaskRun<{ results: Record<string, StructureModel>; task: TaskStatus | null }, StructureModel>(
    async () => {
      const answer = await requestJson<StructureModelAnswer>(`/api/jobs/${encodeURIComponent(jobId)}/model3d`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ wait: 0.5 }),
      });
      const results: Record<string, StructureModel> = answer.result ? { model3d: answer.result } : {};
      return { results, task: answer.task };
    },
    {
      answered: () => undefined,
      progressed: (task) => {
        status.textContent = `Folding: ${Math.round(100 * task.progress)}%`;
        if (task.status === "failed") status.textContent = `Not built: ${Object.values(task.messages).join("; ")}`;
      },
      resultReady: (_, model) => {
        status.textContent = describeModel(model);
        built(model);
      },
      resultFailed: (_, failure) => (status.textContent = `The model was built but could not be fetched: ${String(failure)}`),
      failed: (failure) => (status.textContent = `Not built: ${failure instanceof Error ? failure.message : String(failure)}`),
      ended: () => undefined,
    },
  );
  void run.start();
}

function describeModel(model: StructureModel): string {
  const summary = model.summary;
  const mean = `mean pLDDT ${summary.mean_plddt.toFixed(1)}${summary.plddt_calibrated ? "" : " (not calibrated for this model)"}`;
  const hand = summary.other_hand_negative_log_likelihood - summary.negative_log_likelihood;
  const words = [`Built in ${model.seconds.toFixed(1)} s`, mean, `mirror image ${hand.toFixed(0)} nats less likely`];
  if (model.comparison) {
    words.push(`against the known structure (grey): TM-score ${model.comparison.tm_score.toFixed(3)}, lDDT ${model.comparison.lddt.toFixed(3)}`);
  }
  return `${words.join(" · ")}.`;
}

/** The cartoon with its colouring choices: pLDDT bands first, then the tracks, then residue number. */
function modelView(viewer: StructureViewer, model: StructureModel, { length, tracks }: StructureModelOptions): HTMLElement {
  const plddt = Float32Array.from(model.plddt);
  const legend = h("div", { class: "viewer3d__legend" });
  const colour = h("select", { id: "model3d-colour", "data-testid": "model3d-colour" });
  colour.append(
    new Option("Predicted lDDT (AlphaFold DB bands)", PLDDT),
    ...tracks.filter((track) => track.name !== PLDDT).map((track) => new Option(track.label, track.name)),
    new Option("Residue number (N → C)", POSITION),
  );
  const paint = (): void => {
    const track = tracks.find((t) => t.name === colour.value);
    if (colour.value === PLDDT) {
      viewer.colorBy(plddt, BAND_COLOURS);
      legend.replaceChildren(bandLegend());
    } else {
      const scale = track ? new ColorScale(VIRIDIS, 0, track.max) : new ColorScale(VIRIDIS, 1, length);
      viewer.colorBy(track ? track.values : Float32Array.from({ length }, (_, i) => i + 1), scale);
      legend.replaceChildren(h("span", { class: "hint" }, track ? `${track.label}: 0 (dark) to ${track.max} (bright)` : "residue 1 (dark) to the last (bright)"));
    }
  };
  colour.addEventListener("change", paint);
  paint();
  return h("div", {}, h("div", { class: "controls" }, h("label", { for: "model3d-colour" }, "Colour by"), colour), viewer.element, legend);
}

function modelDownloads(jobId: string): HTMLElement {
  return h(
    "div",
    { class: "downloads__row" },
    ...[["pdb", "3D model (PDB)"], ["cif", "3D model (mmCIF)"]].map(([format, label]) =>
      h("a", { class: "button button--secondary", href: `/api/jobs/${encodeURIComponent(jobId)}/export?what=model3d&format=${format}`, download: "" }, label!),
    ),
  );
}

function bandLegend(): HTMLElement {
  return h(
    "p",
    { class: "legend legend--wrap", "data-testid": "plddt-legend" },
    ...PLDDT_BANDS.map(([lowest, name, colour]) =>
      h("span", { class: "legend__band" }, h("span", { class: "legend__swatch", style: `background: ${colour}` }), lowest > 0 ? `${name} (≥ ${lowest})` : `${name} (< 50)`),
    ),
  );
}
