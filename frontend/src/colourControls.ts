/**
 * The colour settings every explanation panel shares: signed or absolute values, one scale per
 * panel or one for all, the clipping percentile and the gamma. Changes apply as they are typed;
 * a number outside its range is marked and ignored until it is fixed.
 */

import { CLIP_RANGE, GAMMA_RANGE, type ColourSettings } from "./attributionScale";
import { h } from "./dom";

export class ColourControls {
  readonly element: HTMLElement;
  private settings: ColourSettings;

  constructor(initial: ColourSettings, onChange: (settings: ColourSettings) => void) {
    this.settings = { ...initial };
    const signed = h("select", { id: "colour-signed", "data-testid": "colour-signed" });
    signed.append(new Option("signed (diverging)", "signed", false, initial.signed), new Option("absolute (magnitude)", "absolute", false, !initial.signed));
    const shared = h("input", { type: "checkbox", id: "colour-shared", "data-testid": "colour-shared", checked: initial.shared });
    const clip = numberInput("colour-clip", initial.clip, CLIP_RANGE, "0.1");
    const gamma = numberInput("colour-gamma", initial.gamma, GAMMA_RANGE, "0.1");

    const update = (): void => {
      const next: ColourSettings = {
        signed: signed.value === "signed",
        shared: shared.checked,
        clip: inRange(clip, CLIP_RANGE) ?? this.settings.clip,
        gamma: inRange(gamma, GAMMA_RANGE) ?? this.settings.gamma,
      };
      const changed = (Object.keys(next) as (keyof ColourSettings)[]).some((key) => next[key] !== this.settings[key]);
      this.settings = next;
      if (changed) onChange(next);
    };
    signed.addEventListener("change", update);
    shared.addEventListener("change", update);
    clip.addEventListener("input", update);
    gamma.addEventListener("input", update);

    this.element = h(
      "div",
      { class: "colour-controls" },
      h("label", { for: "colour-signed" }, "Values"),
      signed,
      h("label", { for: "colour-clip", title: "the colours saturate at this percentile of |value|" }, "Clip at percentile"),
      clip,
      h("label", { for: "colour-gamma", title: "below 1 brings out small values, above 1 only the largest" }, "Gamma"),
      gamma,
      h("span", { class: "colour-controls__check" }, shared, h("label", { for: "colour-shared" }, "Same scale for all panels")),
    );
  }
}

function numberInput(id: string, value: number, range: { min: number; max: number }, step: string): HTMLInputElement {
  const input = h("input", { type: "number", id, "data-testid": id, min: String(range.min), max: String(range.max), step });
  input.value = String(value);
  return input;
}

/** The input's number when it lies in the range; otherwise null, and the input is marked invalid. */
function inRange(input: HTMLInputElement, range: { min: number; max: number }): number | null {
  const value = Number(input.value);
  const valid = input.value.trim() !== "" && value >= range.min && value <= range.max;
  input.setAttribute("aria-invalid", String(!valid));
  return valid ? value : null;
}
