/** Summary numbers comparing predictions with a known structure, in the conventions of CASP. */

/** The centre of the distogram's last bin (> 20 Å): the largest distance the network predicts, so
 * true distances are capped here before they are compared with predictions. */
export const DISTANCE_CAP = 20.25;

/** Mean |predicted − true| over pairs i ≠ j with a known true distance, overall and below `nearCutoff` Å. */
export function distanceErrors(
  predicted: Float32Array,
  truth: Float32Array,
  length: number,
  nearCutoff = 15,
): { all: number; near: number } {
  let sumAll = 0;
  let countAll = 0;
  let sumNear = 0;
  let countNear = 0;
  for (let i = 0; i < length; i++) {
    for (let j = 0; j < length; j++) {
      const trueValue = truth[i * length + j]!;
      if (i === j || Number.isNaN(trueValue)) continue;
      const error = Math.abs(predicted[i * length + j]! - Math.min(trueValue, DISTANCE_CAP));
      if (Number.isNaN(error)) continue;
      sumAll += error;
      countAll++;
      if (trueValue < nearCutoff) {
        sumNear += error;
        countNear++;
      }
    }
  }
  return { all: sumAll / countAll, near: sumNear / countNear };
}

export interface PrecisionAtTop {
  label: string;
  precision: number;
}

/**
 * Precision of the top L/5, L/2 and L most probable contacts with |i − j| ≥ `minSeparation`
 * (6 = short, medium and long range together), each pair counted once.
 */
export function contactPrecision(
  probability: Float32Array,
  contacts: Uint8Array,
  length: number,
  minSeparation = 6,
): PrecisionAtTop[] {
  const pairs: number[] = [];
  for (let i = 0; i < length; i++) {
    for (let j = i + minSeparation; j < length; j++) pairs.push(i * length + j);
  }
  pairs.sort((a, b) => probability[b]! - probability[a]!);
  return [
    { label: "L/5", count: Math.max(1, Math.floor(length / 5)) },
    { label: "L/2", count: Math.max(1, Math.floor(length / 2)) },
    { label: "L", count: length },
  ].map(({ label, count }) => {
    const top = pairs.slice(0, count);
    const hits = top.filter((cell) => contacts[cell] === 1).length;
    return { label, precision: top.length > 0 ? hits / top.length : Number.NaN };
  });
}
