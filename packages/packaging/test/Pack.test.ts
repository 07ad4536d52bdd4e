import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"

const root = new URL("../../..", import.meta.url).pathname
const published = ["core", "tools", "engine", "http-server", "client", "cli"]

describe("the published packages, installed from their tarballs into an empty project", () => {
  it("pack, install, import every entry, and use each a little", () => {
    const packs = mkdtempSync(join(tmpdir(), "geojobs-packs-"))
    for (const name of published) {
      execFileSync("pnpm", ["pack", "--pack-destination", packs], { cwd: join(root, "packages", name), stdio: "pipe" })
    }
    const tarballs = readdirSync(packs).filter((f) => f.endsWith(".tgz"))
    assert.lengthOf(tarballs, published.length)

    const manifest = JSON.parse(
      execFileSync(
        "tar",
        ["-xOzf", join(packs, tarballs.find((t) => t.includes("core")) ?? ""), "package/package.json"],
        {
          encoding: "utf8"
        }
      )
    ) as { exports: Record<string, unknown>; dependencies: Record<string, string> }
    assert.deepStrictEqual(manifest.exports["."], { types: "./dist/index.d.ts", default: "./dist/index.js" })
    assert.notInclude(JSON.stringify(manifest.dependencies), "catalog:")

    const project = mkdtempSync(join(tmpdir(), "geojobs-user-"))
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user", private: true, type: "module" }))
    execFileSync(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        "fast-check@4.11.0",
        ...tarballs.map((t) => join(packs, t))
      ],
      { cwd: project, stdio: "pipe", timeout: 280_000 }
    )
    writeFileSync(
      join(project, "check.mjs"),
      `
import { JobStatus, AdminJob } from "@geojobs/core"
import { Arbitraries } from "@geojobs/core/testing"
import { Builtin, ToolModule } from "@geojobs/tools"
import { Engine, SqliteJobStore } from "@geojobs/engine"
import { Server } from "@geojobs/http-server"
import { GeoJobsClient } from "@geojobs/client"
import { Effect } from "effect"
const echo = await Effect.runPromise(ToolModule.loadTool(Builtin.modules.Echo))
console.log(JSON.stringify({
  code: JobStatus.code("Succeeded"),
  seedKeys: Object.keys(AdminJob.schema.shape).length,
  arbitraries: typeof Arbitraries.job,
  echo: echo.name,
  echoFromDist: Builtin.modules.Echo.endsWith("/dist/builtin/Echo.js"),
  engine: typeof Engine.Engine.layer,
  store: typeof SqliteJobStore.layer,
  server: typeof Server.make,
  client: typeof GeoJobsClient.connect
}))
`
    )
    const out = JSON.parse(execFileSync(process.execPath, ["check.mjs"], { cwd: project, encoding: "utf8" })) as Record<
      string,
      unknown
    >
    assert.deepStrictEqual(out, {
      code: 4,
      seedKeys: 10,
      arbitraries: "object",
      echo: "Echo",
      echoFromDist: true,
      engine: "function",
      store: "function",
      server: "function",
      client: "function"
    })
    // The CLI installs as a bin: one bundled file, no dependencies to fetch.
    const cliManifest = JSON.parse(readFileSync(join(project, "node_modules/@geojobs/cli/package.json"), "utf8"))
    assert.isUndefined(cliManifest.dependencies)
    assert.deepStrictEqual(readdirSync(join(project, "node_modules/@geojobs/cli"), { recursive: true }).sort(), [
      "README.md",
      "dist",
      "dist/geojobs.mjs",
      "package.json"
    ])
    const bin = join(project, "node_modules/.bin/geojobs")
    const help = execFileSync(bin, ["--help"], { cwd: project, encoding: "utf8" })
    assert.include(help, "submit")
    assert.include(help, "watch")
    assert.include(execFileSync(bin, ["--version"], { cwd: project, encoding: "utf8" }), cliManifest.version)
    // The sample services file ships with the tools package.
    assert.include(readFileSync(join(project, "node_modules/@geojobs/tools/services.sample.yaml"), "utf8"), "Analysis")
  })
})
