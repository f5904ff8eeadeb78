/**
 * Colours for attributions. Attributions are heavy-tailed (a few residues carry most of the signal),
 * so the scale ends at a percentile of |value| rather than at the maximum, and a gamma stretches the
 * small values; signed values get a diverging map centred at 0, magnitudes a sequential one.
 */

import { ColorScale, PURPLES, RED_BLUE } from "./colormaps";

export interface ColourSettings {
  /** Signed values (diverging) or their magnitude (sequential). */
  signed: boolean;
  /** One scale for all panels of a kind instead of one per panel. */
  shared: boolean;
  /** Percentile of |value| at which the scale saturates. */
  clip: number;
  /** Exponent on the normalised value: below 1 brings out small values. */
  gamma: number;
}

export const DEFAULT_COLOURS: ColourSettings = { signed: true, shared: false, clip: 99.5, gamma: 1 };
export const CLIP_RANGE = { min: 90, max: 100 } as const;
export const GAMMA_RANGE = { min: 0.3, max: 3 } as const;

/** The finite |values|, sorted, so that every percentile is one lookup. */
export function sortedMagnitudes(values: ArrayLike<number>): Float32Array {
  const magnitudes = new Float32Array(values.length);
  let count = 0;
  for (let k = 0; k < values.length; k++) {
    const value = values[k]!;
    if (Number.isFinite(value)) magnitudes[count++] = Math.abs(value);
  }
  return magnitudes.subarray(0, count).sort();
}

/** The `percent` percentile of sorted values (nearest rank); 0 when there are none. */
export function percentile(sorted: Float32Array, percent: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((percent / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** The same, over several panels' values together. */
export function pooledPercentile(sorted: Float32Array[], percent: number): number {
  if (sorted.length === 1) return percentile(sorted[0]!, percent);
  const pooled = new Float32Array(sorted.reduce((sum, values) => sum + values.length, 0));
  let offset = 0;
  for (const values of sorted) {
    pooled.set(values, offset);
    offset += values.length;
  }
  return percentile(pooled.sort(), percent);
}

const LAST = 255;

export class AttributionScale extends ColorScale {
  /** `limit` is the |value| where colours saturate; all-zero maps get 1 so that they stay neutral. */
  constructor(
    readonly limit: number,
    readonly signed: boolean,
    readonly gamma: number,
  ) {
    const end = limit > 0 ? limit : 1;
    super(signed ? RED_BLUE : PURPLES, signed ? -end : 0, end);
  }

  override index(value: number): number {
    if (Number.isNaN(value)) return -1;
    const t = Math.min(1, Math.abs(value) / this.max) ** this.gamma;
    if (!this.signed) return Math.round(t * LAST);
    return Math.round(((value < 0 ? -t : t) + 1) * 0.5 * LAST);
  }

  /** Colour-bar ticks: both ends and the middle. */
  ticks(): number[] {
    return [this.min, (this.min + this.max) / 2, this.max];
  }
}

/** Short numbers for ticks and tooltips, attributions spanning many orders of magnitude. */
export function formatAttribution(value: number): string {
  if (Number.isNaN(value)) return "n/a";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  const text = magnitude >= 0.01 && magnitude < 1000 ? value.toPrecision(3) : value.toExponential(2);
  return text.replace("-", "−");
}
