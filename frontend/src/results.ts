/**
 * Turns the JSON of a finished job into typed arrays the figures draw from. Models differ in which
 * heads they have, so everything here is driven by the keys present and the model spec's heads.
 */

import type { HeadSpec, ModelSpec, Predictions, Truth } from "./api";

type PairKind = "distance" | "probability" | "value";

export interface PairMap {
  key: string;
  label: string;
  kind: PairKind;
  units: string;
  meaning: string;
  /** Row-major L×L; NaN where the value is missing. */
  values: Float32Array;
}

export interface ResidueHead {
  key: string;
  label: string;
  /** Class names for a per-residue distribution, or null for one value per residue. */
  classes: string[] | null;
  /** Row-major L×K (K = classes.length), or L values. */
  values: Float32Array;
}

export interface TruthData {
  maps: Map<string, Float32Array>;
  contacts: Uint8Array | null;
  /** One DSSP letter per residue; "-" and " " mean no assigned structure. */
  dssp: string | null;
}

/** What the distograms say about their own reliability, for the 3D model's card. */
export interface ConfidenceData {
  /** Predicted lDDT per residue, 0–100. */
  plddt: Float32Array;
  /** Row-major L×L: expected absolute error of the Cβ–Cβ distance, Å. */
  pae: Float32Array;
}

export interface ResultData {
  sequence: string;
  length: number;
  pairMaps: PairMap[];
  residueHeads: ResidueHead[];
  truth: TruthData | null;
  confidence: ConfidenceData | null;
}

/** The expected-error map is drawn beside the 3D model, not among the predicted maps. */
const CONFIDENCE_MAPS = new Set(["pae"]);

/** A per-residue series that can colour the structure, resolved from a job's `tracks` name. */
export interface ResidueTrack {
  name: string;
  label: string;
  values: Float32Array;
  /** The top of its scale (the bottom is 0): 1 for probabilities and fractions, 100 for pLDDT. */
  max: number;
}

/** Tracks whose scale does not end at 1. */
const TRACK_MAXIMA: Record<string, number> = { plddt: 100 };

/** Class orders the API documents, used when a spec does not list them. */
const DEFAULT_CLASSES: Record<string, string[]> = {
  ss3: ["H", "E", "C"],
  ss8: ["H", "G", "I", "E", "B", "T", "S", "C"],
};

const ATOM_NAMES: Record<string, string> = { ca: "Cα", cb: "Cβ", n: "N", c: "C", o: "O" };

const HEAD_LABELS: Record<string, string> = {
  contact: "Contact probability",
  plddt: "Predicted lDDT (confidence, 0–100)",
  pae: "Expected Cβ–Cβ distance error",
  ss3: "Secondary structure, 3 states",
  ss8: "Secondary structure, 8 states",
  rsa: "Relative solvent accessibility",
};

export const CLASS_NAMES: Record<string, string> = {
  H: "α-helix",
  G: "3₁₀-helix",
  I: "π-helix",
  E: "strand",
  B: "β-bridge",
  T: "turn",
  S: "bend",
  C: "coil",
};

/** "dist_ca_cb" → "Cα–Cβ"; other names are returned unchanged. */
function atomPairLabel(key: string): string {
  const match = /^dist_([a-z]+)_([a-z]+)$/.exec(key);
  if (!match) return key;
  const atom = (name: string): string => ATOM_NAMES[name] ?? name.toUpperCase();
  return `${atom(match[1]!)}–${atom(match[2]!)}`;
}

export function headLabel(key: string): string {
  return key.startsWith("dist_") ? `${atomPairLabel(key)} distance` : (HEAD_LABELS[key] ?? key);
}

function isDistance(key: string, units: string): boolean {
  return key.startsWith("dist") || ["Å", "A", "angstrom", "Angstrom"].includes(units);
}

function isMatrix(value: unknown, length: number): value is (number | null)[][] {
  return Array.isArray(value) && value.length === length && value.every((row) => Array.isArray(row) && row.length === length);
}

function isPerResidue(value: unknown, length: number): value is (number | null)[] | (number | null)[][] {
  return Array.isArray(value) && value.length === length;
}

function flatten(rows: (number | null)[][], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    for (let j = 0; j < width; j++) out[i * width + j] = row[j] ?? Number.NaN;
  });
  return out;
}

function pairMapFrom(key: string, value: (number | null)[][], spec: HeadSpec | undefined): PairMap {
  const units = spec?.units ?? "";
  const kind: PairKind = isDistance(key, units)
    ? "distance"
    : key === "contact" || /prob/i.test(units)
      ? "probability"
      : "value";
  return {
    key,
    label: headLabel(key),
    kind,
    units: kind === "distance" ? "Å" : units,
    meaning: spec?.meaning ?? "",
    values: flatten(value, value.length),
  };
}

function residueHeadFrom(
  key: string,
  value: (number | null)[] | (number | null)[][],
  spec: HeadSpec | undefined,
): ResidueHead {
  const base = { key, label: headLabel(key) };
  const first = value[0];
  if (Array.isArray(first)) {
    const rows = value as (number | null)[][];
    const classes = spec?.classes?.length === first.length
      ? spec.classes
      : (DEFAULT_CLASSES[key] ?? first.map((_, k) => String(k + 1)));
    return { ...base, classes, values: flatten(rows, classes.length) };
  }
  const values = Float32Array.from(value as (number | null)[], (v) => v ?? Number.NaN);
  return { ...base, classes: null, values };
}

function truthFrom(truth: Truth, length: number): TruthData {
  const maps = new Map<string, Float32Array>();
  let contacts: Uint8Array | null = null;
  for (const [key, value] of Object.entries(truth)) {
    if (!isMatrix(value, length)) continue;
    if (key === "contact") {
      contacts = Uint8Array.from(flatten(value, length), (v) => (v > 0.5 ? 1 : 0));
    } else {
      maps.set(key, flatten(value, length));
    }
  }
  const dssp = typeof truth.dssp === "string" && truth.dssp.length === length ? truth.dssp : null;
  return { maps, contacts, dssp };
}

/** Coarse distributions (3-state) read first, then finer ones (8-state), then single values. */
function displayRank(head: ResidueHead): number {
  return head.classes === null ? 2 : head.classes.length <= 3 ? 0 : 1;
}

export function buildResult(predictions: Predictions, truth: Truth | null, spec: ModelSpec | null): ResultData {
  const sequence = predictions.sequence;
  const length = sequence.length;
  const specHeads = new Map((spec?.heads ?? []).map((head) => [head.name, head]));
  const order = [...specHeads.keys(), ...Object.keys(predictions).filter((key) => !specHeads.has(key))];

  const pairMaps: PairMap[] = [];
  const residueHeads: ResidueHead[] = [];
  for (const key of order) {
    if (key === "sequence" || key === "mode" || CONFIDENCE_MAPS.has(key)) continue;
    const value = predictions[key];
    const head = specHeads.get(key);
    if (head?.kind !== "per-residue" && isMatrix(value, length)) {
      pairMaps.push(pairMapFrom(key, value, head));
    } else if (head?.kind !== "pair" && isPerResidue(value, length)) {
      residueHeads.push(residueHeadFrom(key, value, head));
    }
  }
  residueHeads.sort((a, b) => displayRank(a) - displayRank(b));
  const { plddt, pae } = predictions;
  const confidence = isPerResidue(plddt, length) && isMatrix(pae, length)
    ? { plddt: Float32Array.from(plddt as (number | null)[], (v) => v ?? Number.NaN), pae: flatten(pae, length) }
    : null;
  return { sequence, length, pairMaps, residueHeads, truth: truth ? truthFrom(truth, length) : null, confidence };
}

/**
 * Finds the values behind a track name: a per-residue head ("rsa") or one class of a distribution
 * ("ss3_H" = probability of helix). Returns null for names this page cannot resolve.
 */
export function resolveTrack(name: string, data: ResultData): ResidueTrack | null {
  const direct = data.residueHeads.find((head) => head.key === name && head.classes === null);
  if (direct) return { name, label: direct.label, values: direct.values, max: TRACK_MAXIMA[name] ?? 1 };
  const split = name.lastIndexOf("_");
  if (split < 0) return null;
  const head = data.residueHeads.find((h) => h.key === name.slice(0, split) && h.classes !== null);
  const className = name.slice(split + 1);
  const k = head?.classes?.indexOf(className) ?? -1;
  if (!head || !head.classes || k < 0) return null;
  const width = head.classes.length;
  const values = Float32Array.from({ length: data.length }, (_, i) => head.values[i * width + k]!);
  return { name, label: `${CLASS_NAMES[className] ?? className} probability (${head.key} ${className})`, values, max: 1 };
}
