/**
 * View state kept in the query string, so that reloading or sharing the URL reproduces the view:
 * `compare` = the distance map compared with the truth, `color` = the track colouring the 3D view,
 * `sel` = the selected cell "i,j" or residue "i" (1-based, as shown on the page).
 */

import type { Focus } from "./focus";

export interface ViewState {
  compare: string | null;
  color: string | null;
  selection: Focus | null;
}

function parseSelection(text: string | null, length: number): Focus | null {
  if (!text) return null;
  const numbers = text.split(",").map((part) => Number.parseInt(part, 10) - 1);
  const valid = (n: number | undefined): n is number => n !== undefined && Number.isInteger(n) && n >= 0 && n < length;
  const [i, j] = numbers;
  if (!valid(i) || numbers.length > 2) return null;
  if (numbers.length === 1) return { i, j: null };
  return valid(j) ? { i, j } : null;
}

export function readViewState(length: number): ViewState {
  const params = new URLSearchParams(window.location.search);
  return {
    compare: params.get("compare"),
    color: params.get("color"),
    selection: parseSelection(params.get("sel"), length),
  };
}

/** Rewrites the query string in place (no new history entry: view tweaks are not navigation). */
export function writeViewState(change: Partial<ViewState>): void {
  const params = new URLSearchParams(window.location.search);
  const set = (key: string, value: string | null): void => {
    if (value === null) params.delete(key);
    else params.set(key, value);
  };
  if (change.compare !== undefined) set("compare", change.compare);
  if (change.color !== undefined) set("color", change.color);
  if (change.selection !== undefined) {
    const s = change.selection;
    set("sel", s === null ? null : s.j === null ? String(s.i + 1) : `${s.i + 1},${s.j + 1}`);
  }
  const query = params.toString().replaceAll("%2C", ",");
  window.history.replaceState(null, "", `${window.location.pathname}${query ? `?${query}` : ""}`);
  window.dispatchEvent(new Event("viewstatechange"));
}
