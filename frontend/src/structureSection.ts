/**
 * The known structure with its colouring choices: a predicted per-residue track (or residue number),
 * or the per-residue attribution of one explanation panel, diverging around 0 so that residues
 * pushing the target up and down read apart.
 */

import { formatAttribution } from "./attributionScale";
import { colorBar } from "./colorbar";
import { ColorScale, VIRIDIS } from "./colormaps";
import { h, section } from "./dom";
import type { Explorer } from "./explorer";
import { writeExplorerState } from "./explorerState";
import type { ResidueTrack } from "./results";
import { writeViewState } from "./state";
import type { StructureViewer } from "./viewer3d";

/** Residue number as a colouring, for models without per-residue tracks. */
const POSITION = "position";
/** Helix probability shows at a glance whether the predicted helices sit where the structure has them. */
const PREFERRED_COLOR_TRACK = "ss3_H";
/** The "colour by explanation" choice that leaves the track colouring in place. */
const NO_PANEL = "";

/** The track asked for in the URL, else helix probability, else the first track, else residue number. */
export function initialColorTrack(tracks: ResidueTrack[], requested: string | null): string {
  const names = [...tracks.map((track) => track.name), POSITION];
  return [requested, PREFERRED_COLOR_TRACK].find((name) => name !== null && names.includes(name)) ?? names[0]!;
}

export interface StructureColouring {
  viewer: StructureViewer;
  tracks: ResidueTrack[];
  length: number;
  initialTrack: string;
  explorer: Explorer;
  /** The panel asked for in the URL; it colours the structure once its result is in. */
  initialPanel: string | null;
}

export function structureSection({ viewer, tracks, length, initialTrack, explorer, initialPanel }: StructureColouring): HTMLElement {
  const trackSelect = h("select", { id: "color-track", "data-testid": "color-track" });
  const options = [...tracks.map((track) => ({ value: track.name, label: track.label })), { value: POSITION, label: "Residue number (N → C)" }];
  trackSelect.append(...options.map((option) => new Option(option.label, option.value, false, option.value === initialTrack)));
  const panelSelect = h("select", { id: "colour-3d", "data-testid": "colour-3d" });
  const legend = h("div", { class: "viewer3d__legend" });
  let wantedPanel = initialPanel ?? NO_PANEL;
  // What the structure is coloured by now: recolouring rebuilds the cartoon, so only real changes do.
  let shown = "";
  let shownValues: Float32Array | null = null;

  const colourByTrack = (name: string): void => {
    const track = tracks.find((t) => t.name === name);
    const scale = track ? new ColorScale(VIRIDIS, 0, track.max) : new ColorScale(VIRIDIS, 1, length);
    const values = track ? track.values : Float32Array.from({ length }, (_, i) => i + 1);
    viewer.colorBy(values, scale);
    legend.replaceChildren(
      track
        ? colorBar({ scale, title: track.label, ticks: [0, track.max / 2, track.max], format: (v) => (track.max > 1 ? v.toFixed(0) : v.toFixed(1)) })
        : colorBar({ scale, title: "residue number", ticks: [1, length] }),
    );
  };

  /** The wanted panel once its result is in; the track until then. */
  const apply = (): void => {
    const panel = explorer.residueAttributions().find((attribution) => attribution.method === wantedPanel);
    if (!panel?.values) {
      if (shown !== `track ${trackSelect.value}`) colourByTrack(trackSelect.value);
      shown = `track ${trackSelect.value}`;
      return;
    }
    const scale = explorer.residueScale(panel.values);
    const key = `panel ${panel.method} ${scale.limit} ${scale.gamma}`;
    if (key === shown && panel.values === shownValues) return;
    shown = key;
    shownValues = panel.values;
    viewer.colorBy(panel.values, scale);
    legend.replaceChildren(
      colorBar({
        scale,
        title: `${panel.label}: attribution summed per residue (red positive, blue negative)`,
        ticks: scale.ticks(),
        format: formatAttribution,
      }),
    );
  };

  const listPanels = (): void => {
    const panels = explorer.residueAttributions();
    panelSelect.replaceChildren(
      new Option("none (the track)", NO_PANEL),
      ...panels.map((panel) => new Option(panel.values ? panel.label : `${panel.label} (not ready)`, panel.method)),
    );
    panelSelect.value = panels.some((panel) => panel.method === wantedPanel) ? wantedPanel : NO_PANEL;
    apply();
  };

  trackSelect.addEventListener("change", () => {
    wantedPanel = NO_PANEL;
    panelSelect.value = NO_PANEL;
    writeViewState({ color: trackSelect.value });
    writeExplorerState({ colour3d: null });
    apply();
  });
  panelSelect.addEventListener("change", () => {
    wantedPanel = panelSelect.value;
    writeExplorerState({ colour3d: wantedPanel === NO_PANEL ? null : wantedPanel });
    apply();
  });
  explorer.onAttributionsChange(listPanels);
  listPanels();

  return section(
    "Known structure",
    h(
      "div",
      { class: "controls" },
      h("label", { for: "color-track" }, "Colour by"),
      trackSelect,
      h("label", { for: "colour-3d" }, "or by explanation"),
      panelSelect,
    ),
    viewer.element,
    legend,
    h("p", { class: "hint" }, "Drag to rotate, scroll to zoom. Residues under the pointer elsewhere on the page are marked in pink, the explained target in green."),
  );
}
