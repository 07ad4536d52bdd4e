import { builtinModules } from "node:module"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { rolldown } from "rolldown"

// The main entry must run in browsers: bundle it, with everything it imports (@geojobs/core, effect, zod), for the
// browser platform with rolldown and fail on any Node built-in in the graph.
const builtins = new Set(builtinModules)
const isBuiltin = (source: string) => source.startsWith("node:") || builtins.has(source.split("/")[0] ?? "")

/**
 * Bundles `input` for browsers; returns each Node built-in import (seen while resolving, so before tree-shaking) as
 * `specifier ← importer`, and the modules in the bundle.
 */
const nodeImports = async (input: string) => {
  const found: Array<string> = []
  const bundle = await rolldown({
    input,
    platform: "browser",
    logLevel: "silent",
    plugins: [
      {
        name: "node-builtins",
        resolveId: (source, importer) => {
          if (!isBuiltin(source)) return null
          found.push(`${source} ← ${importer ?? "(entry)"}`)
          return { id: source, external: true }
        }
      }
    ]
  })
  const { output } = await bundle.generate({ format: "esm" })
  await bundle.close()
  return { found, modules: output.flatMap((chunk) => (chunk.type === "chunk" ? chunk.moduleIds : [])) }
}

const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url))

describe("browser safety", () => {
  it("the main entry's whole module graph bundles for browsers with no Node built-in", async () => {
    const { found, modules } = await nodeImports(entry)
    assert.deepStrictEqual(found, [])
    for (const bundled of ["/packages/core/src/RestJob.ts", "/effect/dist/Effect.js", "/zod/v4/core/core.js"])
      assert.isTrue(
        modules.some((m) => m.endsWith(bundled)),
        `${bundled} is bundled, not left external`
      )
  })

  it("the check itself sees Node built-ins deeper in the graph, static and dynamic imports alike", async () => {
    const { found } = await nodeImports(fileURLToPath(new URL("./fixtures/UsesNode.ts", import.meta.url)))
    assert.deepStrictEqual(found.map((f) => f.replace(/ ← .*\//, " ← ")).sort(), [
      "node:crypto ← NeedsNode.ts",
      "node:fs ← NeedsNode.ts"
    ])
  })
})
