/**
 * View state kept in the query string, so that reloading or sharing the URL reproduces the view:
 * `compare` = the distance map compared with the truth, `color` = the track colouring the 3D view,
 * `sel` = the selected cell "i,j" or residue "i" (1-based, as shown on the page). The explanation
 * explorer keeps its own parameters through `writeQuery` (see explorerState.ts).
 */

import type { Focus } from "./focus";

export interface ViewState {
  compare: string | null;
  color: string | null;
  selection: Focus | null;
}

/** Residues "i" or "i,j", 1-based in the text, 0-based in the result; null unless all lie in 1..length. */
export function parseResidues(text: string | null, length: number): Focus | null {
  if (!text) return null;
  const parts = text.split(",");
  if (parts.some((part) => !/^\d+$/.test(part.trim()))) return null;
  const numbers = parts.map((part) => Number.parseInt(part, 10) - 1);
  const valid = (n: number | undefined): n is number => n !== undefined && n >= 0 && n < length;
  const [i, j] = numbers;
  if (!valid(i) || numbers.length > 2) return null;
  if (numbers.length === 1) return { i, j: null };
  return valid(j) ? { i, j } : null;
}

/** The inverse of `parseResidues`. */
export function formatResidues(focus: Focus): string {
  return focus.j === null ? String(focus.i + 1) : `${focus.i + 1},${focus.j + 1}`;
}

export function readViewState(length: number): ViewState {
  const params = new URLSearchParams(window.location.search);
  return {
    compare: params.get("compare"),
    color: params.get("color"),
    selection: parseResidues(params.get("sel"), length),
  };
}

/** Separators left readable in the URL; they are legal in a query string and parse back unchanged. */
const READABLE = { "%2C": ",", "%3A": ":", "%2F": "/" } as const;

/**
 * Sets (or, for null, removes) query parameters in place: no new history entry, since view tweaks
 * are not navigation. Listeners of "viewstatechange" (the permalink) are told.
 */
export function writeQuery(change: Record<string, string | null>): void {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(change)) {
    if (value === null) params.delete(key);
    else params.set(key, value);
  }
  let query = params.toString();
  for (const [code, character] of Object.entries(READABLE)) query = query.replaceAll(code, character);
  window.history.replaceState(null, "", `${window.location.pathname}${query ? `?${query}` : ""}`);
  window.dispatchEvent(new Event("viewstatechange"));
}

export function writeViewState(change: Partial<ViewState>): void {
  const query: Record<string, string | null> = {};
  if (change.compare !== undefined) query.compare = change.compare;
  if (change.color !== undefined) query.color = change.color;
  if (change.selection !== undefined) query.sel = change.selection === null ? null : formatResidues(change.selection);
  writeQuery(query);
}
