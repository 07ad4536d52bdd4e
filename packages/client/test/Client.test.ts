import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { TestServer } from "@geojobs/http-server/testing"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { fileFormatOf, GeoJobs, GeoJobsClient, isTokenError } from "../src/index.ts"
import { rejection } from "./support/Rejection.ts"

// The real server on a real port; the client talks HTTP to it with fetch.
let server: TestServer.TestServer
let url = ""
const password = "client test password"

beforeAll(async () => {
  server = await TestServer.start({
    storage: (dataDir) => SqliteStorage.layer({ dataDir }),
    password,
    users: [{ username: "viewer", role: "viewer" }],
    engine: { maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, shutdownGraceMs: 300 }
  })
  url = server.url
}, 60_000)
afterAll(async () => server.close())

const connect = () => GeoJobsClient.connect({ url, username: "admin", password })
/** A fetch that records the path of every request before making it. */
const recording = () => {
  const paths: Array<string> = []
  const fetch: typeof globalThis.fetch = (input, init) => {
    paths.push(new URL(input instanceof Request ? input.url : String(input)).pathname.replace(/^\/arcgis/, ""))
    return globalThis.fetch(input, init)
  }
  return { paths, fetch }
}
/** Submits a 30 s Sleep job; the returned function cancels it (call it in `finally`, to free the worker). */
const sleeper = async (client: GeoJobsClient) => {
  const submitted = await client.submitJob("System/Utilities", "Sleep", { seconds: 30 })
  const ref = client.jobRef("System/Utilities", "Sleep", submitted.jobId)
  return { ref, cancel: () => client.cancel(ref).then(() => client.waitForJob(ref, { intervalMs: 50 })) }
}

describe("GeoJobsClient against a real server", () => {
  it("signs in at the token URL rest/info advertises and reads the directory", async () => {
    const client = await connect()
    assert.isString(client.token)
    assert.isAbove(client.tokenExpires ?? 0, Date.now())
    const root = await client.services()
    assert.deepStrictEqual(root.folders, ["Analysis", "System"])
    assert.deepStrictEqual(
      (await client.services("System")).services.map((s) => s.name),
      ["System/Utilities", "System/SyncTools"]
    )
    assert.deepStrictEqual((await client.service("System/Utilities")).tasks, ["Echo", "Sleep"])
    const task = await client.task("System/Utilities", "Sleep")
    assert.strictEqual(task.parameters[0]?.name, "seconds")
  })

  it("names a job's URL, task- or service-level, and reads it back", async () => {
    const client = await connect()
    const submitted = await client.submitJob("System/Utilities", "Echo", { input_string: "u" })
    const ref = client.jobRef("System/Utilities", "Echo", submitted.jobId)
    assert.strictEqual(
      client.jobUrl(ref),
      `${url}/rest/services/System/Utilities/GPServer/Echo/jobs/${submitted.jobId}`
    )
    const serviceLevel = client.jobRef("System/Utilities", undefined, submitted.jobId)
    assert.strictEqual(
      client.jobUrl(serviceLevel),
      `${url}/rest/services/System/Utilities/GPServer/jobs/${submitted.jobId}`
    )
    assert.deepStrictEqual(await client.parseJobUrl(client.jobUrl(ref)), ref)
  })

  it("download: a missing output file is the server's error, not its envelope's bytes", async () => {
    const client = await connect()
    const submitted = await client.submitJob("System/Utilities", "Echo", { input_string: "u" })
    const missing = await rejection(
      client.download(`${url}/rest/directories/arcgisjobs/${submitted.jobId}/nothing.txt`)
    )
    assert.strictEqual(missing.kind, "server")
    assert.strictEqual(missing.code, 404)
  })

  it("submits, follows progress and messages to the end, reads results and inputs", async () => {
    const client = await connect()
    const submitted = await client.submitJob("System/Utilities", "Sleep", { seconds: 1.2 })
    const ref = client.jobRef("System/Utilities", "Sleep", submitted.jobId)
    const progress: Array<number> = []
    const messages: Array<string> = []
    const done = await client.waitForJob(ref, {
      intervalMs: 100,
      onProgress: (doc) => {
        if (doc.progress?.percent !== undefined) progress.push(doc.progress.percent)
      },
      onMessage: (m) => messages.push(m.description)
    })
    assert.strictEqual(done.jobStatus, "esriJobSucceeded")
    assert.isAbove(progress.length, 0)
    assert.isTrue(messages.some((m) => m.startsWith("Start Time")))
    assert.isTrue(messages.some((m) => m.startsWith("Succeeded at")))
    assert.deepStrictEqual(await client.results(ref, "slept"), { paramName: "slept", dataType: "GPDouble", value: 1.2 })
    assert.deepStrictEqual(await client.inputs(ref, "seconds"), {
      paramName: "seconds",
      dataType: "GPDouble",
      value: 1.2
    })
    const byUrl = await client.parseJobUrl(
      `${url}/rest/services/System/Utilities/GPServer/Sleep/jobs/${submitted.jobId}`
    )
    assert.deepStrictEqual(byUrl, ref)
  })

  it("feature results as GeoJSON; execute on a synchronous service", async () => {
    const client = await connect()
    const submitted = await client.submitJob("Analysis/Geometry", "Buffer", {
      Input_Features: {
        geometryType: "esriGeometryPoint",
        spatialReference: { wkid: 4326 },
        features: [{ geometry: { x: 1, y: 2 }, attributes: {} }]
      },
      Distance: { distance: 100, units: "esriMeters" }
    })
    const ref = client.jobRef("Analysis/Geometry", "Buffer", submitted.jobId)
    assert.strictEqual((await client.waitForJob(ref, { intervalMs: 50 })).jobStatus, "esriJobSucceeded")
    const geojson = (await client.results(ref, "Output_Features", { geojson: true })) as {
      features: Array<{ geometry: { type: string } }>
    }
    assert.strictEqual(geojson.features[0]?.geometry.type, "Polygon")
    const out = await client.execute("System/SyncTools", "Echo", { input_string: "now" })
    assert.deepStrictEqual(out.results, [{ paramName: "output_string", dataType: "GPString", value: "now" }])
  })

  it("feature results as files (resultFile): the format from a file name, the bytes, the server's 400 naming f", async () => {
    const client = await connect()
    const submitted = await client.submitJob("Analysis/Geometry", "Buffer", {
      Input_Features: {
        geometryType: "esriGeometryPoint",
        spatialReference: { wkid: 4326 },
        fields: [{ name: "site", type: "esriFieldTypeString" }],
        features: [
          { geometry: { x: 1, y: 2 }, attributes: { site: "A" } },
          { geometry: { x: 3, y: 4 }, attributes: { site: "B" } }
        ]
      },
      Distance: { distance: 100, units: "esriMeters" }
    })
    const ref = client.jobRef("Analysis/Geometry", "Buffer", submitted.jobId)
    await client.waitForJob(ref, { intervalMs: 50 })
    assert.deepStrictEqual(
      ["out.gpkg", "OUT.ZIP", "a/b.kml", "x.kmz", "t.csv", "f.geojson", "f.json", "notes.txt", "gpkg"].map((name) =>
        fileFormatOf(name)
      ),
      ["geopackage", "shapefile", "kml", "kmz", "csv", "geojson", "geojson", undefined, undefined]
    )
    const gpkg = await client.resultFile(ref, "Output_Features", "geopackage", { outSR: "3857" })
    assert.strictEqual(new TextDecoder().decode(gpkg.subarray(0, 15)), "SQLite format 3")
    const zip = await client.resultFile(ref, "Output_Features", "shapefile")
    assert.deepStrictEqual([...zip.subarray(0, 4)], [0x50, 0x4b, 0x03, 0x04])
    const csv = new TextDecoder().decode(await client.resultFile(ref, "Output_Features", "csv"))
    assert.match(csv, /^WKT,.*site/)
    assert.include(csv, "POLYGON")
    const input = new TextDecoder().decode(await client.resultFile(ref, "Input_Features", "csv", { kind: "inputs" }))
    assert.match(input, /POINT\(1 2\),A/)
    const echoed = await client.submitJob("System/Utilities", "Echo", { input_string: "x" })
    const echo = client.jobRef("System/Utilities", "Echo", echoed.jobId)
    await client.waitForJob(echo, { intervalMs: 50 })
    const refused = await rejection(client.resultFile(echo, "output_string", "kml"))
    assert.strictEqual(refused.kind, "server")
    assert.strictEqual(refused.code, 400)
    assert.match(refused.details.join(" "), /^f=kml/)
  })

  it("cancels a running job", async () => {
    const client = await connect()
    const submitted = await client.submitJob("System/Utilities", "Sleep", { seconds: 30 })
    const ref = client.jobRef("System/Utilities", undefined, submitted.jobId)
    for (let i = 0; i < 100 && (await client.job(ref)).jobStatus !== "esriJobExecuting"; i++)
      await new Promise((r) => setTimeout(r, 50))
    const cancel = await client.cancel(ref)
    assert.oneOf(cancel.jobStatus, ["esriJobCancelling", "esriJobCancelled"])
    assert.strictEqual((await client.waitForJob(ref, { intervalMs: 50 })).jobStatus, "esriJobCancelled")
  })

  it("admin: the seed document, the auto-paging query, statistics, delete and purge", async () => {
    const client = await connect()
    const ids: Array<string> = []
    for (let i = 0; i < 5; i++)
      ids.push((await client.submitJob("System/Utilities", "Echo", { input_string: String(i) })).jobId)
    for (const id of ids) await client.waitForJob(client.jobRef("System/Utilities", "Echo", id), { intervalMs: 50 })
    const seed = await client.admin.job("System/Utilities", ids[0] ?? "")
    assert.strictEqual(seed.status, "Succeeded")
    assert.strictEqual(seed.username, "admin")
    const seen: Array<string> = []
    for await (const job of client.admin.query("System/Utilities", {
      jobStatus: "esriJobSucceeded",
      userName: "admin",
      number: 2
    }))
      seen.push(job.job_id)
    for (const id of ids) assert.include(seen, id)
    assert.strictEqual(new Set(seen).size, seen.length, "no job twice across pages")
    const stats = await client.admin.statistics("System/Utilities")
    assert.isAtLeast(stats.succeeded, 5)
    await client.admin.delete("System/Utilities", ids[4] ?? "")
    const gone = await rejection(client.admin.job("System/Utilities", ids[4] ?? ""))
    assert.strictEqual(gone.code, 404)
    await client.admin.purgeQueue("System/Utilities")
  })

  it("errors are typed: unknown service (404), bad value (400, naming it), wrong password, missing privilege", async () => {
    const client = await connect()
    const missing = await rejection(client.service("Nowhere/Nothing"))
    assert.strictEqual(missing.kind, "server")
    assert.strictEqual(missing.code, 404)
    const bad = await rejection(client.submitJob("System/Utilities", "Sleep", { seconds: "a while" }))
    assert.strictEqual(bad.code, 400)
    assert.match(bad.details.join(" "), /seconds/)
    const wrong = await rejection(GeoJobsClient.connect({ url, username: "admin", password: "nope" }))
    assert.strictEqual(wrong.code, 400)
    assert.isFalse(isTokenError(wrong))
    const viewer = await GeoJobsClient.connect({ url, username: "viewer", password })
    assert.strictEqual((await rejection(viewer.admin.statistics("System/Utilities"))).code, 403)
    const anonymous = await GeoJobsClient.connect({ url })
    const required = await rejection(anonymous.admin.statistics("System/Utilities"))
    assert.isTrue(isTokenError(required))
    assert.strictEqual(required.code, 499)
    const unreachable = await rejection(
      GeoJobsClient.connect({ url: "http://127.0.0.1:1/arcgis", token: "x" }).then((c) => c.services())
    )
    assert.strictEqual(unreachable.kind, "network")
  })

  it("refreshes the token once when the server refuses it", async () => {
    const { paths, fetch } = recording()
    const refused = await GeoJobsClient.connect({
      url,
      username: "admin",
      password,
      token: "stale-token",
      expires: Date.now() + 3_600_000,
      fetch
    })
    assert.deepStrictEqual((await refused.service("System/Utilities")).tasks, ["Echo", "Sleep"])
    assert.notStrictEqual(refused.token, "stale-token")
    assert.deepStrictEqual(paths, [
      "/rest/services/System/Utilities/GPServer",
      "/rest/info",
      "/tokens/",
      "/rest/services/System/Utilities/GPServer"
    ])
  })

  it("signs in again before a call when a working token has expired, not after a refusal", async () => {
    const valid = (await connect()).token
    const { paths, fetch } = recording()
    const expired = await GeoJobsClient.connect({
      url,
      username: "admin",
      password,
      token: valid,
      expires: Date.now() - 1000,
      fetch
    })
    assert.deepStrictEqual(paths, [], "connecting with a token asks nothing yet")
    await expired.services()
    assert.deepStrictEqual(paths, ["/rest/info", "/tokens/", "/rest/services"])
    assert.notStrictEqual(expired.token, valid)
    assert.isAbove(expired.tokenExpires ?? 0, Date.now())
  })

  it("a short-lived token (1 minute) is not renewed before every call", async () => {
    const { paths, fetch } = recording()
    const client = await GeoJobsClient.connect({ url, username: "admin", password, expiration: 1, fetch })
    assert.isAtMost((client.tokenExpires ?? 0) - Date.now(), 60_000)
    const token = client.token
    for (let i = 0; i < 3; i++) await client.services()
    assert.strictEqual(paths.filter((p) => p === "/tokens/").length, 1)
    assert.strictEqual(client.token, token)
  })

  it("a given token the server refuses, with no credentials to sign in with: kind token, code 498", async () => {
    const { paths, fetch } = recording()
    const client = await GeoJobsClient.connect({ url, token: "not-a-token", fetch })
    const refused = await rejection(client.services())
    assert.strictEqual(refused.kind, "token")
    assert.strictEqual(refused.code, 498)
    assert.isTrue(isTokenError(refused))
    assert.strictEqual(refused.url, `${url}/rest/services`)
    assert.deepStrictEqual(paths, ["/rest/services"], "no sign-in attempted, no retry")
    const signIn = await rejection(client.client.signIn.pipe(Effect.runPromise))
    assert.strictEqual(signIn.kind, "token")
    assert.strictEqual(signIn.code, 499)
  })

  it("waitForJob: an AbortSignal stops waiting at once, even during a long sleep between polls", {
    timeout: 5_000
  }, async () => {
    const client = await connect()
    const job = await sleeper(client)
    try {
      const controller = new AbortController()
      let polls = 0
      const waiting = client.waitForJob(job.ref, {
        intervalMs: 30_000,
        onProgress: () => {
          polls++
          setTimeout(() => controller.abort(new Error("user left")), 200)
        },
        signal: controller.signal
      })
      const aborted = await rejection(waiting)
      assert.strictEqual(polls, 1, "aborted during the sleep after the first poll")
      assert.strictEqual(aborted.kind, "aborted")
      assert.strictEqual(aborted.detail, `Waiting for job ${job.ref.jobId} was aborted`)
      assert.deepStrictEqual(aborted.details, ["user left"])
      assert.isFalse(isTokenError(aborted))
      const still = await client.job(job.ref)
      assert.oneOf(still.jobStatus, ["esriJobSubmitted", "esriJobWaiting", "esriJobExecuting"], "the job goes on")
      const already = await rejection(client.waitForJob(job.ref, { signal: AbortSignal.abort() }))
      assert.strictEqual(already.kind, "aborted")
    } finally {
      await job.cancel()
    }
  })

  it("waitForJob: the overall timeout rejects while the job is still running", { timeout: 5_000 }, async () => {
    const client = await connect()
    const job = await sleeper(client)
    try {
      let polls = 0
      const timedOut = await rejection(
        client.waitForJob(job.ref, { intervalMs: 30_000, timeoutMs: 400, onProgress: () => polls++ })
      )
      assert.strictEqual(polls, 1, "timed out during the sleep after the first poll")
      assert.strictEqual(timedOut.kind, "timeout")
      assert.strictEqual(timedOut.detail, `Job ${job.ref.jobId} did not finish within 400 ms`)
      assert.strictEqual(timedOut.url, `${url}/rest/services/System/Utilities/GPServer/Sleep/jobs/${job.ref.jobId}`)
      const still = await client.job(job.ref)
      assert.oneOf(still.jobStatus, ["esriJobSubmitted", "esriJobWaiting", "esriJobExecuting"], "the job goes on")
    } finally {
      await job.cancel()
    }
  })

  it.live("the Effect API: the same client as a service", () =>
    Effect.gen(function* () {
      const client = yield* GeoJobs
      const job = yield* client.submitJob("System/Utilities", "Echo", { input_string: "effect" })
      const done = yield* client.waitForJob(client.jobRef("System/Utilities", "Echo", job.jobId), { intervalMs: 50 })
      assert.strictEqual(done.jobStatus, "esriJobSucceeded")
      const error = yield* Effect.flip(client.task("System/Utilities", "Nope"))
      assert.strictEqual(error._tag, "ClientError")
      assert.strictEqual(error.code, 404)
    }).pipe(Effect.provide(GeoJobs.layer({ url, username: "admin", password })))
  )

  it.effect("the Effect API under it.effect: GeoJobs.layer, waitForJob driven by the TestClock, catchTag", () =>
    Effect.gen(function* () {
      const client = yield* GeoJobs
      const job = yield* client.submitJob("System/Utilities", "Echo", { input_string: "test clock" })
      const ref = client.jobRef("System/Utilities", "Echo", job.jobId)
      // waitForJob sleeps on Effect's Clock: here the TestClock, which only moves when the test moves it.
      const waiting = yield* Effect.forkChild(client.waitForJob(ref, { intervalMs: 60_000 }))
      const clock = yield* Effect.forkChild(
        Effect.forever(Effect.andThen(TestClock.withLive(Effect.sleep(20)), TestClock.adjust("1 minute")))
      )
      const done = yield* Fiber.join(waiting)
      yield* Fiber.interrupt(clock)
      assert.strictEqual(done.jobStatus, "esriJobSucceeded")
      const outcome = yield* client.task("System/Utilities", "Nope").pipe(
        Effect.as("found"),
        Effect.catchTag("ClientError", (e) => Effect.succeed(`${e.kind} ${e.code}`))
      )
      assert.strictEqual(outcome, "server 404")
    }).pipe(Effect.provide(GeoJobs.layer({ url, username: "admin", password })))
  )
})
