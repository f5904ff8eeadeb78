/**
 * The verdicts of the model-parameter randomization test (Adebayo et al. 2018), the first thing to
 * know about a map: does it change when the learned weights are destroyed? A map that does not
 * shows the input and the architecture rather than what the network learned. The server words
 * the verdict; the page colours the three it knows and explains each in one line.
 */

import { h } from "./dom";

interface VerdictLook {
  kind: "depends" | "partly" | "barely";
  explanation: string;
}

const LOOKS: Record<string, VerdictLook> = {
  "depends on the weights": {
    kind: "depends",
    explanation: "the map changes once the first layers' learned weights are destroyed and ends up a different one: it depends on what the network learned",
  },
  partly: {
    kind: "partly",
    explanation: "the map keeps its ranking through some of the randomized layers or keeps part of it at the end: it mixes what the network learned with the input and the architecture",
  },
  "barely changes": {
    kind: "barely",
    explanation: "the map keeps its ranking while at least half of the layers' learned weights are destroyed: it shows the input and the architecture more than what the network learned",
  },
};

/** The one-line explanation of a verdict (the verdict itself for one the page does not know). */
export const explainVerdict = (verdict: string): string => LOOKS[verdict]?.explanation ?? verdict;

/** A badge coloured by the verdict: green when the map depends on the weights, amber partly, red barely. */
export function verdictBadge(text: string, verdict: string, testId: string): HTMLElement {
  const kind = LOOKS[verdict]?.kind ?? "unknown";
  return h("span", { class: `badge verdict verdict--${kind}`, "data-testid": testId, "data-verdict": verdict, title: explainVerdict(verdict) }, text);
}
