/**
 * An explanation as a heatmap: one row per input feature (or per amino acid, for mutagenesis), one
 * column per residue, rows grouped by the model's feature groups with a gap between groups. The colours
 * go into an ImageData of rows × columns, so even 41 × 1000 values paint in a few milliseconds. When
 * residues are narrower than a device pixel, each pixel column shows the residue with the largest
 * |value| among those it covers, so that no peak disappears.
 */

import type { AttributionScale } from "./attributionScale";
import { LABEL_FONT, cellImage } from "./figureCanvas";
import type { FocusHub } from "./focus";
import { Columns, ResidueCanvas, drawRuler, type ColumnLayout } from "./residueCanvas";
import { theme } from "./theme";
import type { ZoomHub } from "./zoom";

export interface MapRow {
  /** Short label drawn beside the row, e.g. "A". */
  label: string;
  /** Rows of one group are drawn together under its name, e.g. "profile". */
  group: string;
  /** Full name for tooltips, e.g. "profile A". */
  name: string;
  /** Greyed: an input the protein lacks (all zero), shown but not counted. */
  muted?: boolean;
}

export interface AttributionMapOptions {
  testId: string;
  label: string;
  rows: MapRow[];
  /** Row-major rows × columns; NaN where there is no value. */
  values: Float32Array;
  columns: Columns;
  rowHeight: number;
  focus: FocusHub;
  /** Row of each residue's own amino acid (mutagenesis): dotted wherever its column has values. */
  wildType?: Int16Array;
  describe: (row: MapRow, i: number, value: number) => string;
  onDrawn: () => void;
  /** The residue window the panels share; only for maps showing every residue. */
  zoom?: ZoomHub;
}

const RULER = 18;
const GROUP_GAP = 4;
const ROW_FONT = "8px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";

/** Consecutive rows that share a group. */
interface RowGroup {
  name: string;
  first: number;
  count: number;
  top: number;
  muted: boolean;
}

function groupRows(rows: MapRow[], rowHeight: number): RowGroup[] {
  const groups: RowGroup[] = [];
  let top = RULER;
  rows.forEach((row, index) => {
    const last = groups[groups.length - 1];
    if (last && last.name === row.group) {
      last.count++;
    } else {
      if (last) top += last.count * rowHeight + GROUP_GAP;
      groups.push({ name: row.group, first: index, count: 1, top, muted: row.muted === true });
    }
  });
  return groups;
}

export class AttributionMap {
  private readonly canvas: ResidueCanvas;
  private readonly groups: RowGroup[];
  private scale: AttributionScale | null = null;
  private image: HTMLCanvasElement | null = null;

  constructor(private readonly options: AttributionMapOptions) {
    this.groups = groupRows(options.rows, options.rowHeight);
    const last = this.groups[this.groups.length - 1]!;
    this.canvas = new ResidueCanvas(
      {
        testId: options.testId,
        label: options.label,
        height: last.top + last.count * options.rowHeight + 2,
        columns: options.columns,
        top: RULER,
        focus: options.focus,
        paint: (context, layout) => this.paint(context, layout),
        describe: (i, y, column) => this.describeAt(i, y, column),
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

  setScale(scale: AttributionScale): void {
    this.scale = scale;
    this.image = null;
    this.canvas.repaint();
  }

  layout(): boolean {
    return this.canvas.layout();
  }

  dispose(): void {
    this.canvas.dispose();
  }

  private paint(context: CanvasRenderingContext2D, layout: ColumnLayout): void {
    const { rows, columns, rowHeight } = this.options;
    drawRuler(context, layout, RULER - 2);
    const inner = layout.cell * columns.count;
    const imageWidth = Math.min(columns.count, Math.max(1, Math.round(inner * layout.ratio)));
    if (this.scale && this.image?.width !== imageWidth) this.image = this.buildImage(imageWidth, this.scale);
    context.imageSmoothingEnabled = false;
    for (const group of this.groups) {
      const height = group.count * rowHeight;
      if (this.image) {
        context.drawImage(this.image, 0, group.first, imageWidth, group.count, layout.left, group.top, inner, height);
      }
      if (group.muted) {
        context.fillStyle = theme.veil;
        context.fillRect(layout.left, group.top, inner, height);
      }
      context.strokeStyle = theme.frame;
      context.lineWidth = 1;
      context.strokeRect(layout.left - 0.5, group.top - 0.5, inner + 1, height + 1);
      this.labelGroup(context, group);
    }
    this.drawBreaks(context, layout);
    this.drawWildType(context, layout);
    context.font = ROW_FONT;
    context.textAlign = "right";
    context.textBaseline = "middle";
    for (const group of this.groups) {
      context.fillStyle = group.muted ? theme.mutedText : theme.text;
      for (let k = 0; k < group.count; k++) {
        const y = group.top + (k + 0.5) * rowHeight;
        context.fillText(rows[group.first + k]!.label, layout.left - 3, y, layout.left - 16);
      }
    }
  }

  /** Group names run up the left edge, for groups tall enough to hold them. */
  private labelGroup(context: CanvasRenderingContext2D, group: RowGroup): void {
    const height = group.count * this.options.rowHeight;
    if (!group.name || height < 30) return;
    context.save();
    context.translate(7, group.top + height / 2);
    context.rotate(-Math.PI / 2);
    context.font = LABEL_FONT;
    context.fillStyle = theme.axisText;
    context.textAlign = "center";
    context.textBaseline = "middle";
    context.fillText(group.name, 0, 0, height);
    context.restore();
    context.strokeStyle = theme.frame;
    context.beginPath();
    context.moveTo(14.5, group.top + 1);
    context.lineTo(14.5, group.top + height - 1);
    context.stroke();
  }

  /** A white gap where the columns skip residues. */
  private drawBreaks(context: CanvasRenderingContext2D, layout: ColumnLayout): void {
    const { columns } = this.options;
    const last = this.groups[this.groups.length - 1]!;
    const bottom = last.top + last.count * this.options.rowHeight;
    context.fillStyle = theme.surface;
    for (let column = 1; column < columns.count; column++) {
      if (columns.breaksBefore(column)) context.fillRect(layout.left + column * layout.cell - 1.5, RULER, 3, bottom - RULER);
    }
  }

  private drawWildType(context: CanvasRenderingContext2D, layout: ColumnLayout): void {
    const { wildType, values, columns, rowHeight } = this.options;
    if (!wildType) return;
    const count = columns.count;
    const radius = Math.max(0.9, Math.min(layout.cell, rowHeight) * 0.3);
    context.fillStyle = "#111";
    context.beginPath();
    for (let column = 0; column < count; column++) {
      const row = wildType[columns.residue(column)]!;
      if (row < 0 || Number.isNaN(values[row * count + column]!)) continue;
      const x = layout.left + (column + 0.5) * layout.cell;
      const y = this.rowTop(row) + rowHeight / 2;
      context.moveTo(x + radius, y);
      context.arc(x, y, radius, 0, 2 * Math.PI);
    }
    context.fill();
  }

  private rowTop(row: number): number {
    const group = this.groups.find((g) => row >= g.first && row < g.first + g.count)!;
    return group.top + (row - group.first) * this.options.rowHeight;
  }

  /** One pixel per image column: the value of largest magnitude among the columns it covers. */
  private buildImage(width: number, scale: AttributionScale): HTMLCanvasElement {
    const { rows, values } = this.options;
    const count = this.options.columns.count;
    return cellImage(width, rows.length, scale, (r, x) => {
      const offset = r * count;
      const start = Math.floor((x * count) / width);
      const end = Math.max(start + 1, Math.floor(((x + 1) * count) / width));
      let value = Number.NaN;
      let largest = -1;
      for (let c = start; c < end; c++) {
        const v = values[offset + c]!;
        if (Math.abs(v) > largest) {
          largest = Math.abs(v);
          value = v;
        }
      }
      return value;
    });
  }

  private describeAt(i: number, y: number, column: number): string | null {
    const { rows, values, columns, rowHeight, describe } = this.options;
    const group = this.groups.find((g) => y >= g.top && y < g.top + g.count * rowHeight);
    if (!group) return null;
    const row = group.first + Math.floor((y - group.top) / rowHeight);
    const text = describe(rows[row]!, i, values[row * columns.count + column]!);
    return group.muted ? `${text} (absent from this input: all 0)` : text;
  }
}
