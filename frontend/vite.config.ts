import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The bundle is committed to src/foldlens/server/static and served by the Python server, so the
 * build must be self-contained (no CDN) and reproducible byte for byte from the lock file.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  build: {
    outDir: "../src/foldlens/server/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    sourcemap: false,
    // 3Dmol evaluates style callbacks given as strings with a direct eval; expected, not ours to fix.
    rolldownOptions: { checks: { eval: false } },
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
