/**
 * The per-residue aggregate of an explanation under its map: the signed sum over a residue's
 * features as bars up (positive, red) or down (negative, blue) from zero, and the summed magnitude
 * below it, so that residues whose features cancel out still show.
 */

import { formatAttribution } from "./attributionScale";
import type { FocusHub } from "./focus";
import { LABEL_FONT } from "./figureCanvas";
import { Columns, ResidueCanvas, type ColumnLayout } from "./residueCanvas";
import { theme } from "./theme";
import type { ZoomHub } from "./zoom";

export interface AttributionTrackOptions {
  testId: string;
  label: string;
  sum: Float32Array;
  magnitude: Float32Array;
  focus: FocusHub;
  describe: (i: number) => string;
  onDrawn: () => void;
  /** The residue window the panels share. */
  zoom?: ZoomHub;
}

const SUM_HEIGHT = 46;
const MAGNITUDE_HEIGHT = 26;
const GAP = 6;
const POSITIVE = "#b1182b";
const NEGATIVE = "#2065ab";
const MAGNITUDE = "#6a51a3";

function largestMagnitude(values: Float32Array): number {
  let largest = 0;
  for (const value of values) if (Math.abs(value) > largest) largest = Math.abs(value);
  return largest;
}

export class AttributionTrack {
  private readonly canvas: ResidueCanvas;

  constructor(private readonly options: AttributionTrackOptions) {
    this.canvas = new ResidueCanvas(
      {
        testId: options.testId,
        label: options.label,
        height: SUM_HEIGHT + GAP + MAGNITUDE_HEIGHT + 2,
        columns: new Columns(options.sum.length),
        top: 0,
        focus: options.focus,
        paint: (context, layout) => this.paint(context, layout),
        describe: (i) => options.describe(i),
        zoom: options.zoom,
      },
      options.onDrawn,
    );
  }

  get element(): HTMLElement {
    return this.canvas.element;
  }

  get drawn(): boolean {
    return this.canvas.drawn;
  }

  layout(): boolean {
    return this.canvas.layout();
  }

  dispose(): void {
    this.canvas.dispose();
  }

  private paint(context: CanvasRenderingContext2D, layout: ColumnLayout): void {
    const { sum, magnitude } = this.options;
    const inner = layout.cell * sum.length;
    // Bars at least a device pixel wide, so that long sequences leave no gaps.
    const bar = Math.max(layout.cell, 1 / layout.ratio);
    const sumLimit = largestMagnitude(sum) || 1;
    const middle = SUM_HEIGHT / 2;
    context.fillStyle = theme.plotBackground;
    context.fillRect(layout.left, 0, inner, SUM_HEIGHT);
    context.fillRect(layout.left, SUM_HEIGHT + GAP, inner, MAGNITUDE_HEIGHT);
    sum.forEach((value, i) => {
      const height = (middle * value) / sumLimit;
      context.fillStyle = value >= 0 ? POSITIVE : NEGATIVE;
      context.fillRect(layout.left + i * layout.cell, height >= 0 ? middle - height : middle, bar, Math.abs(height));
    });
    context.strokeStyle = theme.axis;
    context.lineWidth = 1;
    context.beginPath();
    context.moveTo(layout.left, middle + 0.5);
    context.lineTo(layout.left + inner, middle + 0.5);
    context.stroke();

    const magnitudeLimit = largestMagnitude(magnitude) || 1;
    const bottom = SUM_HEIGHT + GAP + MAGNITUDE_HEIGHT;
    context.fillStyle = MAGNITUDE;
    magnitude.forEach((value, i) => {
      const height = (MAGNITUDE_HEIGHT * value) / magnitudeLimit;
      context.fillRect(layout.left + i * layout.cell, bottom - height, bar, height);
    });

    context.font = LABEL_FONT;
    context.fillStyle = theme.text;
    context.textAlign = "left";
    context.textBaseline = "middle";
    context.fillText("Σ signed", 0, middle, layout.left - 4);
    context.fillText("Σ |·|", 0, SUM_HEIGHT + GAP + MAGNITUDE_HEIGHT / 2, layout.left - 4);
    context.fillStyle = theme.axisText;
    context.textAlign = "right";
    context.textBaseline = "top";
    context.fillText(`+${formatAttribution(sumLimit)}`, layout.left - 3, 0, layout.left - 4);
    context.fillText(formatAttribution(magnitudeLimit), layout.left - 3, SUM_HEIGHT + GAP, layout.left - 4);
    context.textBaseline = "bottom";
    context.fillText(formatAttribution(-sumLimit), layout.left - 3, SUM_HEIGHT, layout.left - 4);
  }
}
