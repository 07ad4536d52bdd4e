import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { SecurityStore, Server } from "@geojobs/http-server"
import { Effect, ManagedRuntime } from "effect"
import type { FastifyInstance } from "fastify"
import { ClientError, GeoJobs, GeoJobsClient, isTokenError } from "../src/index.ts"

// The real server on a real port; the client talks HTTP to it with fetch.
let app: FastifyInstance
let dispose: () => Promise<void>
let url = ""
const password = "client test password"

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-client-"))
  const servicesFile = join(dataDir, "services.yaml")
  writeFileSync(
    servicesFile,
    `services:
  - folder: System
    name: Utilities
    tasks: [{tool: Echo}, {tool: Sleep}]
  - folder: System
    name: SyncTools
    executionType: sync
    tasks: [{tool: Echo}]
  - folder: Analysis
    name: Geometry
    tasks: [{tool: Buffer}]
`
  )
  const runtime = ManagedRuntime.make(
    Server.layer({
      dataDir,
      servicesFile,
      engine: { maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, shutdownGraceMs: 300 }
    })
  )
  await runtime.runPromise(
    Effect.gen(function* () {
      const store = yield* SecurityStore.SecurityStore
      yield* store.bootstrapAdmin(password)
      yield* store.createUser({ username: "viewer", password, role: "viewer" })
    })
  )
  app = await Server.make({ runtime, logLevel: "silent" })
  await app.listen({ port: 0, host: "127.0.0.1" })
  const address = app.server.address()
  url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/arcgis`
  dispose = async () => {
    await app.close()
    await runtime.dispose()
  }
}, 60_000)
afterAll(async () => dispose())

const connect = () => GeoJobsClient.connect({ url, username: "admin", password })
const rejection = async (promise: Promise<unknown>): Promise<ClientError> => {
  try {
    await promise
  } catch (e) {
    if (e instanceof ClientError) return e
    throw e
  }
  throw new Error("expected a ClientError")
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

  it("refreshes the token once when the server refuses it, and before it expires", async () => {
    const refused = await GeoJobsClient.connect({
      url,
      username: "admin",
      password,
      token: "stale-token",
      expires: Date.now() + 3_600_000
    })
    assert.deepStrictEqual((await refused.service("System/Utilities")).tasks, ["Echo", "Sleep"])
    assert.notStrictEqual(refused.token, "stale-token")
    const expiring = await GeoJobsClient.connect({
      url,
      username: "admin",
      password,
      token: "old-token",
      expires: Date.now() + 1000
    })
    await expiring.services()
    assert.notStrictEqual(expiring.token, "old-token")
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
})
