// The server as it is published and as `pnpm start` runs it (issue 13): one bundle in dist/server with every
// dependency inside, tree-shaken and minified, so that a server loads only the code it uses (Effect's index loads
// every module; TypeScript sources are stripped of their types at each start). Measured on the idle server with the
// sample services: 211 MB RSS from source, 126 MB from this bundle. Entries beside `main`: the modules that are loaded
// by URL relative to the code that starts them — each worker thread's module and each built-in tool (`Builtin`) — so
// they land next to it. Kept outside: piscina, whose own worker module is found next to its files, and pg's optional
// native binding.
import { names as builtins } from "@geojobs/tools/builtin/index"
import { defineConfig } from "tsdown"

const packages = new URL("../../packages/", import.meta.url).pathname

export default defineConfig({
  entry: {
    main: "src/main.ts",
    ToolWorker: `${packages}engine/src/ToolWorker.ts`,
    InputDecoderWorker: `${packages}engine/src/InputDecoderWorker.ts`,
    LowPriorityWorker: `${packages}engine/src/LowPriorityWorker.ts`,
    RequestBodyWorker: `${packages}http-server/src/RequestBodyWorker.ts`,
    ResultFilesWorker: `${packages}http-server/src/ResultFilesWorker.ts`,
    SqliteCheckpointWorker: `${packages}store-sqlite/src/SqliteCheckpointWorker.ts`,
    ...Object.fromEntries(builtins.map((name) => [name, `${packages}tools/src/builtin/${name}.ts`]))
  },
  outDir: "dist/server",
  format: "esm",
  platform: "node",
  target: "node24",
  minify: true,
  dts: false,
  clean: true,
  outExtensions: () => ({ js: ".js" }),
  // `ServicesFile.samplePath` is `../services.sample.yaml` from the code that reads it.
  copy: [{ from: `${packages}tools/services.sample.yaml`, to: "dist" }],
  deps: { alwaysBundle: [/.*/], onlyBundle: false, neverBundle: ["piscina", "pg-native"] }
})
