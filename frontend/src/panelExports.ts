/**
 * Download links of one explanation result. The server renders them from its cache by the result's
 * key, so the links work for anyone holding the page's URL.
 */

import { exportUrl } from "./explainApi";
import { h } from "./dom";

interface ExportGroup {
  label: string;
  what: string;
  /** null for kinds that come in one format. */
  formats: (string | null)[];
  title: string;
  /** Only jobs with a known structure have one to annotate. */
  needsStructure?: boolean;
  /** The sequence logo: attributions to amino acids, which a layer's input does not have. */
  isLogo?: boolean;
}

/** Which of the optional downloads the result has. */
export interface ExportChoice {
  hasStructure: boolean;
  logo: boolean;
}

const EXPORT_GROUPS: ExportGroup[] = [
  { label: "Figure", what: "figure", formats: ["png", "svg", "pdf"], title: "the panel as a figure" },
  { label: "Arrays", what: "arrays", formats: ["npz", "csv", "json"], title: "the numbers behind the panel" },
  { label: "Logo", what: "logo", formats: ["png", "svg", "pdf"], title: "signed sequence logo of the attributions", isLogo: true },
  { label: "Structure", what: "pdb", formats: [null], title: "PDB with the per-residue attribution as B-factor", needsStructure: true },
  { label: "PyMOL", what: "pymol", formats: [null], title: "PyMOL script colouring residues by their attribution" },
];

const FORMAT_LABEL: Record<string, string> = { pdb: "PDB", pymol: "PML" };

export function panelExports(key: string, method: string, { hasStructure, logo }: ExportChoice): HTMLElement {
  const available = (group: ExportGroup): boolean => (hasStructure || !group.needsStructure) && (logo || !group.isLogo);
  const groups = EXPORT_GROUPS.filter(available).map((group) =>
    h(
      "li",
      { title: group.title },
      h("span", { class: "panel-exports__kind" }, group.label),
      ...group.formats.map((format) =>
        h(
          "a",
          { href: exportUrl(key, group.what, format), download: true },
          format ? format.toUpperCase() : (FORMAT_LABEL[group.what] ?? group.what),
        ),
      ),
    ),
  );
  return h("ul", { class: "panel-exports", "data-testid": `panel-exports-${method}`, "aria-label": `downloads of ${method}` }, ...groups);
}
