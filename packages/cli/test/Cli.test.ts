// The `geojobs` bundle end to end: built with tsdown into an empty folder, run with `node` as a user runs it, against
// a real server on a real port; `watch` also in a pseudo-terminal (util-linux `script`), its final frame rendered by a
// headless xterm.
import { execFile, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AdminJob } from "@geojobs/core"
import { TestServer } from "@geojobs/http-server/testing"
import { SqliteStorage } from "@geojobs/store-sqlite"
import * as DataFormat from "@geojobs/tools/DataFormat"
import xterm from "@xterm/headless"
import { Effect } from "effect"
import pkg from "../package.json" with { type: "json" }
import * as Bundle from "./support/Bundle.ts"

const password = "cli test password"
const root = join(import.meta.dirname, "..")
let server: TestServer.TestServer
let url = ""
let bundle = ""
let home = ""

beforeAll(async () => {
  server = await TestServer.start({
    storage: (dataDir) => SqliteStorage.layer({ dataDir }),
    services: `${TestServer.defaultServices}  - folder: Test
    name: Survey
    tasks: [{module: ${JSON.stringify(join(import.meta.dirname, "support", "Survey.ts"))}}]
  - folder: Test
    name: Limited
    maxExecutionTime: 1
    tasks: [{tool: Sleep}]
  - folder: Test
    name: OneAtATime
    maxConcurrentJobs: 1
    tasks: [{tool: Sleep}]
  - folder: Test
    name: Conversion
    uploads: true
    tasks: [{tool: ConvertFeatures}]
`,
    password,
    users: [{ username: "viewer", role: "viewer" }],
    engine: { maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, shutdownGraceMs: 300 }
  })
  url = server.url
  // The bundle as published, alone in a folder with no node_modules above it.
  const built = await Bundle.make()
  bundle = built.path
  home = built.home
  cli = built.run
}, 120_000)
afterAll(async () => server.close())

/** Runs the bundle with a clean environment: no colour settings, the config folder under the test's home. */
let cli: Bundle.Bundle["run"] = () => Promise.reject(new Error("the bundle is not built yet"))

/** What a test does at the terminal while the command runs: wait for text to appear, then type. */
interface Keyboard {
  readonly waitFor: (text: string) => Promise<void>
  readonly type: (keys: string) => void
}

/**
 * Runs the bundle in a pseudo-terminal (`script`), 100×30, optionally typing into it, and renders what it drew: the
 * final frame's lines.
 */
const inTerminal = (
  args: ReadonlyArray<string>,
  interact: (keyboard: Keyboard) => Promise<void> = async () => {}
): Promise<{ code: number | null; screen: ReadonlyArray<string> }> =>
  new Promise((resolve, reject) => {
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`
    const command = `stty cols 100 rows 30; ${[process.execPath, bundle, ...args].map(quote).join(" ")}`
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: home,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        TERM: "xterm-256color",
        GEOJOBS_CONFIG_DIR: join(home, "config")
      }
    })
    const chunks: Array<Buffer> = []
    child.stdout.on("data", (d: Buffer) => chunks.push(d))
    child.on("error", reject)
    const keyboard: Keyboard = {
      waitFor: async (text) => {
        while (!Buffer.concat(chunks).toString("utf8").includes(text)) {
          if (child.exitCode !== null) throw new Error(`"${text}" never appeared`)
          await new Promise((r) => setTimeout(r, 50))
        }
      },
      type: (keys) => child.stdin.write(keys)
    }
    interact(keyboard).catch(reject)
    child.on("close", (code) => {
      const term = new xterm.Terminal({ cols: 100, rows: 30, allowProposedApi: true })
      term.write(Buffer.concat(chunks).toString("utf8").replace(/\r?\n/g, "\r\n"), () => {
        const buffer = term.buffer.active
        const screen: Array<string> = []
        for (let i = 0; i < buffer.length; i++) screen.push(buffer.getLine(i)?.translateToString(true) ?? "")
        term.dispose()
        resolve({ code, screen: screen.filter((l) => l.trim() !== "") })
      })
    })
  })

const field = (stdout: string, name: string) =>
  stdout
    .split("\n")
    .find((l) => l.startsWith(`${name}\t`))
    ?.slice(name.length + 1)

const oneLine = (run: Bundle.Run) => {
  const lines = run.stderr.trim().split("\n")
  assert.strictEqual(lines.length, 1, `one line on stderr, got: ${run.stderr}`)
  assert.match(lines[0] ?? "", /^geojobs: /)
  return lines[0] ?? ""
}

const login = () => cli(["login", url, "-u", "admin", "--password-stdin"], { input: `${password}\n` })

describe("the geojobs bundle against a real server", () => {
  it("answers --version and --help for every command", async () => {
    const version = await cli(["--version"])
    assert.strictEqual(version.code, 0)
    assert.include(version.stdout, pkg.version)
    const commands = [
      ...["login", "logout", "services", "task", "submit", "job", "watch", "results", "cancel", "jobs"],
      ...["delete", "purge", "stats", "service", "upload"]
    ]
    const top = await cli(["--help"])
    for (const c of commands) assert.match(top.stdout, new RegExp(`^\\s+${c}\\s`, "m"))
    for (const c of commands) {
      const help = await cli([c, "--help"])
      assert.strictEqual(help.code, 0, c)
      assert.include(help.stdout, `geojobs ${c}`, c)
    }
  })

  it("a command line that cannot be used is one line and exit 2; an unreachable server one line and exit 1", async () => {
    for (const args of [["bogus"], ["services", "--nope"], ["task"], ["jobs", "--limit", "x"]]) {
      const run = await cli(args)
      assert.strictEqual(run.code, 2, args.join(" "))
      assert.strictEqual(run.stdout, "", args.join(" "))
      assert.match(oneLine(run), /See `geojobs( \w+)? --help`$/)
    }
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    await new Promise((resolve) => probe.close(resolve))
    const down = await cli(["services"], { env: { GEOJOBS_URL: `http://127.0.0.1:${port}/arcgis` } })
    assert.strictEqual(down.code, 1)
    assert.match(
      oneLine(down),
      /Cannot reach http:\/\/127\.0\.0\.1:\d+\/arcgis\/rest\/services: fetch failed: .*ECONNREFUSED/
    )
  })

  it("login keeps a token (not the password) in a 0600 file; a wrong password or no sign-in is one line and exit 1", async () => {
    const wrong = await cli(["login", url, "-u", "admin", "--password-stdin"], { input: "not it" })
    assert.strictEqual(wrong.code, 1)
    assert.match(oneLine(wrong), /Unable to generate token|Invalid username or password/)

    const nobody = await cli(["services"], { config: join(home, "nowhere") })
    assert.strictEqual(nobody.code, 1)
    assert.include(oneLine(nobody), "geojobs login")

    const ok = await login()
    assert.strictEqual(ok.code, 0, ok.stderr)
    assert.strictEqual(field(ok.stdout, "profile"), "default")
    const file = join(home, "config", "config.json")
    assert.strictEqual(statSync(file).mode & 0o777, 0o600)
    assert.strictEqual(statSync(join(home, "config")).mode & 0o777, 0o700)
    const text = readFileSync(file, "utf8")
    assert.notInclude(text, password)
    const saved = JSON.parse(text).profiles.default
    assert.strictEqual(saved.url, url)
    assert.strictEqual(saved.username, "admin")
    assert.isString(saved.token)
    assert.isAbove(saved.expires, Date.now())
  })

  it("services and task: tab-separated when piped, JSON with --json, a clear line for an unknown task", async () => {
    await login()
    const services = await cli(["services"])
    assert.strictEqual(services.code, 0, services.stderr)
    const rows = services.stdout.trim().split("\n")
    assert.include(rows, "System/Utilities\tGPServer")
    assert.include(rows, "Test/Survey\tGPServer")
    assert.notInclude(services.stdout, "\u001b[")
    const json = JSON.parse((await cli(["services", "System", "--json"])).stdout)
    assert.deepInclude(json.services, { name: "System/Utilities", type: "GPServer" })

    const task = await cli(["task", "Test/Survey", "Survey"])
    assert.strictEqual(task.code, 0, task.stderr)
    assert.match(task.stdout, /^steps\tInput\tGPLong\t/m)
    assert.match(task.stdout, /^report\tOutput\tGPDataFile\t/m)
    const tasks = await cli(["task", "System/Utilities"])
    assert.strictEqual(field(tasks.stdout, "tasks"), "Echo, Sleep")
    const missing = await cli(["task", "System/Utilities", "Nope"])
    assert.strictEqual(missing.code, 1)
    assert.match(oneLine(missing), /Nope|not found|does not exist/i)
  })

  it("submit: --wait to the end, results one or all; a sync task runs at once; bad input is a clear line", async () => {
    await login()
    const done = await cli(["submit", "System/Utilities", "Echo", "-p", "input_string=hello there", "--wait"])
    assert.strictEqual(done.code, 0, done.stderr)
    assert.strictEqual(field(done.stdout, "status"), "Succeeded")
    const jobUrl = field(done.stdout, "url") ?? ""
    assert.match(jobUrl, /\/rest\/services\/System\/Utilities\/GPServer\/Echo\/jobs\/j[0-9a-f]{32}$/)
    assert.strictEqual((await cli(["results", jobUrl, "output_string"])).stdout, "hello there\n")
    const all = JSON.parse((await cli(["results", jobUrl, "--json"])).stdout)
    assert.deepStrictEqual(all, [{ paramName: "output_string", dataType: "GPString", value: "hello there" }])

    const sync = await cli(["submit", "System/SyncTools", "Echo", "-p", "input_string=now"])
    assert.strictEqual(sync.code, 0, sync.stderr)
    assert.strictEqual(sync.stdout.trim(), "output_string\tGPString\tnow")

    const unknown = await cli(["submit", "System/Utilities", "Sleep", "-p", "secs=1"])
    assert.strictEqual(unknown.code, 2)
    assert.include(oneLine(unknown), '"secs"')
    const notPair = await cli(["submit", "System/Utilities", "Sleep", "-p", "seconds"])
    assert.strictEqual(notPair.code, 2)
    assert.include(oneLine(notPair), "name=value")
    const badValue = await cli(["submit", "System/Utilities", "Sleep", "-p", "seconds=soon"])
    assert.strictEqual(badValue.code, 1)
    assert.include(oneLine(badValue), "seconds")
    const badFile = await cli(["submit", "System/Utilities", "Sleep", "--params-file", "missing.json"])
    assert.strictEqual(badFile.code, 2)
    assert.include(oneLine(badFile), "missing.json")
  })

  it("a feature set from a params file, its result as GeoJSON into a file; a file result downloaded", async () => {
    await login()
    const params = join(home, "buffer.json")
    writeFileSync(
      params,
      JSON.stringify({
        Input_Features: {
          geometryType: "esriGeometryPoint",
          spatialReference: { wkid: 4326 },
          fields: [{ name: "id", type: "esriFieldTypeInteger" }],
          features: [
            { geometry: { x: 10, y: 50 }, attributes: { id: 1 } },
            { geometry: { x: 11, y: 51 }, attributes: { id: 2 } }
          ]
        },
        Distance: { distance: 1, units: "esriKilometers" }
      })
    )
    const done = await cli(["submit", "Analysis/Geometry", "Buffer", "--params-file", params, "--wait"])
    assert.strictEqual(done.code, 0, done.stderr)
    const jobUrl = field(done.stdout, "url") ?? ""
    const out = join(home, "buffers.geojson")
    const written = await cli(["results", jobUrl, "--geojson", "-o", out])
    assert.strictEqual(written.code, 0, written.stderr)
    const collection = JSON.parse(readFileSync(out, "utf8"))
    assert.strictEqual(collection.type, "FeatureCollection")
    assert.strictEqual(collection.features.length, 2)
    assert.strictEqual(collection.features[0].geometry.type, "Polygon")

    // A GeoJSON file as the input feature set, by `name=@file`.
    const sites = join(home, "sites.geojson")
    writeFileSync(
      sites,
      JSON.stringify({
        type: "FeatureCollection",
        features: [{ type: "Feature", geometry: { type: "Point", coordinates: [10, 50] }, properties: { site: "A" } }]
      })
    )
    const fromGeoJSON = await cli([
      "submit",
      "Analysis/Geometry",
      "Buffer",
      "-p",
      `Input_Features=@${sites}`,
      "-p",
      'Distance={"distance":500,"units":"esriMeters"}',
      "--wait"
    ])
    assert.strictEqual(fromGeoJSON.code, 0, fromGeoJSON.stderr)
    const buffered = JSON.parse((await cli(["results", field(fromGeoJSON.stdout, "url") ?? "", "--geojson"])).stdout)
    assert.strictEqual(buffered.features.length, 1)
    assert.strictEqual(buffered.features[0].properties.site, "A")
    assert.strictEqual(buffered.features[0].geometry.type, "Polygon")
    const missing = await cli(["submit", "Analysis/Geometry", "Buffer", "-p", "Input_Features=@nowhere.geojson"])
    assert.strictEqual(missing.code, 2)
    assert.include(oneLine(missing), "Input_Features: cannot read nowhere.geojson: ENOENT")

    const survey = await cli(["submit", "Test/Survey", "Survey", "-p", "steps=1", "--wait"])
    assert.strictEqual(survey.code, 0, survey.stderr)
    const report = join(home, "report.txt")
    const downloaded = await cli(["results", field(survey.stdout, "url") ?? "", "report", "-o", report])
    assert.strictEqual(downloaded.code, 0, downloaded.stderr)
    assert.strictEqual(readFileSync(report, "utf8"), "Surveyed 1 blocks\n")
  })

  it("results -o out.gpkg (.zip, .csv, .kml, .kmz, .json): the format by the extension, read back with the tools' readers", async () => {
    await login()
    const params = join(home, "sites.json")
    writeFileSync(
      params,
      JSON.stringify({
        Input_Features: {
          geometryType: "esriGeometryPoint",
          spatialReference: { wkid: 4326 },
          fields: [
            { name: "site", type: "esriFieldTypeString" },
            { name: "rank", type: "esriFieldTypeInteger" }
          ],
          features: [
            { geometry: { x: 10, y: 50 }, attributes: { site: "A", rank: 1 } },
            { geometry: { x: 11, y: 51 }, attributes: { site: "B", rank: 2 } }
          ]
        },
        Distance: { distance: 1, units: "esriKilometers" }
      })
    )
    const done = await cli(["submit", "Analysis/Geometry", "Buffer", "--params-file", params, "--wait"])
    assert.strictEqual(done.code, 0, done.stderr)
    const jobUrl = field(done.stdout, "url") ?? ""
    for (const [name, format] of [
      ["buffers.gpkg", "geopackage"],
      ["buffers.zip", "shapefile"],
      ["buffers.csv", "csv"],
      ["buffers.kml", "kml"],
      ["buffers.kmz", "kmz"],
      ["buffers.json", "geojson"]
    ] as const) {
      const out = join(home, name)
      // The job's only result is taken when no parameter is named.
      const written = await cli(["results", jobUrl, "-o", out])
      assert.strictEqual(written.code, 0, written.stderr)
      const bytes = new Uint8Array(readFileSync(out))
      assert.strictEqual(await Effect.runPromise(DataFormat.detect(bytes, name)), format, name)
      const read = await Effect.runPromise(DataFormat.read(bytes, { fileName: name }))
      assert.strictEqual(read.features.length, 2, name)
      assert.strictEqual(read.geometryType, "esriGeometryPolygon", name)
      assert.deepStrictEqual(
        read.features.map((f) => [f.attributes?.site, Number(f.attributes?.rank)]),
        [
          ["A", 1],
          ["B", 2]
        ],
        name
      )
    }
    const mercator = join(home, "mercator.gpkg")
    const projected = await cli(["results", jobUrl, "Output_Features", "--out-sr", "3857", "-o", mercator, "--json"])
    assert.strictEqual(projected.code, 0, projected.stderr)
    assert.strictEqual(JSON.parse(projected.stdout).format, "geopackage")
    const read = await Effect.runPromise(DataFormat.read(new Uint8Array(readFileSync(mercator))))
    assert.strictEqual(read.spatialReference?.latestWkid ?? read.spatialReference?.wkid, 3857)
    const csv = await cli(["results", jobUrl, "--format", "csv"])
    assert.strictEqual(csv.code, 0, csv.stderr)
    assert.match(csv.stdout, /^WKT,site,rank\n"POLYGON/)
    const esri = join(home, "esri.json")
    assert.strictEqual((await cli(["results", jobUrl, "--format", "json", "-o", esri])).code, 0)
    assert.strictEqual(JSON.parse(readFileSync(esri, "utf8")).geometryType, "esriGeometryPolygon")
    const binary = await cli(["results", jobUrl, "--format", "geopackage"])
    assert.strictEqual(binary.code, 2)
    assert.include(oneLine(binary), "-o")

    // A file result is downloaded whatever the extension; a value no file format applies to is the server's 400.
    const survey = await cli(["submit", "Test/Survey", "Survey", "-p", "steps=1", "--wait"])
    const copy = join(home, "report-copy.gpkg")
    const downloaded = await cli(["results", field(survey.stdout, "url") ?? "", "-o", copy])
    assert.strictEqual(downloaded.code, 0, downloaded.stderr)
    assert.strictEqual(readFileSync(copy, "utf8"), "Surveyed 1 blocks\n")
    const echoed = await cli(["submit", "System/Utilities", "Echo", "-p", "input_string=hi", "--wait"])
    const refused = await cli(["results", field(echoed.stdout, "url") ?? "", "-o", join(home, "hi.kml")])
    assert.strictEqual(refused.code, 1)
    assert.match(oneLine(refused), /f=kml.*GPString/)
    const echoJson = join(home, "hi.json")
    assert.strictEqual((await cli(["results", field(echoed.stdout, "url") ?? "", "-o", echoJson])).code, 0)
    assert.strictEqual(JSON.parse(readFileSync(echoJson, "utf8")), "hi")
  })

  it("watch exits 15 Failed (with the tool's error), 16 TimedOut, 18 Cancelled; cancel and job by service and id", async () => {
    await login()
    const failed = await cli(["submit", "Test/Survey", "Survey", "-p", "steps=1", "-p", "fail=true", "--wait"])
    assert.strictEqual(failed.code, 15)
    assert.match(failed.stderr, /^geojobs: Job j[0-9a-f]{32} Failed: .*the survey layer is locked/m)
    const again = await cli(["watch", field(failed.stdout, "url") ?? ""])
    assert.strictEqual(again.code, 15)

    const timedOut = await cli(["submit", "Test/Limited", "Sleep", "-p", "seconds=30", "--wait"])
    assert.strictEqual(timedOut.code, 16)
    assert.strictEqual(field(timedOut.stdout, "status"), "TimedOut")

    const submitted = await cli(["submit", "System/Utilities", "Sleep", "-p", "seconds=60"])
    const jobId = field(submitted.stdout, "job") ?? ""
    const cancel = await cli(["cancel", "System/Utilities", jobId])
    assert.strictEqual(cancel.code, 0, cancel.stderr)
    assert.match(field(cancel.stdout, "status") ?? "", /^Cancell(ing|ed)$/)
    const watched = await cli(["watch", "System/Utilities", jobId])
    assert.strictEqual(watched.code, 18)
    const shown = await cli(["job", "System/Utilities", jobId])
    assert.strictEqual(field(shown.stdout, "status"), "Cancelled")

    const bad = await cli(["watch", "just-one-word"])
    assert.strictEqual(bad.code, 2)
    assert.include(oneLine(bad), "Name the job")
  })

  it("job --admin prints the seed document; jobs queries with filters; a viewer is refused", async () => {
    await login()
    const done = await cli(["submit", "System/Utilities", "Echo", "-p", "input_string=x", "--wait"])
    const jobUrl = field(done.stdout, "url") ?? ""
    const jobId = field(done.stdout, "job") ?? ""
    const admin = await cli(["job", jobUrl, "--admin"])
    assert.strictEqual(admin.code, 0, admin.stderr)
    const doc = JSON.parse(admin.stdout)
    assert.deepStrictEqual(Object.keys(doc), Object.keys(AdminJob.schema.shape))
    assert.strictEqual(doc.job_id, jobId)
    assert.strictEqual(doc.status, "Succeeded")
    assert.strictEqual(doc.username, "admin")

    const failed = await cli(["jobs", "--status", "failed", "--json"])
    assert.strictEqual(failed.code, 0, failed.stderr)
    const failedRows = JSON.parse(failed.stdout) as Array<{ status: string; job_id: string }>
    assert.isAbove(failedRows.length, 0)
    assert.isTrue(failedRows.every((j) => j.status === "Failed"))
    const mine = await cli(["jobs", "-s", "System/Utilities", "--user", "admin", "--since", "1h", "--limit", "1"])
    assert.strictEqual(mine.code, 0, mine.stderr)
    const rows = mine.stdout.trim().split("\n")
    assert.strictEqual(rows.length, 1)
    assert.strictEqual(rows[0]?.split("\t")[0], jobId)
    assert.strictEqual((await cli(["jobs", "--status", "finished"])).code, 2)
    assert.strictEqual((await cli(["jobs", "--since", "a while"])).code, 2)

    const viewer = await cli(["jobs"], {
      env: { GEOJOBS_URL: url, GEOJOBS_USERNAME: "viewer", GEOJOBS_PASSWORD: password }
    })
    assert.strictEqual(viewer.code, 1)
    assert.match(oneLine(viewer), /403|privilege|not authorized|permission/i)
  })

  it("admin: stats per service, delete a job, purge a queue (with --yes when not at a terminal)", async () => {
    await login()
    const done = await cli(["submit", "System/Utilities", "Echo", "-p", "input_string=bye", "--wait"])
    const jobId = field(done.stdout, "job") ?? ""
    const before = JSON.parse((await cli(["stats", "System/Utilities", "--json"])).stdout)
    assert.strictEqual(before[0].service, "System/Utilities")
    assert.isAtLeast(before[0].succeeded, 1)
    const all = await cli(["stats"])
    assert.strictEqual(all.code, 0, all.stderr)
    assert.match(all.stdout, /^System\/Utilities\t\d+\t\d+\t\d+\t\d+$/m)

    const deleted = await cli(["delete", "System/Utilities", jobId])
    assert.strictEqual(deleted.code, 0, deleted.stderr)
    const gone = await cli(["job", "System/Utilities", jobId])
    assert.strictEqual(gone.code, 1)
    assert.match(oneLine(gone), /404|not found|does not exist/i)
    const after = JSON.parse((await cli(["stats", "System/Utilities", "--json"])).stdout)
    assert.strictEqual(after[0].total, before[0].total - 1)

    const running = field((await cli(["submit", "Test/OneAtATime", "Sleep", "-p", "seconds=30"])).stdout, "job") ?? ""
    const queued = [
      field((await cli(["submit", "Test/OneAtATime", "Sleep", "-p", "seconds=30"])).stdout, "job") ?? "",
      field((await cli(["submit", "Test/OneAtATime", "Sleep", "-p", "seconds=30"])).stdout, "job") ?? ""
    ]
    // The first one must be running before the purge, or it would be purged too.
    for (let i = 0; i < 100; i++) {
      if (field((await cli(["job", "Test/OneAtATime", running])).stdout, "status") === "Executing") break
      await new Promise((r) => setTimeout(r, 100))
    }
    const unconfirmed = await cli(["purge", "Test/OneAtATime"])
    assert.strictEqual(unconfirmed.code, 2)
    assert.include(oneLine(unconfirmed), "--yes")
    const purged = await cli(["purge", "Test/OneAtATime", "--yes"])
    assert.strictEqual(purged.code, 0, purged.stderr)
    for (const id of queued)
      assert.strictEqual(field((await cli(["job", "Test/OneAtATime", id])).stdout, "status"), "Cancelled")
    assert.strictEqual(field((await cli(["job", "Test/OneAtATime", running])).stdout, "status"), "Executing")
    await cli(["cancel", "Test/OneAtATime", running])
  })

  it("upload prints the itemID (--json the item); submit -p name=@file uploads a file parameter's file", async () => {
    await login()
    const cities = {
      geometryType: "esriGeometryPoint",
      spatialReference: { wkid: 4326 },
      fields: [{ name: "city", type: "esriFieldTypeString" }],
      features: [
        { geometry: { x: 8.54, y: 47.37 }, attributes: { city: "Zürich" } },
        { geometry: { x: 7.45, y: 46.95 }, attributes: { city: "Bern" } }
      ]
    }
    const shapefile = join(home, "cities.zip")
    writeFileSync(shapefile, (await Effect.runPromise(DataFormat.write(cities, "shapefile", { name: "cities" }))).bytes)

    const uploaded = await cli(["upload", "Test/Conversion", shapefile, "--description", "two cities"])
    assert.strictEqual(uploaded.code, 0, uploaded.stderr)
    assert.match(uploaded.stdout, /^i[0-9a-f-]+\n$/)
    assert.notInclude(uploaded.stderr, "Uploading")
    const item = JSON.parse((await cli(["upload", "Test/Conversion", shapefile, "--json"])).stdout)
    assert.strictEqual(item.itemName, "cities.zip")
    assert.isTrue(item.committed)
    assert.notStrictEqual(item.itemID, uploaded.stdout.trim())

    // The uploaded item by its itemID, as any ArcGIS client passes it.
    const byItem = await cli([
      "submit",
      "Test/Conversion",
      "ConvertFeatures",
      "-p",
      `Input_File={"itemID":"${uploaded.stdout.trim()}"}`,
      "-p",
      "Output_Format=featureset",
      "--wait"
    ])
    assert.strictEqual(byItem.code, 0, byItem.stderr)
    // -p Input_File=@file (a GPDataFile) uploads the file first; so does a zip for a feature set on this service.
    for (const param of ["Input_File", "Input_Features"]) {
      const run = await cli([
        "submit",
        "Test/Conversion",
        "ConvertFeatures",
        "-p",
        `${param}=@${shapefile}`,
        "-p",
        "Output_Format=featureset",
        "--wait"
      ])
      assert.strictEqual(run.code, 0, run.stderr)
      const jobUrl = field(run.stdout, "url") ?? ""
      const input = JSON.parse((await cli(["results", jobUrl, "Output_Features", "--json"])).stdout)
      assert.deepStrictEqual(
        input.value.features.map((f: { attributes: { city: string } }) => f.attributes.city),
        ["Zürich", "Bern"],
        param
      )
      // What the job was given: an uploaded item, not the file's text.
      const token = JSON.parse(readFileSync(join(home, "config", "config.json"), "utf8")).profiles.default.token
      const given = (await (await fetch(`${jobUrl}/inputs/${param}?f=json&token=${token}`)).json()) as {
        value: unknown
      }
      assert.match(JSON.stringify(given.value), /"itemID":"i[0-9a-f-]+"/, param)
    }

    const missing = await cli(["submit", "Test/Conversion", "ConvertFeatures", "-p", "Input_File=@nowhere.zip"])
    assert.strictEqual(missing.code, 2)
    assert.include(oneLine(missing), "Input_File: cannot read nowhere.zip: ENOENT")
    const noUploads = await cli(["upload", "System/Utilities", shapefile])
    assert.strictEqual(noUploads.code, 1)
    assert.match(oneLine(noUploads), /404/)
    const badType = join(home, "tool.exe")
    writeFileSync(badType, "MZ")
    const refused = await cli(["upload", "Test/Conversion", badType])
    assert.strictEqual(refused.code, 1)
    assert.match(oneLine(refused), /400/)
  })

  it("upload at a terminal draws a byte progress bar to 100%", async () => {
    await login()
    const file = join(home, "points.geojson")
    writeFileSync(
      file,
      JSON.stringify({
        type: "FeatureCollection",
        features: [{ type: "Feature", geometry: { type: "Point", coordinates: [10, 50] }, properties: { n: 1 } }]
      })
    )
    const { code, screen } = await inTerminal(["upload", "Test/Conversion", file])
    assert.strictEqual(code, 0, screen.join("\n"))
    const bar = screen.find((l) => l.includes("Uploading")) ?? ""
    assert.include(bar, "100%", screen.join("\n"))
    assert.include(bar, "points.geojson")
    assert.isTrue(
      screen.some((l) => /^i[0-9a-f-]+$/.test(l.trim())),
      screen.join("\n")
    )
  })

  it("service stop refuses new jobs with the server's message; start takes them again; a viewer is refused", async () => {
    await login()
    const stopped = await cli(["service", "System/SyncTools", "stop"])
    assert.strictEqual(stopped.code, 0, stopped.stderr)
    assert.include(stopped.stdout, "Stopped System/SyncTools")
    try {
      const refused = await cli(["submit", "System/SyncTools", "Echo", "-p", "input_string=no"])
      assert.strictEqual(refused.code, 1)
      assert.include(oneLine(refused), "Service System/SyncTools is stopped: it takes no new jobs.")
    } finally {
      const started = await cli(["service", "System/SyncTools", "start", "--json"])
      assert.strictEqual(started.code, 0, started.stderr)
      assert.deepStrictEqual(JSON.parse(started.stdout), { service: "System/SyncTools", status: "STARTED" })
    }
    const again = await cli(["submit", "System/SyncTools", "Echo", "-p", "input_string=yes"])
    assert.strictEqual(again.code, 0, again.stderr)
    const usage = await cli(["service", "System/SyncTools", "pause"])
    assert.strictEqual(usage.code, 2)

    const viewer = join(home, "viewer")
    const signedIn = await cli(["login", url, "-u", "viewer", "--password-stdin"], {
      input: `${password}\n`,
      config: viewer
    })
    assert.strictEqual(signedIn.code, 0, signedIn.stderr)
    const forbidden = await cli(["service", "System/SyncTools", "stop"], { config: viewer })
    assert.strictEqual(forbidden.code, 1)
    assert.match(oneLine(forbidden), /403/)
  })

  it("a saved token that expired or is refused says to sign in again", async () => {
    const config = join(home, "stale")
    mkdirSync(config, { recursive: true })
    writeFileSync(
      join(config, "config.json"),
      JSON.stringify({ profiles: { default: { url, username: "admin", token: "t", expires: Date.now() - 1000 } } })
    )
    const expired = await cli(["services"], { config })
    assert.strictEqual(expired.code, 1)
    assert.include(oneLine(expired), "geojobs login")
    writeFileSync(join(config, "config.json"), JSON.stringify({ profiles: { default: { url, token: "not-a-token" } } }))
    const refused = await cli(["jobs"], { config })
    assert.strictEqual(refused.code, 1)
    assert.match(oneLine(refused), /49[89].*geojobs login/)
  })

  it("watch in a terminal: a live bar, the messages above it, and the final frame", async () => {
    await login()
    const submitted = await cli(["submit", "Test/Survey", "Survey", "-p", "steps=3"])
    const jobUrl = field(submitted.stdout, "url") ?? ""
    const { code, screen } = await inTerminal(["watch", jobUrl])
    assert.strictEqual(code, 0, screen.join("\n"))
    const text = screen.join("\n")
    for (const i of [1, 2, 3]) assert.include(text, `Surveyed block ${i} of 3`)
    const bar = screen.findIndex((l) => /Succeeded\s+█+ 100% \|/.test(l))
    assert.isAtLeast(bar, 0, text)
    assert.isBelow(
      screen.findIndex((l) => l.includes("Surveyed block 3 of 3")),
      bar
    )
    assert.match(screen.slice(bar + 1).join("\n"), /status\s+Succeeded/)

    const failing = await cli(["submit", "Test/Survey", "Survey", "-p", "steps=1", "-p", "fail=true"])
    const failed = await inTerminal(["watch", field(failing.stdout, "url") ?? ""])
    assert.strictEqual(failed.code, 15)
    assert.match(failed.screen.join("\n"), /Failed\s+.*\|/)
    assert.match(failed.screen.join("\n"), /geojobs: Job j[0-9a-f]{32} Failed/)
  })

  it("build:sea makes a single executable that runs with no Node on PATH", async () => {
    await login()
    const out = mkdtempSync(join(tmpdir(), "geojobs-sea-"))
    // Asynchronously: the server answering the binary runs in this process.
    const run = promisify(execFile)
    await run(process.execPath, [join(root, "scripts", "build-sea.ts"), "--out", out])
    const binary = join(out, `geojobs-${process.platform}-${process.arch}`)
    const env = { PATH: "/usr/bin:/bin", HOME: home, GEOJOBS_CONFIG_DIR: join(home, "config") }
    assert.include((await run(binary, ["--version"], { env })).stdout, pkg.version)
    const services = await run(binary, ["services", "System"], { env, cwd: out })
    assert.include(services.stdout.split("\n"), "System/Utilities\tGPServer")
  }, 120_000)

  it("login at a terminal asks for the username and a hidden password", async () => {
    const { code, screen } = await inTerminal(["login", url, "--profile", "typed"], async (keys) => {
      await keys.waitFor("Username")
      keys.type("admin\r")
      await keys.waitFor("Password")
      keys.type(`${password}\r`)
    })
    const text = screen.join("\n")
    assert.strictEqual(code, 0, text)
    assert.notInclude(text, password)
    assert.match(text, /signed in\s+admin at http/)
    const saved = JSON.parse(readFileSync(join(home, "config", "config.json"), "utf8")).profiles.typed
    assert.strictEqual(saved.username, "admin")
    assert.isString(saved.token)
  })

  it("Ctrl-C stops watching with 130 and says how to resume; the job goes on", async () => {
    await login()
    const submitted = await cli(["submit", "System/Utilities", "Sleep", "-p", "seconds=20"])
    const jobUrl = field(submitted.stdout, "url") ?? ""
    const { code, screen } = await inTerminal(["watch", jobUrl], async (keys) => {
      await keys.waitFor("Executing")
      keys.type("\u0003")
    })
    const text = screen.join("\n")
    assert.strictEqual(code, 130, text)
    assert.include(text, `Stopped watching; the job goes on. Resume with: geojobs watch ${jobUrl}`.slice(0, 60))
    const job = await cli(["job", jobUrl])
    assert.strictEqual(field(job.stdout, "status"), "Executing")
    await cli(["cancel", jobUrl])
  })
})
