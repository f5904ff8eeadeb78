/** Typed client for the foldlens HTTP API; every call stays on the page's own origin. */

export interface HeadSpec {
  name: string;
  kind: "per-residue" | "pair";
  shape?: unknown;
  meaning?: string;
  transform?: string;
  units?: string;
  classes?: string[];
  /** Set for a head read out of another head's logits (pLDDT, expected error): not the network's own. */
  source?: string;
}

/**
 * An internal layer whose units can be explained, or whose input can be attributed to; `channels`
 * in, `out_channels` out. `channel_grid` names the states when the input channels are the state
 * pairs (a, b), channel a·n + b (empty otherwise).
 */
export interface LayerSpec {
  path: string;
  kind: "1d" | "2d";
  channels: number;
  out_channels: number;
  channel_grid?: string[];
}

export interface ModelSpec {
  name: string;
  description?: string;
  version?: string;
  input?: { kind?: string; features?: string[] };
  heads: HeadSpec[];
  layers?: LayerSpec[];
  max_length: number;
}

/** A setting of an explanation method: a number in [minimum, maximum], or one of `choices`. */
export interface MethodOption {
  default: number | string;
  description: string;
  minimum: number | null;
  maximum: number | null;
  choices: string[];
}

export interface MethodInfo {
  name: string;
  summary: string;
  /** False when the method is only an approximation for this model's architecture. */
  exact: boolean;
  /** Why it is not exact for this model (the engine's audit: which operations have no rule). */
  approximation: string;
  /** Whether it can attribute to a layer's input (`wrt`); occlusion and mutagenesis cannot. */
  layers: boolean;
  options: Record<string, MethodOption>;
}

export interface ModelInfo {
  name: string;
  default: boolean;
  version: string;
  spec: ModelSpec;
  /** Explanation methods this model offers; absent from servers without explanations. */
  methods?: MethodInfo[];
  /** The methods the influence overview runs (all L targets in one pass). */
  overview_methods?: string[];
}

export interface Example {
  id: string;
  name: string;
  fold: string;
  length: number;
  sequence: string;
  has_structure: boolean;
}

export interface JobExport {
  what: string;
  format: string;
  label: string;
  url: string;
}

export type JobState = "queued" | "running" | "done" | "failed";

export interface JobStatus {
  id: string;
  status: JobState;
  progress: number;
  stage: string | null;
  message: string | null;
  name: string;
  sequence: string;
  length: number;
  model: string;
  model_version: string;
  mode: "single" | "profile";
  has_structure: boolean;
  /** When the shown submission was made; null when the page names none. */
  created: number | null;
  updated: number;
  /** The submission whose name and time are shown, if any. */
  submission: string | null;
  /** Only in the answer to a submission: the secret that deletes it. */
  token?: string | null;
  /** While queued: 1 when the job runs next, 2 after that, ...; else null. */
  queue_position: number | null;
  /** While queued: seconds it may wait to start; null before any job has run on the server. */
  estimated_wait: number | null;
  view: string;
  exports: JobExport[];
  tracks: string[];
  /** Whether the job searches for its MSA. */
  search: boolean;
  /** Once the job ran with an alignment (searched or uploaded): what it found out about it. */
  alignment: AlignmentSummary | null;
}

/** A job's alignment: where it came from, how deep it is, the mode it led to, the couplings' fit. */
export interface AlignmentSummary {
  source: "search" | "upload";
  sequences: number;
  neff: number;
  coverage: number[];
  mode: "single" | "profile";
  why: string;
  couplings: { fitted: boolean; why?: string; neff?: number; sequences?: number; converged?: boolean };
  /** For a search: */
  database?: string;
  program?: string;
  iterations?: number;
  /** Null when the search program does not say (MMseqs2). */
  converged?: boolean | null;
  neff_threshold?: number;
  parameters?: { iterations: number; evalue: number; coverage: number };
  note?: string | null;
}

/** The coupling map a job fitted to its MSA. */
export interface CouplingMap {
  apc: number[][];
  neff: number;
  sequences: number;
  iterations: number;
  converged: boolean;
}

/** The MSA search this server offers. */
export interface SearchInfo {
  available: boolean;
  database: string | null;
  program: string | null;
  unavailable: string | null;
  parameters: { iterations: number; evalue: number; coverage: number };
  neff_threshold: number;
  note: string | null;
}

/** A matrix as JSON sends it; missing values may come as null. */
export type JsonMatrix = (number | null)[][];

/** Predictions carry only the heads the model has, so every head is looked up by key. */
export interface Predictions {
  sequence: string;
  mode: string;
  [head: string]: unknown;
}

export interface Truth {
  sequence: string;
  dssp?: string;
  [map: string]: unknown;
}

/** The server's error message, with the HTTP status, so pages can tell "not found" from "invalid". */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
    this.name = "ApiError";
  }
}

/** What went wrong, in words for the page: the server's message, or the error's. */
export function failureText(failure: unknown): string {
  return failure instanceof ApiError ? failure.detail : failure instanceof Error ? failure.message : String(failure);
}

/** Reads `{"detail": ...}` from an error response, falling back to the status line for non-JSON bodies. */
async function errorFrom(response: Response): Promise<ApiError> {
  let detail = `${response.status} ${response.statusText}`.trim();
  try {
    const body: unknown = await response.json();
    if (body && typeof body === "object" && "detail" in body) {
      const value = (body as { detail: unknown }).detail;
      detail = typeof value === "string" ? value : JSON.stringify(value);
    }
  } catch {
    if (response.status === 413) detail = "the upload is too large for the server";
  }
  return new ApiError(response.status, detail);
}

export async function request(url: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...init });
  } catch {
    throw new ApiError(0, "the server cannot be reached; check that foldlens is running");
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function requestJson<T>(url: string, init?: RequestInit): Promise<T> {
  return (await (await request(url, init)).json()) as T;
}

const jobUrl = (id: string): string => `/api/jobs/${encodeURIComponent(id)}`;

export const listModels = (): Promise<ModelInfo[]> => requestJson("/api/models");

export const listExamples = (): Promise<Example[]> => requestJson("/api/examples");

/** The job; with a submission, under that submission's name and time. */
export const getJob = (id: string, submission: string | null = null): Promise<JobStatus> =>
  requestJson(submission === null ? jobUrl(id) : `${jobUrl(id)}?${new URLSearchParams({ submission })}`);

export const getPredictions = (id: string): Promise<Predictions> =>
  requestJson(`${jobUrl(id)}/predictions`);

export const getTruth = (id: string): Promise<Truth> => requestJson(`${jobUrl(id)}/truth`);

export const getCouplings = (id: string): Promise<CouplingMap> => requestJson(`${jobUrl(id)}/couplings`);

export const getSearchInfo = (): Promise<SearchInfo> => requestJson("/api/search");

export const getStructurePdb = async (id: string): Promise<string> =>
  (await request(`${jobUrl(id)}/structure`)).text();

/** What the input page submits; files force a multipart upload, everything else goes as JSON. */
export interface JobRequest {
  model: string;
  sequence?: string;
  example?: string;
  msa?: File;
  structure?: File;
  /** Search the server's sequence database for an MSA first. */
  search?: boolean;
}

export function submitJob(job: JobRequest): Promise<JobStatus> {
  if (job.msa || job.structure) {
    const form = new FormData();
    form.set("model", job.model);
    if (job.sequence) form.set("sequence", job.sequence);
    if (job.msa) form.set("msa", job.msa);
    if (job.structure) form.set("structure", job.structure);
    if (job.search) form.set("search", "true");
    return requestJson("/api/jobs", { method: "POST", body: form });
  }
  const body = job.example
    ? { example: job.example, model: job.model }
    : { sequence: job.sequence ?? "", model: job.model, ...(job.search ? { search: true } : {}) };
  return requestJson("/api/jobs", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}
