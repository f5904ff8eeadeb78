/**
 * What an explanation explains: one model output (a pair cell, a residue's class logit or value) or
 * one internal unit. Residues are 0-based as the API takes them; the page and the URL show them
 * 1-based, like every other residue number on the page.
 */

import type { Focus } from "./focus";
import { formatResidues, parseResidues } from "./state";
import { residueName } from "./values";

/** `j` for pair heads, `class` for the class logit of a per-residue distribution. */
export interface OutputTarget {
  head: string;
  i: number;
  j?: number;
  class?: string;
}

/** Channel `channel` of a layer at residue i, or at cell (i, j) of a 2D layer. */
export interface UnitTarget {
  layer: string;
  channel: number;
  i: number;
  j?: number;
}

export type ExplainTarget = OutputTarget | UnitTarget;

export const isUnitTarget = (target: ExplainTarget): target is UnitTarget => "layer" in target;

/** The residues the target sits on, for marking it in the figures. */
export function targetFocus(target: ExplainTarget): Focus {
  return { i: target.i, j: target.j ?? null };
}

/**
 * The target in the URL: "dist_cb_cb:11,61", "ss3:H:11", "rsa:11" or "unit:trunk2d.3.conv1:5:11,61"
 * (head, class, channel and residues separated by colons; residues 1-based).
 */
export function encodeTarget(target: ExplainTarget): string {
  const residues = formatResidues(targetFocus(target));
  if (isUnitTarget(target)) return `unit:${target.layer}:${target.channel}:${residues}`;
  return [target.head, target.class, residues].filter((part) => part !== undefined).join(":");
}

/** The inverse of `encodeTarget`; null for text it did not write. The server checks the rest. */
export function decodeTarget(text: string | null, length: number): ExplainTarget | null {
  if (!text) return null;
  const parts = text.split(":");
  const residues = parseResidues(parts[parts.length - 1] ?? null, length);
  if (!residues) return null;
  const at = residues.j === null ? { i: residues.i } : { i: residues.i, j: residues.j };
  if (parts[0] === "unit") {
    const [, layer, channel] = parts;
    if (parts.length !== 4 || !layer || !/^\d+$/.test(channel ?? "")) return null;
    return { layer, channel: Number.parseInt(channel!, 10), ...at };
  }
  const [head, className] = parts;
  if (!head) return null;
  if (parts.length === 2) return { head, ...at };
  return parts.length === 3 && className ? { head, class: className, ...at } : null;
}

/** The target in words, until the server's own description arrives. */
export function describeTarget(target: ExplainTarget, sequence: string, headLabel: (head: string) => string): string {
  const at =
    target.j === undefined
      ? `residue ${residueName(sequence, target.i)}`
      : `i = ${residueName(sequence, target.i)}, j = ${residueName(sequence, target.j)}`;
  if (isUnitTarget(target)) return `channel ${target.channel} of layer ${target.layer} for ${at}`;
  const what = headLabel(target.head);
  return target.class === undefined ? `${what} for ${at}` : `${what}, class ${target.class}, for ${at}`;
}
