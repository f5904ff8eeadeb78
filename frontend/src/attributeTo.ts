/**
 * What the explanations attribute to: the model input, or the input of one of the model's layers
 * (from its spec), 1D layers giving channels × residues and 2D layers a map over residue pairs.
 */

import type { LayerSpec } from "./api";
import { h } from "./dom";

/** The select's value for the model input (layer paths are never empty). */
const MODEL_INPUT = "";

function layerText(layer: LayerSpec): string {
  const states = layer.channel_grid?.length ?? 0;
  const channels = states > 0 ? `${layer.channels} = ${states} × ${states} state pairs` : `${layer.channels} channels`;
  return `${layer.path} · ${channels}`;
}

export class AttributeTo {
  readonly element: HTMLElement;
  private readonly select: HTMLSelectElement;

  /** `initial` is a layer path, or null for the model input; an unknown path also means the input. */
  constructor(
    private readonly layers: LayerSpec[],
    inputFeatures: number | null,
    initial: string | null,
    onChange: (wrt: string | null) => void,
  ) {
    this.select = h("select", { id: "attribute-to", "data-testid": "attribute-to" });
    const group = (label: string, kind: LayerSpec["kind"]): HTMLOptGroupElement | null => {
      const members = layers.filter((layer) => layer.kind === kind);
      if (members.length === 0) return null;
      const element = h("optgroup", { label });
      element.append(...members.map((layer) => new Option(layerText(layer), layer.path)));
      return element;
    };
    this.select.append(
      new Option(inputFeatures === null ? "model input" : `model input · ${inputFeatures} features per residue`, MODEL_INPUT),
      ...[group("input of a 1D layer: channels × residues", "1d"), group("input of a 2D layer: residue pairs", "2d")].filter(
        (element): element is HTMLOptGroupElement => element !== null,
      ),
    );
    this.select.value = this.known(initial) ?? MODEL_INPUT;
    this.select.addEventListener("change", () => onChange(this.value));
    this.element = h(
      "div",
      { class: "unit-picker" },
      h("div", { class: "unit-picker__field" }, h("label", { for: "attribute-to" }, "The input of the model or of a layer"), this.select),
      h("p", { class: "hint attribute-to__hint" }, "A 2D layer's attribution is summed over its channels into a map over residue pairs."),
    );
  }

  /** The chosen layer's path, or null for the model input. */
  get value(): string | null {
    return this.select.value === MODEL_INPUT ? null : this.select.value;
  }

  private known(path: string | null): string | null {
    return this.layers.some((layer) => layer.path === path) ? path : null;
  }
}
