/**
 * Picks an internal unit to explain: a layer from the model spec, one of its output channels, and a
 * position (residue i, plus j for the 2D pair layers). Residues are 1-based here as everywhere on
 * the page; channels are 0-based indices, as the spec counts them.
 */

import type { LayerSpec } from "./api";
import { h } from "./dom";
import type { UnitTarget } from "./explainTarget";
import type { Focus } from "./focus";

export class UnitPicker {
  readonly element: HTMLElement;
  /** Where an error about the unit is shown. */
  readonly errorSlot = h("div", { class: "error-slot" });
  private readonly layer: HTMLSelectElement;
  private readonly channel: HTMLInputElement;
  private readonly i: HTMLInputElement;
  private readonly j: HTMLInputElement;

  constructor(
    private readonly layers: LayerSpec[],
    private readonly length: number,
    initial: UnitTarget | null,
    onExplain: () => void,
  ) {
    this.layer = h("select", { id: "unit-layer", "data-testid": "unit-layer" });
    this.layer.append(
      ...layers.map((layer) => new Option(`${layer.path} · ${layer.kind.toUpperCase()} · ${layer.channels} → ${layer.out_channels} channels`, layer.path)),
    );
    const residue = (id: string): HTMLInputElement => h("input", { type: "number", id, "data-testid": id, min: "1", max: String(length), step: "1", value: "1" });
    this.channel = h("input", { type: "number", id: "unit-channel", "data-testid": "unit-channel", min: "0", step: "1", value: "0" });
    this.i = residue("unit-i");
    this.j = residue("unit-j");
    if (initial) {
      this.layer.value = initial.layer;
      this.channel.value = String(initial.channel);
      this.setResidues({ i: initial.i, j: initial.j ?? null });
    }
    this.layer.addEventListener("change", () => this.fitLayer());
    this.fitLayer();

    const explain = h("button", { type: "button", class: "button button--secondary button--small", "data-testid": "unit-explain" }, "Explain unit");
    explain.addEventListener("click", onExplain);
    const field = (id: string, label: string, input: HTMLElement): HTMLElement =>
      h("div", { class: "unit-picker__field" }, h("label", { for: id }, label), input);
    this.element = h(
      "div",
      { class: "unit-picker" },
      field("unit-layer", "Layer", this.layer),
      h(
        "div",
        { class: "unit-picker__row" },
        field("unit-channel", "Channel", this.channel),
        field("unit-i", "Residue i", this.i),
        field("unit-j", "Residue j", this.j),
        explain,
      ),
      this.errorSlot,
    );
  }

  /** Follows a picked output's residues, so that the units at the same place are one click away. */
  setResidues(focus: Focus): void {
    this.i.value = String(focus.i + 1);
    if (focus.j !== null) this.j.value = String(focus.j + 1);
  }

  /** The unit as the API takes it (0-based residues), or what is wrong with the inputs. */
  target(): UnitTarget | { invalid: string } {
    const layer = this.layers.find((l) => l.path === this.layer.value);
    if (!layer) return { invalid: "choose a layer" };
    const channel = whole(this.channel.value);
    if (channel === null || channel < 0 || channel >= layer.out_channels) {
      return { invalid: `the channel must be a whole number from 0 to ${layer.out_channels - 1} (${layer.path} has ${layer.out_channels})` };
    }
    const i = this.residue(this.i);
    if (i === null) return { invalid: `residue i must be a whole number from 1 to ${this.length}` };
    if (layer.kind === "1d") return { layer: layer.path, channel, i };
    const j = this.residue(this.j);
    if (j === null) return { invalid: `residue j must be a whole number from 1 to ${this.length}` };
    return { layer: layer.path, channel, i, j };
  }

  /** Channel range from the chosen layer; j only for 2D (pair) layers. */
  private fitLayer(): void {
    const layer = this.layers.find((l) => l.path === this.layer.value);
    if (!layer) return;
    this.channel.max = String(layer.out_channels - 1);
    this.j.disabled = layer.kind !== "2d";
    this.j.title = this.j.disabled ? "1D layers have one position per residue: no j" : "";
  }

  private residue(input: HTMLInputElement): number | null {
    const n = whole(input.value);
    return n !== null && n >= 1 && n <= this.length ? n - 1 : null;
  }
}

function whole(text: string): number | null {
  return /^\s*\d+\s*$/.test(text) ? Number.parseInt(text, 10) : null;
}
