/**
 * Which methods to run and with which options, built entirely from the model's method list, so
 * that methods and options added on the server appear without a change here. Numbers are checked
 * against the option's range as they are typed, and a wrong one is reported beside its input.
 * While a layer's input is attributed to, the methods that cannot do that (the server says which)
 * are disabled with the reason, and left out of the request; they stay checked for the model input.
 */

import type { MethodInfo, MethodOption } from "./api";
import { h } from "./dom";
import type { MethodOptions } from "./explainApi";
import { methodTitle, type OptionTexts } from "./explorerTypes";

/** Checked when neither the URL nor the user chose: the three classic backward passes. */
export const DEFAULT_METHODS = ["gradient", "deconvnet", "guided_backprop"];


interface OptionInput {
  method: string;
  name: string;
  option: MethodOption;
  input: HTMLInputElement | HTMLSelectElement;
  error: HTMLElement;
}

const isInteger = (value: unknown): boolean => typeof value === "number" && Number.isInteger(value);

/** A setting as the server describes it: a number in a range, or one of some choices. */
interface OptionSpec {
  default: unknown;
  minimum: number | null;
  maximum: number | null;
  choices: string[];
}

/**
 * The input of one setting (also the analyses'): a select of its choices, or a number field with
 * its range (whole numbers when the default is one), showing `text` or else the default.
 */
export function optionInput(id: string, option: OptionSpec, text: string | undefined): HTMLInputElement | HTMLSelectElement {
  let input: HTMLInputElement | HTMLSelectElement;
  if (option.choices.length > 0) {
    input = h("select", { id, "data-testid": id });
    input.append(...option.choices.map((choice) => new Option(methodTitle(choice), choice)));
  } else {
    input = h("input", {
      type: "number",
      id,
      "data-testid": id,
      min: option.minimum === null ? undefined : String(option.minimum),
      max: option.maximum === null ? undefined : String(option.maximum),
      step: isInteger(option.default) ? "1" : "any",
    });
  }
  input.value = text ?? String(option.default);
  return input;
}

export class MethodChooser {
  readonly element: HTMLElement;
  private readonly boxes = new Map<string, HTMLInputElement>();
  private readonly reasons = new Map<string, HTMLElement>();
  private readonly inputs: OptionInput[] = [];

  constructor(
    readonly methods: MethodInfo[],
    checked: string[],
    texts: OptionTexts,
    private readonly onChange: () => void,
  ) {
    this.element = h("div", { class: "method-chooser" }, ...methods.map((method) => this.methodRow(method, checked, texts)));
  }

  /** The checked methods, those disabled for a layer included (for the URL). */
  checked(): string[] {
    return this.methods.filter((method) => this.boxes.get(method.name)!.checked).map((method) => method.name);
  }

  /** The checked methods that can run now: what a request asks for. */
  requested(): string[] {
    return this.methods.filter((method) => this.boxes.get(method.name)!.checked && !this.boxes.get(method.name)!.disabled).map((method) => method.name);
  }

  /** Disables the methods that cannot attribute to a layer's input while `wrt` names a layer. */
  setLayer(wrt: string | null): void {
    for (const method of this.methods) {
      const disabled = wrt !== null && !method.layers;
      this.boxes.get(method.name)!.disabled = disabled;
      this.reasons.get(method.name)!.hidden = !disabled;
    }
  }

  /** The options of the requested methods, or the first invalid input (focused, its error shown). */
  options(): { options: MethodOptions } | { invalid: string } {
    const checked = new Set(this.requested());
    const options: MethodOptions = {};
    for (const entry of this.inputs) {
      if (!checked.has(entry.method)) continue;
      const value = this.value(entry);
      if (value === null) {
        entry.input.focus();
        return { invalid: `${methodTitle(entry.method)}: ${entry.error.textContent}` };
      }
      (options[entry.method] ??= {})[entry.name] = value;
    }
    return { options };
  }

  /** Options that differ from their defaults, for the URL. */
  changedTexts(): OptionTexts {
    const texts: OptionTexts = {};
    for (const entry of this.inputs) {
      if (entry.input.value !== String(entry.option.default)) (texts[entry.method] ??= {})[entry.name] = entry.input.value;
    }
    return texts;
  }

  private methodRow(method: MethodInfo, checked: string[], texts: OptionTexts): HTMLElement {
    const id = `method-${method.name}`;
    const box = h("input", { type: "checkbox", id, "data-testid": id, checked: checked.includes(method.name) });
    this.boxes.set(method.name, box);
    const reason = h(
      "span",
      { class: "method-chooser__reason", "data-testid": `method-reason-${method.name}`, hidden: true },
      "model input only: it cannot attribute to a layer",
    );
    this.reasons.set(method.name, reason);
    const options = h(
      "div",
      { class: "method-chooser__options" },
      ...Object.entries(method.options).map(([name, option]) => this.optionField(method.name, name, option, texts[method.name]?.[name])),
    );
    options.hidden = !box.checked;
    box.addEventListener("change", () => {
      options.hidden = !box.checked;
      this.onChange();
    });
    return h(
      "div",
      { class: "method-chooser__method" },
      h(
        "div",
        { class: "method-chooser__head" },
        box,
        h("label", { for: id, title: method.summary }, methodTitle(method.name)),
        !method.exact && h("span", { class: "badge badge--approximate", title: method.approximation }, "approximate for this model"),
        reason,
      ),
      h("p", { class: "method-chooser__summary" }, method.summary),
      Object.keys(method.options).length > 0 && options,
    );
  }

  private optionField(method: string, name: string, option: MethodOption, text: string | undefined): HTMLElement {
    const id = `option-${method}-${name}`;
    const input = optionInput(id, option, text);
    const error = h("span", { class: "field-error", role: "alert" });
    const entry: OptionInput = { method, name, option, input, error };
    this.inputs.push(entry);
    this.value(entry);
    input.addEventListener("input", () => {
      this.value(entry);
      this.onChange();
    });
    return h(
      "div",
      { class: "method-chooser__option" },
      h("label", { for: id, title: option.description }, name),
      input,
      h("span", { class: "hint" }, option.description),
      error,
    );
  }

  /** The input's value if valid (shown as such), else null with the reason beside the input. */
  private value(entry: OptionInput): number | string | null {
    const { option, input, error } = entry;
    let problem = "";
    let value: number | string = input.value;
    if (option.choices.length > 0) {
      if (!option.choices.includes(input.value)) problem = `choose one of ${option.choices.join(", ")}`;
    } else {
      value = Number(input.value);
      const range = `${option.minimum ?? "−∞"}–${option.maximum ?? "∞"}`;
      if (input.value.trim() === "" || !Number.isFinite(value)) problem = `${entry.name} must be a number in ${range}`;
      else if ((option.minimum !== null && value < option.minimum) || (option.maximum !== null && value > option.maximum))
        problem = `${entry.name} must lie in ${range}`;
      else if (isInteger(option.default) && !Number.isInteger(value)) problem = `${entry.name} must be a whole number`;
    }
    error.textContent = problem;
    input.setAttribute("aria-invalid", String(problem !== ""));
    return problem ? null : value;
  }
}
