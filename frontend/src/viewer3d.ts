/**
 * The known structure as a 3Dmol cartoon, coloured residue by residue from a per-residue track. The
 * residues in focus are marked with spheres on their Cα atoms (and a dashed line for a pair), the
 * explained target likewise in the target colour (a solid line for a pair), drawn as separate
 * shapes so that hovering never rebuilds the cartoon.
 */

import { createViewer, type GLModel, type GLShape, type GLViewer } from "3dmol";
import { h } from "./dom";
import { TARGET_COLOR, type Focus, type FocusHub } from "./focus";
import { theme } from "./theme";

interface Point {
  x: number;
  y: number;
  z: number;
}

interface PickedAtom {
  resi?: number;
}

/** How a marked residue or pair is drawn: sphere and line radii in Å. */
interface MarkStyle {
  color: string;
  sphere: number;
  line: number;
  dashed: boolean;
}

const FOCUS_MARK: MarkStyle = { color: "#ff2d95", sphere: 1.3, line: 0.18, dashed: true };
const TARGET_MARK: MarkStyle = { color: TARGET_COLOR, sphere: 1.6, line: 0.3, dashed: false };

/** Cα coordinates by residue number, read from the PDB text the server sends (residues 1..L). */
function alphaCarbons(pdb: string): Map<number, Point> {
  const positions = new Map<number, Point>();
  for (const line of pdb.split("\n")) {
    if (!line.startsWith("ATOM") || line.slice(12, 16).trim() !== "CA") continue;
    positions.set(Number.parseInt(line.slice(22, 26), 10), {
      x: Number.parseFloat(line.slice(30, 38)),
      y: Number.parseFloat(line.slice(38, 46)),
      z: Number.parseFloat(line.slice(46, 54)),
    });
  }
  return positions;
}

/** A value → colour map as 3Dmol takes colours (a `ColorScale`, or bands such as pLDDT's). */
export interface ResidueColours {
  hex(value: number): number;
}

/** Residues outside an emphasised set: pale, so the set stands out. */
const MUTED = 0xdddddd;
/** A superposed reference structure: a thin grey ribbon behind the coloured one. */
const REFERENCE_STYLE = { cartoon: { color: "#8d96a3", opacity: 0.55, thickness: 0.2 } };

export class StructureViewer {
  readonly element: HTMLDivElement;
  private viewer: GLViewer | null = null;
  private model: GLModel | null = null;
  private readonly alphas: Map<number, Point>;
  private marks: GLShape[] = [];
  private coloring: { values: Float32Array; scale: ResidueColours } | null = null;
  private emphasis: Set<number> | null = null;
  private reference: string | null = null;
  /** On screen (an off-screen view is drawn when it comes back). */
  private visible = false;
  /** Changed since it was last drawn. */
  private stale = false;
  private frame = 0;

  constructor(
    private readonly pdb: string,
    private readonly focus: FocusHub,
  ) {
    this.element = document.createElement("div");
    this.element.className = "viewer3d";
    this.element.dataset.testid = "viewer3d";
    this.element.setAttribute("role", "img");
    this.element.setAttribute("aria-label", "3D structure, cartoon; drag to rotate, scroll to zoom");
    this.alphas = alphaCarbons(pdb);
    focus.subscribe(() => this.markFocus());
  }

  /**
   * Creates the WebGL view; the element must already be in the document so that it has a size.
   * Without WebGL the rest of the page still works, so the failure is only explained in place.
   */
  start(): void {
    let viewer: GLViewer;
    try {
      viewer = createViewer(this.element, { backgroundColor: theme.surface, antialias: true });
    } catch {
      this.element.replaceChildren(h("p", { class: "hint viewer3d__message" }, "The 3D view needs WebGL, which this browser does not provide."));
      return;
    }
    this.model = viewer.addModel(this.pdb, "pdb");
    if (this.reference) viewer.addModel(this.reference, "pdb").setStyle({}, REFERENCE_STYLE);
    viewer.setHoverDuration(40);
    viewer.setHoverable(
      {},
      true,
      (atom: PickedAtom) => {
        if (atom.resi !== undefined) this.focus.setHover({ i: atom.resi - 1, j: null });
      },
      () => this.focus.setHover(null),
    );
    this.viewer = viewer;
    this.applyStyle();
    viewer.zoomTo();
    this.markFocus();
    new ResizeObserver(() => {
      viewer.resize();
      this.redraw();
    }).observe(this.element);
    new IntersectionObserver((entries) => {
      this.visible = entries.some((entry) => entry.isIntersecting);
      this.redraw();
    }).observe(this.element);
  }

  /**
   * Draws the view at the next frame, once however many changes come before it, and only while
   * it is on screen: every hover and click moves the marks, and each drawing rebuilds the
   * cartoon's geometry (tens of milliseconds of CPU, more where WebGL is emulated in software).
   */
  private redraw(): void {
    this.stale = true;
    if (!this.visible || this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.viewer && this.stale && this.visible) {
        this.stale = false;
        this.viewer.render();
      }
    });
  }

  /** Colours the cartoon by one value per residue (index = residue number − 1). */
  colorBy(values: Float32Array, scale: ResidueColours): void {
    this.coloring = { values, scale };
    this.applyStyle();
  }

  /** Shows `pdb` (same residue numbering, already superposed) as a grey ribbon; call before `start`. */
  addReference(pdb: string): void {
    this.reference = pdb;
  }

  /** Mutes every residue outside `residues` (0-based), or none when null. */
  emphasize(residues: Set<number> | null): void {
    this.emphasis = residues;
    this.element.dataset.emphasized = residues === null ? "" : String(residues.size);
    this.applyStyle();
  }

  private applyStyle(): void {
    const viewer = this.viewer;
    const coloring = this.coloring;
    if (!viewer || !this.model || !coloring) return;
    const emphasis = this.emphasis;
    const colorfunc = (atom: PickedAtom): number => {
      if (atom.resi === undefined) return MUTED;
      if (emphasis && !emphasis.has(atom.resi - 1)) return MUTED;
      return coloring.scale.hex(coloring.values[atom.resi - 1] ?? Number.NaN);
    };
    this.model.setStyle({}, { cartoon: { colorfunc, thickness: 0.5 } });
    this.redraw();
  }

  private markFocus(): void {
    const viewer = this.viewer;
    if (!viewer) return;
    for (const shape of this.marks) viewer.removeShape(shape);
    this.marks = [];
    const { current, target } = this.focus;
    if (target) this.mark(viewer, target, TARGET_MARK);
    if (current) this.mark(viewer, current, FOCUS_MARK);
    this.redraw();
  }

  /** Spheres on the Cα atoms of i (and j), joined by a line for a pair. */
  private mark(viewer: GLViewer, focus: Focus, style: MarkStyle): void {
    const { color, dashed } = style;
    const ends = [focus.i, focus.j ?? focus.i].map((i) => this.alphas.get(i + 1));
    for (const center of new Set(ends)) {
      if (center) this.marks.push(viewer.addSphere({ center, radius: style.sphere, color }));
    }
    const [start, end] = ends;
    if (start && end && start !== end) {
      this.marks.push(viewer.addCylinder({ start, end, radius: style.line, color, dashed }));
    }
  }
}
