/**
 * Colour lookup tables and value → colour scales. Tables are 256 RGB entries interpolated from a few
 * stops (taken from matplotlib), so painting an L×L map is one table lookup per cell.
 */

const LUT_SIZE = 256;

/** 256 RGB triples, flat: entry k is lut[3k..3k+2]. */
type ColorLut = Uint8ClampedArray;

function hexToRgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function lutFromStops(stops: readonly string[]): ColorLut {
  const rgb = stops.map(hexToRgb);
  const lut = new Uint8ClampedArray(LUT_SIZE * 3);
  for (let k = 0; k < LUT_SIZE; k++) {
    const position = (k / (LUT_SIZE - 1)) * (rgb.length - 1);
    const low = Math.min(Math.floor(position), rgb.length - 2);
    const t = position - low;
    const a = rgb[low]!;
    const b = rgb[low + 1]!;
    for (let c = 0; c < 3; c++) lut[3 * k + c] = Math.round(a[c]! + (b[c]! - a[c]!) * t);
  }
  return lut;
}

/** Perceptually uniform, readable in greyscale and by colour-blind readers. */
export const VIRIDIS = lutFromStops([
  "#440154", "#48186a", "#472d7b", "#424086", "#3b528b", "#33638d", "#2c728e", "#26828e", "#21918c",
  "#1fa088", "#28ae80", "#3fbc73", "#5ec962", "#84d44b", "#addc30", "#d8e219", "#fde725",
]);

/** White → dark blue for probabilities, so empty regions of a contact map stay white. */
const BLUES = lutFromStops([
  "#f7fbff", "#deebf7", "#c6dbef", "#9dcae1", "#6aaed6", "#4191c6", "#2070b4", "#08509b", "#08306b",
]);

/** Blue (negative) – white (zero) – red (positive), for signed differences. */
export const RED_BLUE = lutFromStops([
  "#053061", "#2065ab", "#4393c3", "#90c4dd", "#d1e5f0", "#f7f6f6", "#fddbc7", "#f3a481", "#d6604d",
  "#b1182b", "#67001f",
]);

/** White → dark purple for magnitudes, so zero stays white and is not mistaken for a signed value. */
export const PURPLES = lutFromStops([
  "#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d",
]);

/** Dark green → white, as AlphaFold DB draws expected errors: small errors dark. */
export const GREENS = lutFromStops([
  "#00441b", "#006d2c", "#238b45", "#41ab5d", "#74c476", "#a1d99b", "#c7e9c0", "#e5f5e0", "#f7fcf5",
]);

/** Cells without a value (e.g. residues missing from the structure). */
export const MISSING_RGB: readonly [number, number, number] = [200, 200, 200];

/** Maps values in [min, max] onto a lookup table; `reversed` flips it so small values get the bright end. */
export class ColorScale {
  constructor(
    readonly lut: ColorLut,
    readonly min: number,
    readonly max: number,
    readonly reversed = false,
  ) {}

  /** LUT entry for a value, or -1 when the value is missing (NaN). Values outside the range are clamped. */
  index(value: number): number {
    if (Number.isNaN(value)) return -1;
    let t = (value - this.min) / (this.max - this.min);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    if (this.reversed) t = 1 - t;
    return Math.round(t * (LUT_SIZE - 1));
  }

  /** CSS colour for a value. */
  css(value: number): string {
    const k = this.index(value);
    if (k < 0) return `rgb(${MISSING_RGB.join(",")})`;
    return `rgb(${this.lut[3 * k]},${this.lut[3 * k + 1]},${this.lut[3 * k + 2]})`;
  }

  /** Packed 0xRRGGBB colour, the form 3Dmol takes. */
  hex(value: number): number {
    const k = this.index(value);
    if (k < 0) return (MISSING_RGB[0] << 16) | (MISSING_RGB[1] << 8) | MISSING_RGB[2];
    return (this.lut[3 * k]! << 16) | (this.lut[3 * k + 1]! << 8) | this.lut[3 * k + 2]!;
  }
}

/** Distances in Å, 0–22: near pairs bright, far pairs dark. */
export const distanceScale = (): ColorScale => new ColorScale(VIRIDIS, 0, 22, true);

export const probabilityScale = (): ColorScale => new ColorScale(BLUES, 0, 1);

/** Predicted − true distance, symmetric around 0 so white means "right". */
export const differenceScale = (): ColorScale => new ColorScale(RED_BLUE, -10, 10);
