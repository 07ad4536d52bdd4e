import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { assert, beforeAll, describe, it } from "@effect/vitest"

const root = new URL("../../..", import.meta.url).pathname
const published = [
  "packages/core",
  "packages/tools",
  "packages/store-sqlite",
  "packages/store-postgres",
  "packages/engine",
  "packages/http-server",
  "packages/client",
  "packages/cli",
  "apps/server"
]

// Packed and installed once; each test below checks one thing about the installed project.
let packs = ""
let tarballs: Array<string> = []
let project = ""

beforeAll(() => {
  packs = mkdtempSync(join(tmpdir(), "geojobs-packs-"))
  for (const dir of published) {
    execFileSync("pnpm", ["pack", "--pack-destination", packs], { cwd: join(root, dir), stdio: "pipe" })
  }
  tarballs = readdirSync(packs).filter((f) => f.endsWith(".tgz"))
  project = realpathSync(mkdtempSync(join(tmpdir(), "geojobs-user-")))
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
})

describe("the published packages, installed from their tarballs into an empty project", () => {
  it("pack, install, import every entry, and use each a little", () => {
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

    writeFileSync(
      join(project, "check.mjs"),
      `
import { JobStatus, AdminJob } from "@geojobs/core"
import { Arbitraries } from "@geojobs/core/testing"
import { Builtin, ToolModule } from "@geojobs/tools"
import { Engine } from "@geojobs/engine"
import { SqliteStorage } from "@geojobs/store-sqlite"
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
  store: typeof SqliteStorage.layer,
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
      "LICENSE",
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

  it("the installed geojobs-server bin serves the sample services, runs an Echo job in a worker, stops on SIGTERM", async () => {
    const serverManifest = JSON.parse(readFileSync(join(project, "node_modules/@geojobs/server/package.json"), "utf8"))
    // The bin is the bundle (issue 13: an idle server from it is ~120 MB against ~210 MB from the modules).
    assert.deepStrictEqual(serverManifest.bin, { "geojobs-server": "./dist/server/main.js" })
    assert.notInclude(JSON.stringify(serverManifest.dependencies), "workspace:")

    // The bin runs with whatever `node` is on PATH (its #! line), as a user's would; put this Node first.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GEOJOBS_")))
    const dataDir = mkdtempSync(join(tmpdir(), "geojobs-installed-data-"))
    const child: ChildProcess = spawn(join(project, "node_modules/.bin/geojobs-server"), [], {
      cwd: project,
      env: {
        ...inherited,
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
        GEOJOBS_PORT: "0",
        GEOJOBS_DATA_DIR: dataDir,
        GEOJOBS_ADMIN_PASSWORD: "packaging admin password",
        GEOJOBS_LOG_LEVEL: "warn"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    )
    try {
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the server did not listen within 30 s:\n${output}`)), 30_000)
        child.stdout?.on("data", (d) => {
          output += String(d)
          // The banner is a few lines; the services file's line is its last fixed one.
          const match = /GeoJobs is listening on (\S+)[^\n]*\n[\s\S]*services file: .*\n/.exec(output)
          if (match?.[1]) {
            clearTimeout(timer)
            resolve(match[1])
          }
        })
        child.stderr?.on("data", (d) => {
          output += String(d)
        })
        void exited.then(({ code, signal }) => {
          clearTimeout(timer)
          reject(new Error(`the server exited (${code ?? signal}) before listening:\n${output}`))
        })
      })
      assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/arcgis$/)
      // The services file is the sample the bundle carries; the data goes where it was told.
      assert.include(
        output,
        `services file: ${join(project, "node_modules/@geojobs/server/dist/services.sample.yaml")}`
      )
      assert.include(output, `stores:             SQLite in ${dataDir}`)

      const get = async (url: string) => (await (await fetch(url)).json()) as Record<string, unknown>
      const form = async (url: string, fields: Record<string, string>) =>
        (await (await fetch(url, { method: "POST", body: new URLSearchParams(fields) })).json()) as Record<
          string,
          unknown
        >

      assert.deepStrictEqual((await get(`${base}/rest/services?f=json`)).folders, ["Analysis", "System"])
      assert.deepStrictEqual((await get(`${base}/rest/services/System?f=json`)).services, [
        { name: "System/Utilities", type: "GPServer" }
      ])

      const { token } = (await form(`${base}/tokens/generateToken`, {
        username: "admin",
        password: "packaging admin password",
        client: "requestip",
        f: "json"
      })) as { token?: unknown }
      assert.isString(token, `generateToken:\n${output}`)
      const auth = String(token)

      const echo = `${base}/rest/services/System/Utilities/GPServer/Echo`
      const submitted = (await form(`${echo}/submitJob`, { input_string: "hi", token: auth, f: "json" })) as {
        jobId?: unknown
        jobStatus?: unknown
      }
      assert.isString(submitted.jobId, JSON.stringify(submitted))
      const jobUrl = `${echo}/jobs/${String(submitted.jobId)}`
      let status = submitted.jobStatus
      for (let i = 0; i < 300 && status !== "esriJobSucceeded" && status !== "esriJobFailed"; i++) {
        await new Promise((r) => setTimeout(r, 50))
        status = (await get(`${jobUrl}?f=json&token=${auth}`)).jobStatus
      }
      assert.strictEqual(status, "esriJobSucceeded", JSON.stringify(await get(`${jobUrl}?f=json&token=${auth}`)))
      assert.strictEqual((await get(`${jobUrl}/results/output_string?f=json&token=${auth}`)).value, "hi")

      // Graceful shutdown: SIGTERM → close HTTP, stop the engine → exit code 0.
      child.kill("SIGTERM")
      const end = await Promise.race([
        exited,
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000).unref())
      ])
      assert.deepStrictEqual(end, { code: 0, signal: null }, output)
      assert.include(output, "SIGTERM received, shutting down")
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
  }, 120_000)
})
