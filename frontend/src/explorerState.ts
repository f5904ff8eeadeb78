/**
 * The explorer's part of the URL, so that reloading or sharing it brings back the same explanation
 * (the server answers it from its cache): `target` (see explainTarget.ts), `methods`, `options`
 * ("smoothgrad.samples:32,..." for values off their defaults), the colour settings `values`,
 * `scale`, `clip`, `gamma` (left out at their defaults), `color3d` (the panel colouring the
 * structure), `wrt` (the layer whose input is attributed to; absent for the model input),
 * `pairmap=whole` when the pair maps show every cell rather than those the target reaches,
 * `statepair` (the state pair "L,V" enlarged beside the grids of a state-pair layer),
 * `absent=include` when features this job's input lacks count in the panels' sums and rankings,
 * `overview` (the influence overview shown: "ss3:H:gradient" or "rsa:gradient"), `analysis` (the
 * analysis last run on the target) with `aoptions` (its options off their defaults,
 * "methods:gradient+guided_backprop,mode:independent": list items joined by spaces, which the
 * query writes as "+") and `explorer=closed` when the section is folded.
 */

import { CLIP_RANGE, DEFAULT_COLOURS, GAMMA_RANGE, type ColourSettings } from "./attributionScale";
import { decodeTarget, encodeTarget, type ExplainTarget } from "./explainTarget";
import type { OptionTexts, StatePair } from "./explorerTypes";
import { writeQuery } from "./state";

export interface ExplorerState {
  open: boolean;
  target: ExplainTarget | null;
  /** null when the URL does not say, so that the defaults apply. */
  methods: string[] | null;
  options: OptionTexts;
  colours: ColourSettings;
  colour3d: string | null;
  wrt: string | null;
  /** Whether pair maps show the whole L × L map instead of zooming to the cells the target reaches. */
  wholePairMap: boolean;
  /** The state pair (a, b) whose window the state-pair grids enlarge; null for each grid's largest. */
  statePair: StatePair | null;
  /** Whether feature groups absent from this job's input (all zero) count in sums, scales and rankings. */
  includeAbsent: boolean;
  overview: OverviewChoice | null;
  analysis: AnalysisChoice | null;
}

/** An analysis and its options off their defaults, as text (list items separated by spaces). */
export interface AnalysisChoice {
  analysis: string;
  options: Record<string, string>;
}

function parseAnalysis(name: string | null, text: string | null): AnalysisChoice | null {
  if (!name) return null;
  const options: Record<string, string> = {};
  for (const item of (text ?? "").split(",")) {
    const match = /^([^:]+):(.*)$/.exec(item);
    if (match) options[match[1]!] = match[2]!;
  }
  return { analysis: name, options };
}

const formatAnalysisOptions = (options: Record<string, string>): string | null =>
  Object.keys(options).length > 0 ? Object.entries(options).map(([name, value]) => `${name}:${value}`).join(",") : null;

function parseStatePair(text: string | null): StatePair | null {
  const parts = (text ?? "").split(",");
  return parts.length === 2 && parts[0] && parts[1] ? [parts[0], parts[1]] : null;
}

/** The influence overview to show: a per-residue head, its class (when it has classes), a method. */
export interface OverviewChoice {
  head: string;
  class: string | null;
  method: string;
}

function parseOverview(text: string | null): OverviewChoice | null {
  const parts = (text ?? "").split(":");
  if (parts.some((part) => part === "")) return null;
  if (parts.length === 2) return { head: parts[0]!, class: null, method: parts[1]! };
  if (parts.length === 3) return { head: parts[0]!, class: parts[1]!, method: parts[2]! };
  return null;
}

const formatOverview = (choice: OverviewChoice): string =>
  [choice.head, choice.class, choice.method].filter((part) => part !== null).join(":");

function parseOptions(text: string | null): OptionTexts {
  const options: OptionTexts = {};
  for (const item of (text ?? "").split(",")) {
    const match = /^([^.:]+)\.([^:]+):(.+)$/.exec(item);
    if (match) (options[match[1]!] ??= {})[match[2]!] = match[3]!;
  }
  return options;
}

function formatOptions(options: OptionTexts): string | null {
  const items = Object.entries(options).flatMap(([method, values]) =>
    Object.entries(values).map(([name, value]) => `${method}.${name}:${value}`),
  );
  return items.length > 0 ? items.join(",") : null;
}

/** The number in `text` if it lies in the range, else the fallback. */
function numberParam(text: string | null, range: { min: number; max: number }, fallback: number): number {
  const value = text === null ? Number.NaN : Number(text);
  return value >= range.min && value <= range.max ? value : fallback;
}

export function readExplorerState(length: number): ExplorerState {
  const params = new URLSearchParams(window.location.search);
  const methods = params.get("methods");
  return {
    open: params.get("explorer") !== "closed",
    target: decodeTarget(params.get("target"), length),
    methods: methods === null ? null : methods.split(",").filter(Boolean),
    options: parseOptions(params.get("options")),
    colours: {
      signed: params.get("values") !== "absolute",
      shared: params.get("scale") === "shared",
      clip: numberParam(params.get("clip"), CLIP_RANGE, DEFAULT_COLOURS.clip),
      gamma: numberParam(params.get("gamma"), GAMMA_RANGE, DEFAULT_COLOURS.gamma),
    },
    colour3d: params.get("color3d"),
    wrt: params.get("wrt") || null,
    wholePairMap: params.get("pairmap") === "whole",
    statePair: parseStatePair(params.get("statepair")),
    includeAbsent: params.get("absent") === "include",
    overview: parseOverview(params.get("overview")),
    analysis: parseAnalysis(params.get("analysis"), params.get("aoptions")),
  };
}

export function writeExplorerState(change: Partial<ExplorerState>): void {
  const query: Record<string, string | null> = {};
  if (change.open !== undefined) query.explorer = change.open ? null : "closed";
  if (change.target !== undefined) query.target = change.target === null ? null : encodeTarget(change.target);
  if (change.methods !== undefined) query.methods = change.methods === null ? null : change.methods.join(",");
  if (change.options !== undefined) query.options = formatOptions(change.options);
  if (change.colours !== undefined) {
    const { signed, shared, clip, gamma } = change.colours;
    query.values = signed ? null : "absolute";
    query.scale = shared ? "shared" : null;
    query.clip = clip === DEFAULT_COLOURS.clip ? null : String(clip);
    query.gamma = gamma === DEFAULT_COLOURS.gamma ? null : String(gamma);
  }
  if (change.colour3d !== undefined) query.color3d = change.colour3d;
  if (change.wrt !== undefined) query.wrt = change.wrt;
  if (change.wholePairMap !== undefined) query.pairmap = change.wholePairMap ? "whole" : null;
  if (change.statePair !== undefined) query.statepair = change.statePair === null ? null : change.statePair.join(",");
  if (change.includeAbsent !== undefined) query.absent = change.includeAbsent ? "include" : null;
  if (change.overview !== undefined) query.overview = change.overview === null ? null : formatOverview(change.overview);
  if (change.analysis !== undefined) {
    query.analysis = change.analysis?.analysis ?? null;
    query.aoptions = change.analysis === null ? null : formatAnalysisOptions(change.analysis.options);
  }
  writeQuery(query);
}
