/**
 * GEOJOBS_ROLE with real processes on one fresh data folder: an `api` node takes jobs and runs none, a `worker` node
 * runs them and answers only `/health` and `/metrics` (everything else a 404 in the ArcGIS envelope). And a database
 * that cannot be reached stops the start with exit 1 and a message that never shows the URL's password.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { RestJob } from "@geojobs/core"
import { form, get, type ServerProcess, signIn, start } from "./support/ServerProcess.ts"

const password = "roles admin password"
const dataDir = mkdtempSync(join(tmpdir(), "geojobs-roles-"))
const servicesFile = join(dataDir, "services.yaml")
writeFileSync(
  servicesFile,
  `services:
  - folder: System
    name: Utilities
    tasks: [{tool: Echo}, {module: ${new URL("./support/ReportTool.ts", import.meta.url).pathname}}]
`
)
const env = (role: string, name: string) => ({
  GEOJOBS_DATA_DIR: dataDir,
  GEOJOBS_SERVICES: servicesFile,
  GEOJOBS_ADMIN_PASSWORD: password,
  GEOJOBS_LOG_LEVEL: "silent",
  GEOJOBS_WORKERS: "1",
  GEOJOBS_ROLE: role,
  GEOJOBS_NODE_NAME: name,
  GEOJOBS_PUBLIC_METRICS: "true"
})

let api: ServerProcess | undefined
let worker: ServerProcess | undefined
beforeAll(async () => {
  api = await start(env("api", "api-1"))
}, 60_000)
afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()])
  rmSync(dataDir, { recursive: true, force: true })
}, 30_000)

describe("GEOJOBS_ROLE", () => {
  it("api takes a job and runs it not; a worker started later runs it; the api node serves its file", async () => {
    const A = api as ServerProcess
    await A.waitForOutput("job files:")
    assert.include(A.output(), "(node api-1, role api)")
    assert.include(A.output(), "runs no tools")
    const token = await signIn(A, password)
    const report = `${A.base}/rest/services/System/Utilities/GPServer/Report`
    const { jobId } = RestJob.schema.parse(await form(`${report}/submitJob`, { title: "queued", f: "json", token }))
    const status = async () =>
      RestJob.schema.parse(await get(`${report}/jobs/${jobId}?f=json&token=${token}`)).jobStatus
    // Longer than the engine's poll interval (250 ms) several times over: nobody runs it.
    await new Promise((r) => setTimeout(r, 1500))
    assert.include(["esriJobSubmitted", "esriJobWaiting"], await status())

    worker = await start(env("worker", "worker-1"))
    let last = await status()
    // Up to a minute: a loaded CI machine starts the worker's tool thread slowly (15 s was not always enough).
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline && last !== "esriJobSucceeded" && last !== "esriJobFailed") {
      await new Promise((r) => setTimeout(r, 50))
      last = await status()
    }
    assert.strictEqual(last, "esriJobSucceeded")
    const result = (await get(`${report}/jobs/${jobId}/results/report?f=json&token=${token}`)) as {
      value: { url: string }
    }
    const text = await (await fetch(`${A.origin}${new URL(result.value.url).pathname}?token=${token}`)).text()
    assert.strictEqual(text, `Report: queued; ran in ${worker.child.pid}\n`)
  })

  it("worker: /health names it, /metrics answers, every other path is a 404 in the ArcGIS envelope", async () => {
    const W = worker as ServerProcess
    await W.waitForOutput("job files:")
    assert.include(W.output(), "(node worker-1, role worker)")
    assert.include(W.output(), "serves only")
    assert.deepStrictEqual(await get(`${W.origin}/health`), { status: "ok", node: "worker-1" })
    const metrics = await fetch(`${W.origin}/metrics`)
    assert.strictEqual(metrics.status, 200)
    assert.include(await metrics.text(), "# TYPE")
    for (const path of [
      "/arcgis/rest/services?f=json",
      "/arcgis/rest/services/System/Utilities/GPServer/Echo/submitJob?input_string=x&f=json",
      "/arcgis/tokens/generateToken",
      "/arcgis/admin/services/System/Utilities.GPServer/jobs?f=json",
      "/arcgis/rest/login",
      "/ogcapi/processes?f=json"
    ]) {
      const response = await fetch(`${W.origin}${path}`)
      const body = (await response.json()) as { error?: { code: number }; code?: number }
      assert.strictEqual(body.error?.code ?? body.code, 404, path)
    }
    assert.deepInclude(await get(`${W.origin}/arcgis/admin/services?f=json`), { status: "error", code: 404 })
  })

  it("api: /health names it too", async () => {
    assert.deepStrictEqual(await get(`${(api as ServerProcess).origin}/health`), { status: "ok", node: "api-1" })
  })
})

describe("a PostgreSQL that cannot be reached", () => {
  it("stops the start with exit 1, saying which database (password redacted) and why", async () => {
    const failure = await start({
      GEOJOBS_DATA_DIR: dataDir,
      GEOJOBS_DATABASE_URL: "postgres://geojobs:s3cret-Pw@127.0.0.1:1/gis",
      GEOJOBS_NODE_NAME: "lonely",
      GEOJOBS_LOG_LEVEL: "silent"
    }).then(
      () => assert.fail("it started"),
      (error: Error) => error.message
    )
    assert.include(failure, "server exited with 1")
    assert.include(
      failure,
      "GeoJobs cannot start (node lonely, stores: PostgreSQL postgres://geojobs:[redacted]@127.0.0.1:1/gis"
    )
    assert.include(failure, "ECONNREFUSED")
    assert.notInclude(failure, "s3cret-Pw")
  })
})
