import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ServiceRegistry } from "@geojobs/engine"
import { Effect } from "effect"

describe("the services file in the server", () => {
  it.effect("a service's workerLimits in the services file reach the engine's registry", () =>
    Effect.gen(function* () {
      const file = join(mkdtempSync(join(tmpdir(), "geojobs-server-services-")), "services.yaml")
      writeFileSync(
        file,
        [
          "services:",
          "  - folder: Heavy",
          "    name: Rasters",
          "    maxConcurrentJobs: 1",
          "    workerLimits: { maxOldGenerationSizeMb: 2048, retireAboveHeapMb: 1024 }",
          "    tasks: [{tool: Echo}]",
          "  - name: Light",
          "    tasks: [{tool: Echo}]",
          ""
        ].join("\n")
      )
      const registry = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* ServiceRegistry.ServiceRegistry
        }),
        ServiceRegistry.ServiceRegistry.layerFile(file)
      )
      const heavy = registry.find({ folder: "Heavy", name: "Rasters" })
      assert.deepStrictEqual(heavy?.workerLimits, { maxOldGenerationSizeMb: 2048, retireAboveHeapMb: 1024 })
      assert.strictEqual(heavy?.maxConcurrentJobs, 1)
      assert.isUndefined(registry.find({ name: "Light" })?.workerLimits)
    })
  )
})
