/**
 * The input page: a sequence (or an example, an MSA, a structure) and a model go in, a job comes out,
 * and the browser moves to the job's result page. The server validates everything; its message is
 * shown right under the sequence box.
 */

import { ApiError, getJob, getSearchInfo, listExamples, listModels, submitJob, type Example, type JobStatus, type ModelInfo } from "./api";
import { rememberToken } from "./submissions";
import { h } from "./dom";

/** Letters of the sequence part of raw or FASTA text, for the live residue count. */
/** Residues of the pasted text as the server reads them: headers, numbers between blanks (a
 * GenBank or EMBL listing's positions), blanks and a final "*" left out. */
function residueCount(text: string): number {
  return text
    .split("\n")
    .filter((line) => !line.startsWith(">") && !line.startsWith(";"))
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => !/^\d+$/.test(word))
    .join("")
    .replace(/\*$/, "").length;
}

const exampleText = (example: Example): string => `>${example.id} ${example.name}\n${example.sequence}`;

export function renderInputPage(root: HTMLElement): void {
  document.title = "foldlens · predict a protein structure";

  const sequence = h("textarea", {
    id: "sequence",
    "data-testid": "sequence",
    rows: "8",
    spellcheck: "false",
    autocomplete: "off",
    placeholder: ">my_protein\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ…",
    "aria-describedby": "sequence-help sequence-count",
  });
  const count = h("span", { id: "sequence-count", class: "hint" });
  const exampleNote = h("span", { class: "hint example-note" });
  const error = h("p", { class: "error", "data-testid": "error", role: "alert", hidden: true });
  const model = h("select", { id: "model", "data-testid": "model" });
  const modelHint = h("p", { class: "hint", id: "model-hint" });
  const modelAbout = h("p", { class: "hint" });
  const modelDetails = h("details", { class: "model-details" }, h("summary", {}, "About this model"), modelAbout);
  const msa = h("input", { type: "file", id: "msa-file", "data-testid": "msa-file", accept: ".a3m,.fasta,.fa,.afa,.aln,.sto,.stk,.txt" });
  const structure = h("input", {
    type: "file",
    id: "structure-file",
    "data-testid": "structure-file",
    accept: ".pdb,.ent,.cif,.mmcif",
  });
  const search = h("input", { type: "checkbox", id: "search-msa", "data-testid": "search-msa" });
  search.disabled = true;
  const searchHint = h("p", { class: "hint", id: "search-hint" }, "Checking whether this server can search…");
  const predict = h("button", { type: "submit", class: "button", "data-testid": "predict" }, "Predict");
  const example = h("button", { type: "button", class: "button button--secondary", "data-testid": "example" }, "Example Sequence");
  // Until the server's examples have arrived there is nothing to cycle through.
  example.disabled = true;
  const lengthHelp = h("span", {});

  const form = h(
    "form",
    { class: "input-form", novalidate: true },
    h("div", { class: "field" },
      h("div", { class: "field__label-row" }, h("label", { for: "sequence" }, "Sequence"), count),
      sequence,
      exampleNote,
      error,
    ),
    h("div", { class: "form-grid" },
      h("div", { class: "field" }, h("label", { for: "model" }, "Model"), model, modelHint, modelDetails),
      h("div", { class: "field" },
        h("label", { for: "msa-file" }, "Alignment (optional)"),
        msa,
        h("p", { class: "hint" }, "A3M, aligned FASTA or Stockholm; predicts from the alignment's profile."),
        h("div", { class: "checkbox-row" }, search, h("label", { for: "search-msa" }, "No alignment? Search for one")),
        searchHint,
      ),
      h("div", { class: "field" },
        h("label", { for: "structure-file" }, "Known structure (optional)"),
        structure,
        h("p", { class: "hint" }, "PDB or mmCIF; the true maps are shown beside the predictions."),
      ),
    ),
    h("div", { class: "actions" }, predict, example),
    h("p", { class: "hint", id: "sequence-help" },
      "Paste one protein chain in the 20-letter amino-acid code, raw or as FASTA (a “>name” line, then the sequence). ",
      lengthHelp,
      " Uploads may be up to 20 MB. Ctrl+Enter predicts.",
    ),
  );

  root.replaceChildren(
    h("section", { class: "card input-card" },
      h("h1", { class: "page-title" }, "Predict a protein structure"),
      h("p", { class: "lead" },
        "foldlens predicts the four inter-residue distance maps (Cα–Cα, Cα–Cβ, Cβ–Cα, Cβ–Cβ), contacts, secondary structure and solvent accessibility of a protein from its sequence.",
      ),
      form,
    ),
  );

  let models: ModelInfo[] = [];
  let examples: Example[] = [];
  let exampleIndex = -1;
  let exampleId: string | null = null;

  const showError = (message: string | null): void => {
    error.textContent = message ?? "";
    error.hidden = message === null;
    sequence.setAttribute("aria-invalid", String(message !== null));
  };

  const selectedModel = (): ModelInfo | undefined => models.find((m) => m.name === model.value);

  const updateCount = (): void => {
    const n = residueCount(sequence.value);
    const max = selectedModel()?.spec.max_length;
    count.textContent = n === 0 ? "" : `${n} residues`;
    count.classList.toggle("hint--warning", max !== undefined && n > max);
  };

  const updateModelHint = (): void => {
    const info = selectedModel();
    if (!info) return;
    const heads = info.spec.heads.map((head) => head.name).join(", ");
    modelHint.textContent = `Up to ${info.spec.max_length} residues; predicts ${heads}.`;
    modelAbout.textContent = `${info.spec.description ?? ""} Version ${info.version}.`.trim();
    lengthHelp.textContent = `The ${info.name} model takes up to ${info.spec.max_length} residues.`;
    updateCount();
  };

  sequence.addEventListener("input", () => {
    if (exampleId !== null) {
      exampleId = null;
      exampleNote.textContent = "";
    }
    showError(null);
    updateCount();
  });
  sequence.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  model.addEventListener("change", updateModelHint);

  example.addEventListener("click", () => {
    if (examples.length === 0) {
      showError("No examples are available from the server.");
      return;
    }
    exampleIndex = (exampleIndex + 1) % examples.length;
    const chosen = examples[exampleIndex]!;
    sequence.value = exampleText(chosen);
    exampleId = chosen.id;
    exampleNote.textContent = `Example ${exampleIndex + 1} of ${examples.length}: ${chosen.id}, ${chosen.fold}, ${chosen.length} residues${chosen.has_structure ? ", with known structure" : ""}.`;
    showError(null);
    updateCount();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const msaFile = msa.files?.[0];
    const structureFile = structure.files?.[0];
    const text = sequence.value.trim();
    if (!text && !msaFile && !structureFile) {
      showError("Paste a sequence, choose an example, or upload an alignment or a structure.");
      sequence.focus();
      return;
    }
    showError(null);
    predict.disabled = true;
    predict.textContent = "Submitting…";
    try {
      // Multipart uploads have no example field, so with files the example's text is sent instead.
      // A search replaces an example's profile: the example's sequence is then sent alone.
      const searching = search.checked && !search.disabled;
      const exampleToSend = msaFile || structureFile || searching ? null : exampleId;
      const job = await submitJob({
        model: model.value,
        ...(exampleToSend ? { example: exampleToSend } : text ? { sequence: text } : {}),
        ...(msaFile ? { msa: msaFile } : {}),
        ...(structureFile ? { structure: structureFile } : {}),
        ...(searching ? { search: true } : {}),
      });
      if (job.submission && job.token) rememberToken(job.id, job.submission, job.token);
      window.location.assign(job.view);
    } catch (failure) {
      showError(failure instanceof ApiError ? failure.detail : String(failure));
      predict.disabled = false;
      predict.textContent = "Predict";
    }
  });

  void (async () => {
    const [modelResult, exampleResult, searchResult] = await Promise.allSettled([listModels(), listExamples(), getSearchInfo()]);
    if (searchResult.status === "fulfilled" && searchResult.value.available) {
      const info = searchResult.value;
      search.disabled = false;
      searchHint.textContent =
        `Runs ${info.program} in ${info.database} before predicting (seconds to minutes), and predicts from the MSA's profile when its Neff is at least ${info.neff_threshold} — else from the sequence alone, and says so.` +
        (info.note ? ` This is ${info.note}.` : "");
    } else {
      searchHint.textContent =
        searchResult.status === "fulfilled" ? `This server cannot search: ${searchResult.value.unavailable}.` : "This server's search could not be reached.";
    }
    if (modelResult.status === "fulfilled") {
      models = modelResult.value;
      model.replaceChildren(...models.map((m) => new Option(`${m.name} (${m.version})`, m.name, m.default, m.default)));
      updateModelHint();
    } else {
      showError(`The model list could not be loaded: ${(modelResult.reason as Error).message}`);
    }
    if (exampleResult.status === "fulfilled") examples = exampleResult.value;
    example.disabled = false;
    await prefillFromJob();
    document.body.dataset.inputReady = "true";
  })();

  /**
   * "Try again" links carry `?from=<job id>`: start from that job's sequence and model, and from
   * its example when it was one, so that the retry keeps the example's profile and structure.
   */
  async function prefillFromJob(): Promise<void> {
    const id = new URLSearchParams(window.location.search).get("from");
    if (!id) return;
    let job: JobStatus;
    try {
      job = await getJob(id);
    } catch {
      return;
    }
    const fromExample = examples.find((e) => e.id === job.name && e.sequence === job.sequence);
    sequence.value = fromExample ? exampleText(fromExample) : `>${job.name}\n${job.sequence}`;
    exampleId = fromExample?.id ?? null;
    if ([...model.options].some((option) => option.value === job.model)) model.value = job.model;
    updateModelHint();
    updateCount();
  }
}
