/**
 * The download menu, built only from the job's `exports` list so that new formats on the server show
 * up without a front-end change. Structure files come one per track, so they get a track select.
 */

import type { JobExport } from "./api";

const isPerTrack = (item: JobExport): boolean => new URL(item.url, window.location.origin).searchParams.has("track");

function link(item: JobExport): HTMLAnchorElement {
  const anchor = document.createElement("a");
  anchor.className = "button button--secondary";
  anchor.href = item.url;
  anchor.download = "";
  anchor.textContent = item.label;
  return anchor;
}

const GROUP_TITLES: Record<string, string> = { msa: "MSA", couplings: "Coevolution" };

function groupTitle(what: string): string {
  return GROUP_TITLES[what] ?? what.charAt(0).toUpperCase() + what.slice(1).replaceAll("_", " ");
}

function perTrackGroup(items: JobExport[], preferredTrack: string | null): HTMLElement {
  const row = document.createElement("div");
  row.className = "downloads__row";
  const select = document.createElement("select");
  select.id = "download-track";
  select.setAttribute("aria-label", "track written into the B-factor column");
  for (const item of items) {
    const option = new Option(item.label, item.url);
    const track = new URL(item.url, window.location.origin).searchParams.get("track");
    option.selected = track === preferredTrack;
    select.append(option);
  }
  const anchor = link(items.find((item) => item.url === select.value) ?? items[0]!);
  anchor.textContent = "Download PDB";
  select.addEventListener("change", () => {
    anchor.href = select.value;
  });
  row.append(select, anchor);
  return row;
}

export function downloadsSection(exports: JobExport[], preferredTrack: string | null): HTMLElement {
  if (exports.length === 0) {
    const none = document.createElement("p");
    none.dataset.testid = "downloads";
    none.textContent = "This job has no downloads.";
    return none;
  }
  const list = document.createElement("dl");
  list.className = "downloads";
  list.dataset.testid = "downloads";
  const groups = new Map<string, JobExport[]>();
  for (const item of exports) {
    const key = isPerTrack(item) ? `${item.what} per track` : item.what;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  for (const [key, items] of groups) {
    const term = document.createElement("dt");
    term.textContent = groupTitle(key);
    const detail = document.createElement("dd");
    if (items.every(isPerTrack)) {
      detail.append(perTrackGroup(items, preferredTrack));
    } else {
      detail.className = "downloads__row";
      detail.append(...items.map(link));
    }
    list.append(term, detail);
  }
  return list;
}
