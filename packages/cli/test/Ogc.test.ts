// `geojobs ogc …` end to end: the bundle run with `node` against a real server on a real port — processes, describe,
// execute sync (raw, document) and async (--wait to the end, exit codes), status, wait, results, dismiss of a
// running Sleep, the job list's filters, exceptions as one line, and a token sent to a secured service.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { TestServer } from "@geojobs/http-server/testing"
import { SqliteStorage } from "@geojobs/store-sqlite"
import * as Bundle from "./support/Bundle.ts"

const password = "cli ogc test password"
let server: TestServer.TestServer
let url = ""
let root = ""
let bundle: Bundle.Bundle

beforeAll(async () => {
  server = await TestServer.start({
    storage: (dataDir) => SqliteStorage.layer({ dataDir }),
    services: `${TestServer.defaultServices}  - folder: Test
    name: Survey
    tasks: [{module: ${JSON.stringify(join(import.meta.dirname, "support", "Survey.ts"))}}]
  - name: Private
    access: { roles: [publisher] }
    tasks: [{tool: Echo}]
`,
    password,
    users: [{ username: "viewer", role: "viewer" }],
    engine: { maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, shutdownGraceMs: 300 }
  })
  url = server.url
  root = `${new URL(url).origin}/ogcapi`
  bundle = await Bundle.make()
  const login = await bundle.run(["login", url, "-u", "admin", "--password-stdin"], { input: `${password}\n` })
  assert.strictEqual(login.code, 0, login.stderr)
}, 120_000)
afterAll(async () => server.close())

const cli = (args: ReadonlyArray<string>, options?: Parameters<Bundle.Bundle["run"]>[1]) =>
  bundle.run(["ogc", ...args], options)

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

const subcommands = ["processes", "describe", "execute", "status", "wait", "results", "dismiss", "jobs"]

describe("geojobs ogc against a real server", () => {
  it("answers --help for the group and every command", async () => {
    const top = await bundle.run(["--help"])
    assert.match(top.stdout, /^\s+ogc\s/m)
    const group = await cli(["--help"])
    assert.strictEqual(group.code, 0)
    for (const c of subcommands) assert.match(group.stdout, new RegExp(`^\\s+${c}\\s`, "m"))
    for (const c of subcommands) {
      const help = await cli([c, "--help"])
      assert.strictEqual(help.code, 0, c)
      assert.include(help.stdout, `geojobs ogc ${c}`, c)
    }
  })

  it("processes and describe: tab-separated when piped, JSON with --json, the OGC root named or not", async () => {
    const list = await cli(["processes"])
    assert.strictEqual(list.code, 0, list.stderr)
    const rows = list.stdout.trim().split("\n")
    assert.isTrue(
      rows.some((r) => /^System\.Utilities\.Sleep\t[^\t]*\tasync-execute$/.test(r)),
      list.stdout
    )
    assert.isTrue(
      rows.some((r) => /^System\.SyncTools\.Echo\t[^\t]*\tsync-execute$/.test(r)),
      list.stdout
    )
    const json = JSON.parse((await cli(["processes", root, "--json"])).stdout)
    assert.include(
      json.processes.map((p: { id: string }) => p.id),
      "Private.Echo"
    )
    const sleep = await cli(["describe", "System.Utilities.Sleep"])
    assert.strictEqual(sleep.code, 0, sleep.stderr)
    assert.strictEqual(field(sleep.stdout, "process"), "System.Utilities.Sleep")
    assert.match(sleep.stdout, /^seconds\tinput\tnumber\trequired\t/m)
    assert.match(sleep.stdout, /^slept\toutput\tnumber\t/m)
    const described = JSON.parse((await cli(["describe", root, "System.Utilities.Sleep", "--json"])).stdout)
    assert.property(described.inputs, "seconds")
  })

  it("execute synchronously: the raw value, --document, an output file", async () => {
    const raw = await cli(["execute", "System.SyncTools.Echo", "-p", "input_string=hello there"])
    assert.strictEqual(raw.code, 0, raw.stderr)
    assert.strictEqual(raw.stdout, "hello there\n")
    const doc = await cli(["execute", "System.SyncTools.Echo", "-p", 'input_string="42"', "--document"])
    assert.strictEqual(doc.stdout.trim(), "output_string\t42")
    const json = JSON.parse(
      (await cli(["execute", "System.SyncTools.Echo", "-p", "input_string=j", "--document", "--json"])).stdout
    )
    assert.deepStrictEqual(json, { output_string: "j" })
    const file = join(bundle.home, "echo.txt")
    const written = await cli(["execute", "System.SyncTools.Echo", "-p", "input_string=to a file", "-o", file])
    assert.strictEqual(written.code, 0, written.stderr)
    assert.strictEqual(written.stdout, "")
    assert.strictEqual(readFileSync(file, "utf8"), "to a file")
  })

  it("execute --async prints the job; status, wait and results follow it; --wait prints the results at the end", async () => {
    const accepted = await cli(["execute", "System.Utilities.Sleep", "-p", "seconds=0.3", "--async"])
    assert.strictEqual(accepted.code, 0, accepted.stderr)
    const location = field(accepted.stdout, "location") ?? ""
    const jobId = field(accepted.stdout, "job") ?? ""
    assert.strictEqual(location, `${root}/jobs/${jobId}`)
    assert.include(accepted.stderr, `geojobs ogc wait ${location}`)
    const waited = await cli(["wait", location])
    assert.strictEqual(waited.code, 0, waited.stderr)
    assert.strictEqual(field(waited.stdout, "status"), "successful")
    const status = await cli(["status", jobId])
    assert.strictEqual(field(status.stdout, "status"), "successful")
    assert.strictEqual(field(status.stdout, "process"), "System.Utilities.Sleep")
    const results = await cli(["results", root, jobId])
    assert.strictEqual(results.stdout.trim(), "slept\t0.3")

    const done = await cli(["execute", "System.Utilities.Sleep", "-p", "seconds=0.2", "--async", "--wait", "--json"])
    assert.strictEqual(done.code, 0, done.stderr)
    assert.deepStrictEqual(JSON.parse(done.stdout), { slept: 0.2 })
    const failed = await cli(["execute", "Test.Survey.Survey", "-p", "steps=1", "-p", "fail=true", "--wait"])
    assert.strictEqual(failed.code, 15, failed.stderr)
    assert.match(failed.stderr, /geojobs: Job j[0-9a-f]{32} failed/)
  })

  it("dismiss cancels a running Sleep and the job is gone: status is then one line and exit 1", async () => {
    const accepted = await cli(["execute", "System.Utilities.Sleep", "-p", "seconds=30", "--async"])
    const jobId = field(accepted.stdout, "job") ?? ""
    for (let i = 0; i < 200; i++) {
      if (field((await cli(["status", jobId])).stdout, "status") === "running") break
      await new Promise((r) => setTimeout(r, 50))
    }
    const dismissed = await cli(["dismiss", `${root}/jobs/${jobId}`])
    assert.strictEqual(dismissed.code, 0, dismissed.stderr)
    assert.strictEqual(field(dismissed.stdout, "status"), "dismissed")
    const gone = await cli(["status", jobId])
    assert.strictEqual(gone.code, 1)
    assert.match(oneLine(gone), /^geojobs: No such job \(404\): /)
  })

  it("jobs: the status and process filters and the limit; a bad filter is one line", async () => {
    for (let i = 0; i < 2; i++) await cli(["execute", "System.Utilities.Echo", "-p", `input_string=${i}`, "--wait"])
    const one = await cli(["jobs", "--process", "System.Utilities.Echo", "--status", "successful", "--limit", "1"])
    assert.strictEqual(one.code, 0, one.stderr)
    const rows = one.stdout.trim().split("\n")
    assert.strictEqual(rows.length, 1)
    assert.match(rows[0] ?? "", /^j[0-9a-f]{32}\tSystem\.Utilities\.Echo\tsuccessful\t100%\t/)
    assert.include(one.stderr, "more")
    const json = JSON.parse((await cli(["jobs", root, "--status", "successful,failed", "--json"])).stdout)
    assert.isAtLeast(json.jobs.length, 2)
    const none = await cli(["jobs", "--process", "System.Utilities.Echo", "--status", "failed"])
    assert.strictEqual(none.stdout, "")
    const bad = await cli(["jobs", "--status", "finished"])
    assert.strictEqual(bad.code, 1)
    assert.match(oneLine(bad), /Invalid parameter \(400\).*status/)
  })

  it("a secured service: the saved token goes as Bearer; anonymous is told to sign in; a viewer is refused", async () => {
    const admin = await cli(["describe", root, "Private.Echo"])
    assert.strictEqual(admin.code, 0, admin.stderr)
    const nobody = join(bundle.home, "nobody")
    const anonymous = await cli(["describe", root, "Private.Echo"], { config: nobody })
    assert.strictEqual(anonymous.code, 1)
    assert.match(oneLine(anonymous), /Unauthorized \(401\).*Sign in again/)
    const viewer = await cli(["describe", "Private.Echo"], {
      config: nobody,
      env: { GEOJOBS_URL: url, GEOJOBS_USERNAME: "viewer", GEOJOBS_PASSWORD: password }
    })
    assert.strictEqual(viewer.code, 1)
    assert.match(oneLine(viewer), /Forbidden \(403\)/)
    const missing = await cli(["describe", "Nowhere.Echo"])
    assert.match(oneLine(missing), /No such process \(404\)/)
  })
})
