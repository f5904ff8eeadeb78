/**
 * A zoom shared by figures, so that zooming or panning one moves them all: for the page's L × L
 * maps a square window of `size` cells whose top left cell is (row `y0`, column `x0`); for the
 * explanation panels' residue axis the `size` residues from `x0` (`y0` stays 0). Whole cells: the
 * hub keeps the exact, fractional window that wheel steps and drags add up and shows it rounded,
 * so that many small trackpad steps still zoom. The whole map is (0, 0, L). The URL keeps it,
 * 1-based, as `zoom=row,column,size` (maps) and `rzoom=first,size` (residues), so a shared link
 * opens on the same window.
 */

import { writeQuery } from "./state";

export interface MapView {
  /** First column shown, in cells from the left edge. */
  x0: number;
  /** First row shown, in cells from the top edge. */
  y0: number;
  /** Cells across (and down). */
  size: number;
}

/** The smallest window, in cells: a zoom that shows fewer would show nothing readable more. */
export const FEWEST_CELLS = 8;
/** How much one wheel notch (100 px of deltaY) zooms. */
const NOTCH = 1.25;
/** How much a key press or a button zooms. */
export const ZOOM_STEP = 1.6;

export class ZoomHub {
  /** The exact window the gestures have asked for; `view` is it in whole cells. */
  private exact: MapView;
  private current: MapView;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;

  /** `urlKey`: the URL parameter that keeps the window (read at once); `axes` 2 for maps, 1 for a residue axis. */
  constructor(
    readonly length: number,
    private readonly urlKey: string | null = null,
    private readonly axes: 1 | 2 = 2,
  ) {
    const initial = urlKey === null ? null : readView(new URLSearchParams(window.location.search).get(urlKey), length, axes);
    this.exact = this.clamped(initial ?? this.whole);
    this.current = this.rounded(this.exact);
  }

  get view(): MapView {
    return this.current;
  }

  get whole(): MapView {
    return { x0: 0, y0: 0, size: this.length };
  }

  get zoomed(): boolean {
    return this.current.size < this.length;
  }

  /** Listens to every change (redrawn at most once a frame); returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(view: MapView): void {
    this.exact = this.clamped(view);
    const shown = this.rounded(this.exact);
    if (shown.x0 === this.current.x0 && shown.y0 === this.current.y0 && shown.size === this.current.size) return;
    this.current = shown;
    if (this.urlKey !== null) writeQuery({ [this.urlKey]: this.zoomed ? formatView(this.current, this.axes) : null });
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const listener of this.listeners) listener();
    });
  }

  reset(): void {
    this.set(this.whole);
  }

  /** Zooms by `factor` (> 1: closer) keeping the cell at (row, column) — fractional cells — where it is on screen. */
  zoomAround(factor: number, row: number, column: number): void {
    const { x0, y0, size } = this.exact;
    const next = this.clampSize(size / factor);
    this.set({ x0: column - ((column - x0) * next) / size, y0: row - ((row - y0) * next) / size, size: next });
  }

  /** Moves the window, keeping its size, just enough to show cell (row, column). */
  reveal(row: number, column: number): void {
    const { x0, y0, size } = this.exact;
    const inside = (start: number, at: number): number => Math.min(at, Math.max(start, at - size + 1));
    this.set({ x0: inside(x0, column), y0: inside(y0, row), size });
  }

  /** The zoom factor of a wheel event: one notch (100 px) is ×1.25. */
  static wheelFactor(event: WheelEvent): number {
    const pixels = event.deltaMode === 1 ? event.deltaY * 33 : event.deltaMode === 2 ? event.deltaY * 800 : event.deltaY;
    return NOTCH ** (-pixels / 100);
  }

  /** Moves the window by (rows, columns) cells. */

  /** A window inside the map in whole cells. */
  private rounded({ x0, y0, size }: MapView): MapView {
    const whole = Math.round(size);
    const inside = (start: number): number => Math.min(this.length - whole, Math.round(start));
    return { x0: inside(x0), y0: inside(y0), size: whole };
  }

  private clampSize(size: number): number {
    return Math.min(this.length, Math.max(Math.min(FEWEST_CELLS, this.length), size));
  }

  /** A window inside the map, at least FEWEST_CELLS across. */
  private clamped({ x0, y0, size }: MapView): MapView {
    const fitted = this.clampSize(size);
    const inside = (start: number): number => Math.min(this.length - fitted, Math.max(0, start));
    return { x0: inside(x0), y0: inside(y0), size: fitted };
  }
}

function formatView({ x0, y0, size }: MapView, axes: 1 | 2): string {
  return axes === 2 ? `${y0 + 1},${x0 + 1},${size}` : `${x0 + 1},${size}`;
}

/** The window of `text` ("row,column,size", or "first,size" for one axis; 1-based); null when it is not that. */
function readView(text: string | null, length: number, axes: 1 | 2): MapView | null {
  const parts = (text ?? "").split(",").map((part) => (/^\d+$/.test(part) ? Number(part) : Number.NaN));
  if (parts.length !== axes + 1 || parts.some((n) => Number.isNaN(n) || n < 1)) return null;
  const [row, column, size] = axes === 2 ? (parts as [number, number, number]) : [1, parts[0]!, parts[1]!];
  return size <= length ? { x0: column - 1, y0: row - 1, size } : null;
}
