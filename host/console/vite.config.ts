import { defineConfig } from "vite";

// The console is served by `muster serve` under /console/ (host/src/api/console.rs), from the
// files this build writes to dist/: one HTML page, hashed scripts and styles, nothing inline
// (the server's Content-Security-Policy allows no inline script) and nothing from another origin.
export default defineConfig({
  base: "/console/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
    // The js-rules editor (CodeMirror, sucrase) is a chunk of its own, ~700 kB, loaded only when a
    // js-rules version is edited (pages/Rules.tsx); the console itself stays far below this.
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev` against a local `muster serve` (scripts/demo).
    proxy: { "/v1": "http://127.0.0.1:8080" },
  },
});
