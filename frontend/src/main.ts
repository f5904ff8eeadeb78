/** Entry point: picks the page from the path. The server sends index.html for "/" and "/view/{id}". */

import "./styles.css";
import { h } from "./dom";
import { renderInputPage } from "./inputPage";
import { renderResultPage } from "./resultPage";
import { followColourScheme } from "./theme";

followColourScheme();
const root = document.getElementById("app")!;
const path = window.location.pathname;
const jobPath = /^\/view\/([^/]+)\/?$/.exec(path);

if (path === "/" || path === "/index.html") {
  renderInputPage(root);
} else if (jobPath) {
  renderResultPage(root, decodeURIComponent(jobPath[1]!));
} else {
  document.title = "Page not found · foldlens";
  root.replaceChildren(
    h("section", { class: "card" },
      h("h1", { class: "page-title" }, "Page not found"),
      h("p", { class: "error", "data-testid": "error", role: "alert" }, `There is no page at ${path}.`),
      h("p", {}, h("a", { href: "/" }, "Start a new prediction"), "."),
    ),
  );
}
