/**
 * Typed client for the explanation endpoints: ask for a target's explanations (ready ones come back
 * at once, the rest from a background task), follow the task, fetch each finished method, cancel.
 */

import { requestJson } from "./api";
import type { ExplainTarget } from "./explainTarget";
import { currentSubmission } from "./submissions";

/** Option values as the API takes them: numbers, or one of an option's choices. */
export type MethodOptions = Record<string, Record<string, number | string>>;

/** `wrt` names the layer whose input the target is attributed to; left out for the model input. */
export interface ExplainRequest {
  target: ExplainTarget;
  methods: string[];
  options: MethodOptions;
  wrt?: string;
}

export type MethodState = "queued" | "running" | "done" | "failed" | "cancelled";

export interface TaskStatus {
  id: string;
  status: "running" | "done" | "failed" | "cancelled";
  /** Changes with every update of the task; polling with it waits for the next one. */
  version: number;
  /** Of the whole task: the mean of the methods' fractions. */
  progress: number;
  /** Method → fraction done. */
  method_progress: Record<string, number>;
  states: Record<string, MethodState>;
  messages: Record<string, string>;
  /** Method → URL of its result, once it is done. */
  results: Record<string, string>;
  poll: string;
  cancel: string;
}

export interface TopResidue {
  index: number;
  residue: string;
  sum: number;
  magnitude: number;
}

interface ResultBase {
  /** Names the cached result, for its exports. */
  key: string;
  method: string;
  exact: boolean;
  /** The explained scalar itself. */
  value: number;
  seconds: number;
  /** Why this map is not exact (the engine's audit of this call); empty when it is. */
  approximation?: string;
  /** The target at the reference input (DeepLIFT, integrated gradients): the map should sum to
   * `value - reference_value`; `map_sum` is what it sums to. */
  reference_value?: number | null;
  map_sum?: number | null;
  residue_sum: number[];
  residue_magnitude: number[];
  top: TopResidue[];
}

/**
 * Consecutive input channels of the model that belong together (from the model's adapter), e.g.
 * the 20 one-hot letters; `needs` names what the group encodes when given ("profile").
 */
export interface FeatureGroup {
  name: string;
  size: number;
  needs: string | null;
}

/**
 * Attribution to every input feature at every residue: rows = features, columns = residues; for a
 * 1D layer (`wrt`), its input channels take the place of the features (and there are no groups).
 */
export interface FeatureResult extends ResultBase {
  features: string[];
  feature_groups?: FeatureGroup[];
  attribution: (number | null)[][];
  wrt?: string;
  wrt_kind?: "1d";
}

/**
 * The 2018 view of a pair-input layer whose channels are the state pairs (a, b): values[a][b] is
 * the window `rows` × `cols` (0-based residues) of channel a·21 + b.
 */
export interface StateGrid {
  states: string[];
  rows: number[];
  cols: number[];
  values: number[][][][];
}

/** Attribution to the input of a 2D layer, summed over its channels: L × L, 0 where the target does not reach. */
export interface PairResult extends ResultBase {
  wrt: string;
  wrt_kind: "2d";
  pair: number[][];
  grid?: StateGrid;
}

/** Change of the target per residue (rows) and amino acid of `alphabet`; null outside the window. */
export interface MutagenesisResult extends ResultBase {
  alphabet: string;
  wild_type: number[];
  delta: (number | null)[][];
}

export type ExplanationResult = FeatureResult | MutagenesisResult | PairResult;

export const isMutagenesis = (result: ExplanationResult): result is MutagenesisResult => "delta" in result;

export const isPair = (result: ExplanationResult): result is PairResult => "pair" in result;

export interface ExplainAnswer {
  target: ExplainTarget;
  description: string;
  results: Record<string, ExplanationResult>;
  task: TaskStatus | null;
}

/** Seconds the server may hold the answer for methods that finish quickly (mostly cache hits). */
const ANSWER_WAIT_S = 0.1;
/** How long one poll may wait on the server for the task's next change. */
const POLL_WAIT_S = 5;

export const requestExplanation = (jobId: string, request: ExplainRequest): Promise<ExplainAnswer> =>
  requestJson(`/api/jobs/${encodeURIComponent(jobId)}/explain`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...request, wait: ANSWER_WAIT_S }),
  });

/** The task's next state: the server answers as soon as anything changes (or after a few seconds). */
export const pollTask = (task: TaskStatus): Promise<TaskStatus> =>
  requestJson(`${task.poll}${task.poll.includes("?") ? "&" : "?"}after=${task.version}&wait=${POLL_WAIT_S}`);

export const cancelTask = (task: TaskStatus): Promise<TaskStatus> => requestJson(task.cancel, { method: "DELETE" });

/** Row i: the head (class) at residue i attributed to every input residue k (signed sum over its features). */
export interface Overview {
  head: string;
  class: string | null;
  method: string;
  seconds: number;
  matrix: number[][];
}

export interface OverviewRequest {
  head: string;
  class: string | null;
  method: string;
}

export const requestOverview = (jobId: string, request: OverviewRequest): Promise<Overview> =>
  requestJson(`/api/jobs/${encodeURIComponent(jobId)}/overview`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(request.class === null ? { head: request.head, method: request.method } : request),
  });

/** A download of one result; `format` is left out for the kinds that have only one. */
export function exportUrl(key: string, what: string, format: string | null): string {
  const query = new URLSearchParams({ what });
  if (format) query.set("format", format);
  const submission = currentSubmission();
  if (submission !== null) query.set("submission", submission);  // files named as the submitter named the job
  return `/api/explanations/results/${encodeURIComponent(key)}/export?${query}`;
}
