/**
 * What the user points at, shared by every figure: the hovered cell or residue, a pinned
 * selection made by clicking, and the target being explained (explorer.ts), which every figure
 * marks. Listeners run at most once per animation frame, so pointer moves over a 1000×1000 map
 * cost one overlay redraw per figure per frame.
 */

/** 0-based residue indices; `j` is null when a single residue (not a pair) is in focus. */
export interface Focus {
  i: number;
  j: number | null;
}

/** The colour every figure marks the explained target with: green, apart from the red–blue attributions. */
export const TARGET_COLOR = "#2b8a3e";

type FocusListener = (hub: FocusHub) => void;

function sameFocus(a: Focus | null, b: Focus | null): boolean {
  return a === b || (a !== null && b !== null && a.i === b.i && a.j === b.j);
}

export class FocusHub {
  hover: Focus | null = null;
  selection: Focus | null = null;
  /** The residue or pair whose prediction the explorer explains. */
  target: Focus | null = null;
  private readonly listeners: FocusListener[] = [];
  private scheduled = false;

  constructor(private readonly onSelectionChange: (selection: Focus | null) => void) {}

  /** What the value panels show: the pointer when it is over a figure, else the selection. */
  get current(): Focus | null {
    return this.hover ?? this.selection;
  }

  /** Returns the function that unsubscribes, for figures that get replaced. */
  subscribe(listener: FocusListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  setHover(focus: Focus | null): void {
    if (sameFocus(focus, this.hover)) return;
    this.hover = focus;
    this.schedule();
  }

  setSelection(focus: Focus | null): void {
    if (sameFocus(focus, this.selection)) return;
    this.selection = focus;
    this.onSelectionChange(focus);
    this.schedule();
  }

  setTarget(focus: Focus | null): void {
    if (sameFocus(focus, this.target)) return;
    this.target = focus;
    this.schedule();
  }

  /** Clicking the selected cell again releases it. */
  toggleSelection(focus: Focus): void {
    this.setSelection(sameFocus(focus, this.selection) ? null : focus);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const listener of this.listeners) listener(this);
    });
  }
}

/**
 * The residue step an arrow key asks for on a per-residue figure (−1, +1, or 0 for other keys);
 * Escape releases the pinned selection.
 */
export function residueStep(event: KeyboardEvent, focus: FocusHub): number {
  if (event.key === "Escape") {
    focus.setSelection(null);
    return 0;
  }
  const step = event.key === "ArrowLeft" ? -1 : event.key === "ArrowRight" ? 1 : 0;
  if (step !== 0) event.preventDefault();
  return step;
}
