/**
 * The page's colours for what the canvases draw around the data — text, axes, frames, plot
 * backgrounds — read from the CSS custom properties, so that figures follow the light or dark
 * scheme (`prefers-color-scheme`). The colour maps keep their colours in both: their colours are
 * the data. When the scheme changes while the page is open, the page reloads (its whole state is
 * in the URL) so that every canvas is drawn again in the new colours.
 */

const cache = new Map<string, string>();

function cssColour(name: string, fallback: string): string {
  let value = cache.get(name);
  if (value === undefined) {
    value = getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
    cache.set(name, value);
  }
  return value;
}

/** Reloads the page when the system switches between light and dark. */
export function followColourScheme(): void {
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => window.location.reload());
}

export const theme = {
  /** Labels drawn beside the data (row names, sequence letters). */
  get text(): string {
    return cssColour("--ink", "#1f2933");
  },
  /** Axis numbers and secondary labels. */
  get axisText(): string {
    return cssColour("--axis-text", "#4a5361");
  },
  /** Axis lines and ticks. */
  get axis(): string {
    return cssColour("--axis", "#8a94a3");
  },
  /** Frames around blocks of cells. */
  get frame(): string {
    return cssColour("--frame", "#c5ced8");
  },
  /** Chart grid lines. */
  get grid(): string {
    return cssColour("--grid", "#edf0f3");
  },
  /** The background of a plot's empty area (tracks, per-residue bars). */
  get plotBackground(): string {
    return cssColour("--plot-bg", "#f4f5f7");
  },
  /** The card the figure sits on: gaps between columns are drawn in it. */
  get surface(): string {
    return cssColour("--surface", "#ffffff");
  },
  /** Laid over rows of inputs the protein lacks. */
  get veil(): string {
    return cssColour("--veil", "rgba(215, 220, 226, 0.8)");
  },
  /** Labels of those rows. */
  get mutedText(): string {
    return cssColour("--muted-text", "#9aa5b1");
  },
};
