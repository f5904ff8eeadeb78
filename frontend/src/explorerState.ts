/**
 * The explorer's part of the URL, so that reloading or sharing it brings back the same explanation
 * (the server answers it from its cache): `target` (see explainTarget.ts), `methods`, `options`
 * ("smoothgrad.samples:32,..." for values off their defaults), the colour settings `values`,
 * `scale`, `clip`, `gamma` (left out at their defaults), `color3d` (the panel colouring the
 * structure) and `explorer=closed` when the section is folded.
 */

import { CLIP_RANGE, DEFAULT_COLOURS, GAMMA_RANGE, type ColourSettings } from "./attributionScale";
import { decodeTarget, encodeTarget, type ExplainTarget } from "./explainTarget";
import type { OptionTexts } from "./methodChooser";
import { writeQuery } from "./state";

export interface ExplorerState {
  open: boolean;
  target: ExplainTarget | null;
  /** null when the URL does not say, so that the defaults apply. */
  methods: string[] | null;
  options: OptionTexts;
  colours: ColourSettings;
  colour3d: string | null;
}

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
  writeQuery(query);
}
