// The OGC API – Processes calls against a real server on a real port: processes and descriptions, execute sync (raw,
// document, by reference) and async (201 + Location), waiting to the end, results, dismiss of a running Sleep, the
// job list's filters and pages, exceptions as ClientErrors naming their problem, and Bearer tokens on a secured
// service.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { OgcException } from "@geojobs/core"
import { TestServer } from "@geojobs/http-server/testing"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { Effect } from "effect"
import { GeoJobs, GeoJobsClient, isProblem, isTokenError, OgcClient } from "../src/index.ts"
import { rejection } from "./support/Rejection.ts"

let server: TestServer.TestServer
let url = ""
let root = ""
const password = "ogc client test password"

beforeAll(async () => {
  server = await TestServer.start({
    storage: (dataDir) => SqliteStorage.layer({ dataDir }),
    services: `${TestServer.defaultServices}  - name: Private
    access: { roles: [publisher] }
    tasks: [{tool: Echo}]
`,
    password,
    users: [
      { username: "viewer", role: "viewer" },
      { username: "publisher", role: "publisher" }
    ],
    engine: { maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, shutdownGraceMs: 300 }
  })
  url = server.url
  root = `${new URL(url).origin}/ogcapi`
}, 60_000)
afterAll(async () => server.close())

const connect = (username = "admin") => GeoJobsClient.connect({ url, username, password })

/** Polls until the job runs (a Sleep has started). */
const running = async (client: GeoJobsClient, jobId: string) => {
  for (let i = 0; i < 200; i++) {
    if ((await client.ogc.job(jobId)).status === "running") return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`${jobId} never ran`)
}

describe("the OGC API – Processes calls against a real server", () => {
  it("the landing page, conformance, the process list (paged) and a description", async () => {
    const client = await connect()
    assert.strictEqual(client.ogc.url, root)
    const landing = await client.ogc.landing()
    assert.isTrue(landing.links.some((l) => l.rel === "service-desc"))
    const conformance = await client.ogc.conformance()
    assert.include(conformance.conformsTo, "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core")
    const all = await client.ogc.processes()
    const ids = all.processes.map((p) => p.id)
    for (const id of ["System.Utilities.Echo", "System.Utilities.Sleep", "System.SyncTools.Echo", "Private.Echo"])
      assert.include(ids, id)
    const sleep = all.processes.find((p) => p.id === "System.Utilities.Sleep")
    assert.include(sleep?.jobControlOptions ?? [], "async-execute")
    const page = await client.ogc.processes({ limit: 2 })
    assert.strictEqual(page.processes.length, 2)
    assert.isTrue(page.links.some((l) => l.rel === "next"))
    assert.strictEqual(await client.ogc.processId("System/Utilities", "Sleep"), "System.Utilities.Sleep")
    const described = await client.ogc.process("System.Utilities.Sleep")
    assert.strictEqual(described.id, "System.Utilities.Sleep")
    assert.deepInclude(described.inputs.seconds?.schema ?? {}, { type: "number" })
    assert.property(described.outputs, "slept")
  })

  it("execute synchronously: raw (the bare value), document, and one output by reference", async () => {
    const client = await connect()
    const raw = await client.ogc.execute("System.SyncTools.Echo", { inputs: { input_string: "hello" } })
    assert.strictEqual(raw._tag, "Raw")
    if (raw._tag === "Raw") {
      assert.strictEqual(raw.mediaType, "text/plain")
      assert.strictEqual(raw.value, "hello")
      assert.strictEqual(new TextDecoder().decode(raw.bytes), "hello")
    }
    const document = await client.ogc.execute("System.SyncTools.Echo", {
      inputs: { input_string: { value: "doc", mediaType: "text/plain" } },
      response: "document"
    })
    assert.deepStrictEqual(document, { _tag: "Document", results: { output_string: "doc" } })
    const reference = await client.ogc.execute("System.SyncTools.Echo", {
      inputs: { input_string: "r" },
      outputs: { output_string: { transmissionMode: "reference" } }
    })
    assert.strictEqual(reference._tag, "Reference")
    if (reference._tag === "Reference") assert.match(reference.href, /\/results\/output_string\?f=json$/)
  })

  it("execute asynchronously: 201 with the job's Location, wait to successful, results; the same job in ArcGIS REST", async () => {
    const client = await connect()
    const execution = await client.ogc.execute("System.Utilities.Sleep", { inputs: { seconds: 0.5 }, async: true })
    assert.strictEqual(execution._tag, "Job")
    if (execution._tag !== "Job") return
    assert.strictEqual(execution.location, client.ogc.jobUrl(execution.jobId))
    assert.strictEqual(execution.location, `${root}/jobs/${execution.jobId}`)
    assert.oneOf(execution.status.status, ["accepted", "running"])
    assert.strictEqual(execution.status.processID, "System.Utilities.Sleep")
    assert.strictEqual(await client.ogc.parseJobUrl(`${execution.location}/results`), execution.jobId)
    const seen: Array<string> = []
    const done = await client.ogc.waitForJob(execution.jobId, {
      intervalMs: 50,
      onProgress: (s) => seen.push(s.status)
    })
    assert.strictEqual(done.status, "successful")
    assert.isAbove(seen.length, 0)
    assert.isTrue(done.links?.some((l) => l.rel === "http://www.opengis.net/def/rel/ogc/1.0/results"))
    assert.deepStrictEqual(await client.ogc.results(execution.jobId), { slept: 0.5 })
    const rest = await client.job(client.jobRef("System/Utilities", "Sleep", execution.jobId))
    assert.strictEqual(rest.jobStatus, "esriJobSucceeded")
  })

  it("results before the job is done are result-not-ready; dismiss cancels a running Sleep and the job is gone", async () => {
    const client = await connect()
    const execution = await client.ogc.execute("System.Utilities.Sleep", { inputs: { seconds: 30 }, async: true })
    if (execution._tag !== "Job") return assert.fail(`expected a job, got ${execution._tag}`)
    const jobId = execution.jobId
    await running(client, jobId)
    const early = await rejection(client.ogc.results(jobId))
    assert.strictEqual(early.problem, "resultNotReady")
    assert.strictEqual(early.code, 404)
    assert.isTrue(isProblem(early, "resultNotReady"))
    assert.strictEqual(early.exception?.type, OgcException.types.resultNotReady)
    const dismissed = await client.ogc.dismiss(jobId)
    assert.strictEqual(dismissed.status, "dismissed")
    assert.strictEqual(dismissed.jobID, jobId)
    const gone = await rejection(client.ogc.job(jobId))
    assert.strictEqual(gone.kind, "server")
    assert.strictEqual(gone.problem, "noSuchJob")
    assert.strictEqual(gone.code, 404)
    assert.strictEqual(gone.url, `${root}/jobs/${jobId}`)
    const rest = await rejection(client.job(client.jobRef("System/Utilities", "Sleep", jobId)))
    assert.strictEqual(rest.code, 404, "gone for the ArcGIS dialect too")
  })

  it("the job list: status and process filters, limit honoured, every page followed by its next link", async () => {
    const client = await connect()
    const ids: Array<string> = []
    for (let i = 0; i < 3; i++) {
      const e = await client.ogc.execute("System.Utilities.Echo", { inputs: { input_string: `list ${i}` } })
      if (e._tag === "Job") ids.push(e.jobId)
    }
    assert.strictEqual(ids.length, 3, "an asynchronous service answers with a job even unasked")
    for (const id of ids) await client.ogc.waitForJob(id, { intervalMs: 50 })
    const one = await client.ogc.jobs({ processID: "System.Utilities.Echo", status: "successful", limit: 1 })
    assert.strictEqual(one.jobs.length, 1)
    assert.isTrue(one.links.some((l) => l.rel === "next"))
    const listed: Array<string> = []
    for await (const job of client.ogc.allJobs({
      processID: ["System.Utilities.Echo"],
      status: ["successful"],
      limit: 2
    })) {
      assert.strictEqual(job.processID, "System.Utilities.Echo")
      assert.strictEqual(job.status, "successful")
      listed.push(job.jobID)
    }
    for (const id of ids) assert.include(listed, id)
    assert.strictEqual(new Set(listed).size, listed.length, "no job twice across pages")
    const failed = await client.ogc.jobs({ processID: "System.Utilities.Echo", status: "failed" })
    assert.deepStrictEqual(failed.jobs, [])
    const recent = await client.ogc.jobs({
      datetime: `${new Date(Date.now() - 3_600_000).toISOString()}/..`,
      minDuration: 0
    })
    assert.isAtLeast(recent.jobs.length, 3)
    const foreign = await rejection(
      Effect.runPromise(client.ogc.ogc.jobsPage("https://elsewhere.example/ogcapi/jobs?offset=1"))
    )
    assert.strictEqual(foreign.kind, "response", "a page link off the root is refused before any request")
  })

  it("exceptions are ClientErrors naming their problem: no such process, a bad input, a bad filter", async () => {
    const client = await connect()
    const missing = await rejection(client.ogc.process("Nowhere.Echo"))
    assert.strictEqual(missing.kind, "server")
    assert.strictEqual(missing.code, 404)
    assert.strictEqual(missing.problem, "noSuchProcess")
    assert.strictEqual(missing.exception?.type, OgcException.types.noSuchProcess)
    assert.strictEqual(missing.url, `${root}/processes/Nowhere.Echo`)
    assert.match(missing.message, /^No such process \(404\): /)
    const notAnId = await rejection(client.ogc.process("not-an-id"))
    assert.strictEqual(notAnId.kind, "response", "the grammar refuses it before any request")
    assert.strictEqual(notAnId.problem, "noSuchProcess")
    const badInput = await rejection(client.ogc.execute("System.Utilities.Sleep", { inputs: { secs: 1 } }))
    assert.strictEqual(badInput.code, 400)
    assert.strictEqual(badInput.problem, "invalidParameter")
    assert.match(badInput.details.join(" "), /secs/)
    const badValue = await rejection(
      client.ogc.execute("System.SyncTools.Echo", { inputs: { input_string: { href: "http://x" } } })
    )
    assert.strictEqual(badValue.problem, "invalidParameter")
    const badFilter = await rejection(client.ogc.jobs({ status: "finished" as never }))
    assert.strictEqual(badFilter.problem, "invalidParameter")
    assert.strictEqual(badFilter.exception?.parameter, "status")
    const notAJob = await rejection(client.ogc.job("j123"))
    assert.strictEqual(notAJob.kind, "response")
    assert.strictEqual(notAJob.problem, "noSuchJob")
  })

  it("tokens as Authorization: Bearer on a secured service: 401 is a token error, 403 forbidden, the right role passes", async () => {
    const sent: Array<string | null> = []
    const fetch: typeof globalThis.fetch = (input, init) => {
      if (String(input).includes("/ogcapi/")) sent.push(new Headers(init?.headers).get("authorization"))
      return globalThis.fetch(input, init)
    }
    const publisher = await GeoJobsClient.connect({ url, username: "publisher", password, fetch })
    const described = await publisher.ogc.process("Private.Echo")
    assert.strictEqual(described.id, "Private.Echo")
    assert.strictEqual(sent[0], `Bearer ${publisher.token}`)
    const run = await publisher.ogc.execute("Private.Echo", { inputs: { input_string: "secret" }, async: true })
    if (run._tag !== "Job") return assert.fail(`expected a job, got ${run._tag}`)
    assert.strictEqual((await publisher.ogc.waitForJob(run.jobId, { intervalMs: 50 })).status, "successful")
    assert.deepStrictEqual(await publisher.ogc.results(run.jobId), { output_string: "secret" })

    const anonymous = await GeoJobsClient.connect({ url })
    const required = await rejection(anonymous.ogc.process("Private.Echo"))
    assert.strictEqual(required.kind, "token")
    assert.strictEqual(required.code, 401)
    assert.strictEqual(required.problem, "unauthorized")
    assert.isTrue(isTokenError(required))
    const viewer = await connect("viewer")
    const forbidden = await rejection(viewer.ogc.process("Private.Echo"))
    assert.strictEqual(forbidden.kind, "server")
    assert.strictEqual(forbidden.code, 403)
    assert.strictEqual(forbidden.problem, "forbidden")
    const refused = await rejection(
      OgcClient.connect({ url: root, token: "not-a-token" }).then((c) => c.process("System.Utilities.Echo"))
    )
    assert.isTrue(isTokenError(refused))
    // An OGC root on its own, with a token made elsewhere.
    const alone = await OgcClient.connect({ url: `${root}/`, token: publisher.token })
    assert.strictEqual((await alone.process("Private.Echo")).id, "Private.Echo")
  })

  it("waitForJob: an AbortSignal and a timeout stop waiting at once; the job goes on", {
    timeout: 10_000
  }, async () => {
    const client = await connect()
    const execution = await client.ogc.execute("System.Utilities.Sleep", { inputs: { seconds: 30 }, async: true })
    if (execution._tag !== "Job") return assert.fail(`expected a job, got ${execution._tag}`)
    try {
      const controller = new AbortController()
      setTimeout(() => controller.abort(new Error("user left")), 200)
      const aborted = await rejection(
        client.ogc.waitForJob(execution.jobId, { intervalMs: 30_000, signal: controller.signal })
      )
      assert.strictEqual(aborted.kind, "aborted")
      assert.deepStrictEqual(aborted.details, ["user left"])
      const timedOut = await rejection(client.ogc.waitForJob(execution.jobId, { intervalMs: 30_000, timeoutMs: 300 }))
      assert.strictEqual(timedOut.kind, "timeout")
      assert.deepStrictEqual(timedOut.details, ["The job goes on; wait again or dismiss it."])
      assert.oneOf((await client.ogc.job(execution.jobId)).status, ["accepted", "running"])
    } finally {
      await client.ogc.dismiss(execution.jobId)
    }
  })

  it.live("the Effect API: client.ogc on the GeoJobs service, failures caught by tag", () =>
    Effect.gen(function* () {
      const client = yield* GeoJobs
      const execution = yield* client.ogc.execute("System.SyncTools.Echo", {
        inputs: { input_string: "effect" },
        response: "document"
      })
      assert.deepStrictEqual(execution, { _tag: "Document", results: { output_string: "effect" } })
      const outcome = yield* client.ogc.process("Nowhere.Echo").pipe(
        Effect.as("found"),
        Effect.catchTag("ClientError", (e) => Effect.succeed(`${e.problem} ${e.code}`))
      )
      assert.strictEqual(outcome, "noSuchProcess 404")
    }).pipe(Effect.provide(GeoJobs.layer({ url, username: "admin", password })))
  )
})
