// The `geojobs` bundle: one ESM file with every dependency inside, so `node geojobs.mjs` runs from an empty folder.
import { defineConfig } from "tsdown"

export default defineConfig({
  entry: { geojobs: "src/main.ts" },
  format: "esm",
  platform: "node",
  target: "node24",
  minify: true,
  dts: false,
  clean: true,
  outExtensions: () => ({ js: ".mjs" }),
  deps: { alwaysBundle: [/.*/], onlyBundle: false }
})
