/**
 * Cancel and delete through another node over HTTP (issue 11), with two real server processes on one PostgreSQL
 * schema: an `api` node that runs no tools and a `worker` node that serves no job routes, so every job submitted to the
 * api node runs on the worker and every cancel sent to the api node must cross to the worker through the database
 * (its NOTIFY, or the fallback poll). The tool on the worker must get its AbortSignal (it logs it, with its pid) and
 * the job must end Cancelled; a delete sent the same way stops a running tool too and removes the job. The delays from
 * the request to the abort are printed, not asserted; every wait is bounded.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { RestJob } from "@geojobs/core"
import * as TestDatabase from "@geojobs/store-postgres/testing/TestDatabase"
import { Effect } from "effect"
import * as RunLog from "./support/RunLog.ts"
import { form, get, type ServerProcess, signIn, start } from "./support/ServerProcess.ts"

const { waitFor } = RunLog

const password = "cancel admin password"
describe.skipIf(TestDatabase.unavailable)("cancel and delete through another node (PostgreSQL)", () => {
  const schema = TestDatabase.schemaName()
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-cancel-"))
  const log = join(dataDir, "runs.log")
  // Never made: the tool runs until it is stopped (or two minutes).
  const gate = join(dataDir, "never")
  const servicesFile = join(dataDir, "services.yaml")
  let api: ServerProcess | undefined
  let worker: ServerProcess | undefined
  let token = ""

  beforeAll(async () => {
    writeFileSync(log, "")
    writeFileSync(
      servicesFile,
      `services:
  - folder: Test
    name: Fenced
    tasks: [{module: ${new URL("./support/FencedRunTool.ts", import.meta.url).pathname}}]
`
    )
    const env = (role: string, name: string) => ({
      GEOJOBS_DATABASE_URL: TestDatabase.url,
      GEOJOBS_DATABASE_SCHEMA: schema,
      GEOJOBS_DATA_DIR: dataDir,
      GEOJOBS_SERVICES: servicesFile,
      GEOJOBS_ADMIN_PASSWORD: password,
      GEOJOBS_LOG_LEVEL: "silent",
      GEOJOBS_WORKERS: "1",
      GEOJOBS_ROLE: role,
      GEOJOBS_NODE_NAME: name
    })
    // One after the other: the first migrates the fresh schema (starting together is Cluster.test.ts's case).
    api = await start(env("api", "cancel-api"))
    worker = await start(env("worker", "cancel-worker"))
    token = await signIn(api, password)
  }, 90_000)

  afterAll(async () => {
    writeFileSync(gate, "")
    await Promise.all([api?.stop(), worker?.stop()])
    await Effect.runPromise(TestDatabase.dropSchema(schema))
    rmSync(dataDir, { recursive: true, force: true })
  }, 30_000)

  const task = () => `${(api as ServerProcess).base}/rest/services/Test/Fenced/GPServer/FencedRun`
  const logged = (what: string, id: string) => RunLog.read(log).find((l) => l.what === what && l.id === id)

  /** Submits to the api node and waits until the worker's tool has started it; answers the job id. */
  const running = async () => {
    const { jobId } = RestJob.schema.parse(await form(`${task()}/submitJob`, { log, gate, f: "json", token }))
    const started = await waitFor(`job ${jobId} starts on the worker`, 60_000, () => logged("start", jobId))
    assert.strictEqual(started.pid, (worker as ServerProcess).child.pid, "the worker node runs it")
    return jobId
  }
  const document = async (jobId: string) => get(`${task()}/jobs/${jobId}?f=json&token=${token}`)

  it("a cancel sent to the api node reaches the tool on the worker (its AbortSignal); the job ends Cancelled", async () => {
    const jobId = await running()
    const sent = Date.now()
    const answer = RestJob.schema.parse(await form(`${task()}/jobs/${jobId}/cancel`, { f: "json", token }))
    assert.include(["esriJobCancelling", "esriJobCancelled"], answer.jobStatus)
    const aborted = await waitFor(`the tool of ${jobId} gets its AbortSignal`, 30_000, () => logged("abort", jobId))
    assert.strictEqual(aborted.pid, (worker as ServerProcess).child.pid)
    const final = await waitFor(`job ${jobId} ends Cancelled`, 30_000, async () => {
      const status = RestJob.schema.parse(await document(jobId)).jobStatus
      return status === "esriJobCancelled" ? status : undefined
    })
    assert.strictEqual(final, "esriJobCancelled")
    assert.isUndefined(logged("end", jobId), "the tool did not run to its end")
    console.log(`cancel through the api node: the worker's tool aborted ${aborted.at - sent} ms after the request`)
  })

  it("an admin delete sent to the api node stops the tool on the worker and removes the job", async () => {
    const jobId = await running()
    const sent = Date.now()
    const admin = `${(api as ServerProcess).base}/admin/services/Test/Fenced.GPServer/jobs/${jobId}`
    const answer = (await form(`${admin}/delete`, { f: "json", token })) as { status?: unknown }
    assert.strictEqual(answer.status, "success", JSON.stringify(answer))
    const aborted = await waitFor(`the tool of ${jobId} gets its AbortSignal`, 30_000, () => logged("abort", jobId))
    assert.strictEqual(aborted.pid, (worker as ServerProcess).child.pid)
    const gone = await waitFor(`job ${jobId} is gone`, 30_000, async () => {
      const body = (await document(jobId)) as { error?: { code?: unknown } }
      return body.error?.code === 400 || body.error?.code === 404 ? body.error.code : undefined
    })
    assert.isDefined(gone)
    console.log(`delete through the api node: the worker's tool aborted ${aborted.at - sent} ms after the request`)
  })
})
