/** A tiny element builder, so pages read as a tree instead of a run of createElement calls. */

export type Child = Node | string | null | undefined | false;

/**
 * `h("a", { class: "button", href: "/" }, "Home")`: attributes are set verbatim (use "data-testid",
 * "aria-label", ...); falsy children are skipped, so optional parts can be written inline.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, "");
    else if (typeof value === "string") element.setAttribute(name, value);
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

/** A titled card section of a page. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "card" }, h("h2", { class: "card__title" }, title), ...children);
}
