/**
 * Typed client for the analyses of an explanation target (sanity checks of its maps): the
 * catalogue with each analysis's options, and one analysis of one target, which runs as a
 * background task of the same kind as explanations (see taskRun.ts). The result shapes follow
 * `foldlens.service.analyses`.
 */

import { requestJson } from "./api";
import type { TaskStatus } from "./explainApi";
import type { ExplainTarget } from "./explainTarget";

/**
 * A setting of an analysis: a number in [minimum, maximum] (whole when the default is), one of
 * `choices` (a text default), or a list of up to `maximum` of `choices` (a list default).
 */
export interface AnalysisOption {
  default: number | string | string[];
  description: string;
  minimum: number | null;
  maximum: number | null;
  choices: string[];
}

export interface AnalysisInfo {
  name: string;
  summary: string;
  /** True when it reads a model output, so internal units cannot be analysed. */
  outputs_only: boolean;
  options: Record<string, AnalysisOption>;
}

export type AnalysisOptionValue = number | string | string[];

export interface AnalysisRequest {
  target: ExplainTarget;
  analysis: string;
  options: Record<string, AnalysisOptionValue>;
}

/** Map similarity of one comparison (Spearman of signed and absolute values, SSIM, top-k overlap). */
export interface Similarity {
  spearman_signed: number;
  spearman_absolute: number;
  ssim: number;
  top_k: number;
}

interface AnalysisBase {
  /** Names the cached result, for its exports. */
  key: string;
  analysis: string;
  options: Record<string, AnalysisOptionValue>;
}

export interface RandomizationResult extends AnalysisBase {
  analysis: "randomization";
  mode: string;
  /** In the order randomized (the layer nearest the output first). */
  layers: string[];
  /** Per method, one comparison with the original map per entry of `layers`. */
  similarities: Record<string, Similarity[]>;
  verdicts: Record<string, string>;
  /** The verdict's rule: a map survives a randomization when ρ(|map|) > `barely_above`; it
   * "barely changes" when it survives at least `survives_most` of the layers (or all of them
   * together), it "depends on the weights" when it survives under `survives_few` of them and
   * ρ(|map|) ends below `depends_below`; else "partly". */
  thresholds: { depends_below: number; barely_above: number; survives_most: number; survives_few: number };
  /** Per method, how many of the randomized layers the map survives (cascade steps; independent:
   * layers whose own randomization leaves it so). */
  unchanged_layers: Record<string, number>;
}

export interface RandomTargetResult extends AnalysisBase {
  analysis: "random_target";
  targets: number[][];
  similarities: Record<string, Similarity[]>;
}

export interface Curve {
  fractions: number[];
  values: number[];
  auc: number;
}

export interface DeletionResult extends AnalysisBase {
  analysis: "deletion";
  value: number;
  deletion: Curve;
  insertion: Curve;
  random_deletion: Curve;
  random_insertion: Curve;
}

export interface ReceptiveFieldResult extends AnalysisBase {
  analysis: "receptive_field";
  distances: number[];
  magnitude: Record<string, (number | null)[]>;
  theoretical_radius: number | null;
}

export interface FollowGradientResult extends AnalysisBase {
  analysis: "follow_gradient";
  value: number;
  epsilons: number[];
  values: number[];
}

export interface InputCorrelationResult extends AnalysisBase {
  analysis: "input_correlation";
  features: string[];
  correlation: Record<string, { per_feature: (number | null)[]; overall: number | null }>;
}

export interface AminoAcidResult extends AnalysisBase {
  analysis: "aa_patterns";
  alphabet: string;
  counts: number[];
  by_type: Record<string, (number | null)[]>;
  pair_table?: Record<string, (number | null)[][]>;
  pairs?: number[][];
}

/** A pair target's attribution to the pair features against the MSA's couplings, per pair k < l. */
export interface CoevolutionResult extends AnalysisBase {
  analysis: "coevolution";
  layer: string;
  method: string;
  neff: number;
  cells: number;
  spearman: number | null;
  pearson: number | null;
  top: number;
  top_overlap: number | null;
  attribution?: number[];
  coupling?: number[];
}

/** The network's own coupling map (its categorical Jacobian), against DCA and the true contacts. */
export interface CategoricalJacobianResult extends AnalysisBase {
  analysis: "categorical_jacobian";
  heads: string[];
  mutants: number;
  receptive_radius: number | null;
  /** L × L, APC-corrected. */
  coupling: number[][];
  top: number;
  top_pairs: { i: number; j: number; coupling: number }[];
  /** Top-L/5 precision against the true contacts, by minimum separation (">=6", ">=24"). */
  precision?: Record<"jacobian" | "dca", Record<string, number | null>>;
  dca?: { neff: number; spearman: number | null; top_overlap: number };
}

export type AnalysisResult =
  | CategoricalJacobianResult
  | CoevolutionResult
  | RandomizationResult
  | RandomTargetResult
  | DeletionResult
  | ReceptiveFieldResult
  | FollowGradientResult
  | InputCorrelationResult
  | AminoAcidResult;

export interface AnalyzeAnswer {
  target: ExplainTarget;
  description: string;
  analysis: string;
  result: AnalysisResult | null;
  task: TaskStatus | null;
}

/** Seconds the server may hold the answer for analyses that finish quickly (mostly cache hits). */
const ANSWER_WAIT_S = 0.1;

export const listAnalyses = (): Promise<AnalysisInfo[]> => requestJson("/api/analyses");

export const requestAnalysis = (jobId: string, request: AnalysisRequest): Promise<AnalyzeAnswer> =>
  requestJson(`/api/jobs/${encodeURIComponent(jobId)}/analyze`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...request, wait: ANSWER_WAIT_S }),
  });
