/**
 * Names and types the explorer's modules share, in a module of their own so that the state, the
 * method chooser, the panels and the state grid need not import one another for them.
 */

/** Two states of the seed2018 grid (a window of the conv1 input), e.g. ["H", "E"]. */
export type StatePair = [string, string];

/** Option values as text, method → option → value, as the URL keeps them. */
export type OptionTexts = Record<string, Record<string, string>>;

/** A method's name for people: "guided_backprop" → "guided backprop". */
/** Methods whose names are written their authors' way. */
const TITLES: Record<string, string> = { deeplift: "DeepLIFT", lrp: "LRP" };

export const methodTitle = (name: string): string => TITLES[name] ?? name.replaceAll("_", " ");
