import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { CallbackOutbox, Entropy, Job, JobStore } from "@geojobs/core"
import * as SqliteJobStore from "@geojobs/store-sqlite/SqliteJobStore"
import { Effect, Fiber, Layer, Redacted } from "effect"
import * as CallbackDelivery from "../src/CallbackDelivery.ts"

const dir = mkdtempSync(join(tmpdir(), "geojobs-callbacks-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const storage = () =>
  Layer.mergeAll(SqliteJobStore.layer({ filename: join(dir, `jobs-${++n}.sqlite`) }), Entropy.Entropy.layerSeeded(n))

// A real receiver on 127.0.0.1: it answers each path's scripted statuses in turn (then 200) and keeps what it got.
interface Received {
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}
const received: Array<Received> = []
const scripts = new Map<string, Array<number>>()
let receiver: Server
let origin = ""
beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = ""
    request.setEncoding("utf8")
    request.on("data", (chunk: string) => {
      body += chunk
    })
    request.on("end", () => {
      const path = request.url ?? "/"
      received.push({ path, headers: request.headers, body })
      const status = scripts.get(path)?.shift() ?? 200
      response.writeHead(status)
      response.end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  origin = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`
})
afterAll(() => {
  receiver.closeAllConnections()
  receiver.close()
})

const secret = "test-secret-of-at-least-32-characters!!"
const settings: CallbackDelivery.Settings = {
  secret: Redacted.make(secret),
  allowedHosts: ["127.0.0.1"],
  backoff: { initialMs: 5, maxMs: 20, maxAttempts: 5 },
  pollIntervalMs: 5,
  timeoutMs: 2000
}

/** A cancelled job whose subscriber has `failedUri` at `path`: one pending callback. */
const cancelledJob = (uri: string) =>
  Effect.gen(function* () {
    const store = yield* JobStore.JobStore
    const job = yield* store.create(
      yield* Job.make({
        service: { name: "Geometry", type: "GPServer", serviceId: "x" },
        task: "Buffer",
        user: null,
        subscriber: { failedUri: uri, jobsUrl: "https://gis.example.com/ogcapi/jobs" }
      })
    )
    yield* store.update(job.revision, yield* Job.transition(job, "Cancelled"))
    return job
  })

/** Waits (polling the outbox) until the job's callback is no longer pending. */
const settled = (jobId: string) =>
  Effect.gen(function* () {
    const outbox = yield* CallbackOutbox.CallbackOutbox
    while (true) {
      const [d] = yield* outbox.ofJob(jobId)
      if (d !== undefined && d.status !== "pending") return d
      yield* Effect.sleep(5)
    }
  })

const delivering = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const outbox = yield* CallbackOutbox.CallbackOutbox
    const fiber = yield* Effect.forkChild(CallbackDelivery.run(outbox, settings))
    const result = yield* effect
    yield* Fiber.interrupt(fiber)
    return result
  })

describe("CallbackDelivery", () => {
  it("signs <timestamp>.<body> with HMAC-SHA256, and verify checks the signature and its age", () => {
    const v1 = CallbackDelivery.sign("k", 1700000000, "{}")
    assert.match(v1, /^[0-9a-f]{64}$/)
    assert.isTrue(CallbackDelivery.verify("k", `t=1700000000,v1=${v1}`, "{}", 1700000100))
    assert.isFalse(CallbackDelivery.verify("k", `t=1700000000,v1=${v1}`, "{} ", 1700000100), "another body")
    assert.isFalse(CallbackDelivery.verify("other", `t=1700000000,v1=${v1}`, "{}", 1700000100), "another key")
    assert.isFalse(CallbackDelivery.verify("k", `t=1700000000,v1=${v1}`, "{}", 1700001000), "too old")
    assert.isFalse(CallbackDelivery.verify("k", "t=1700000000", "{}", 1700000000), "no v1")
  })

  it.live("delivers a signed callback; a receiver failing twice gets it on the third attempt", () =>
    Effect.gen(function* () {
      scripts.set("/flaky", [500, 503])
      const job = yield* cancelledJob(`${origin}/flaky`)
      const d = yield* delivering(settled(job.id))
      assert.deepStrictEqual([d.status, d.attempts, d.lastError], ["delivered", 3, null])
      const got = received.filter((r) => r.path === "/flaky")
      assert.strictEqual(got.length, 3)
      for (const r of got) {
        assert.strictEqual(r.headers["geojobs-event"], "failed")
        assert.strictEqual(r.headers["geojobs-delivery"], `${job.id}:failed`)
        assert.strictEqual(r.headers["content-type"], "application/json")
        const header = String(r.headers["geojobs-signature"])
        const t = Number(/t=(\d+)/.exec(header)?.[1])
        assert.isTrue(CallbackDelivery.verify(secret, header, r.body, t), header)
        assert.strictEqual(JSON.parse(r.body).status, "dismissed")
      }
    }).pipe(Effect.provide(storage()))
  )

  it.live("gives up after the last attempt, with the last error", () =>
    Effect.gen(function* () {
      scripts.set("/down", [500, 500, 500, 500, 500, 500])
      const job = yield* cancelledJob(`${origin}/down`)
      const d = yield* delivering(settled(job.id))
      assert.deepStrictEqual([d.status, d.attempts, d.lastError], ["failed", 5, "HTTP 500"])
    }).pipe(Effect.provide(storage()))
  )

  it.live("refuses a loopback target that is not allowed, without sending anything", () =>
    Effect.gen(function* () {
      const job = yield* cancelledJob(`${origin}/forged`)
      const outbox = yield* CallbackOutbox.CallbackOutbox
      const fiber = yield* Effect.forkChild(CallbackDelivery.run(outbox, { ...settings, allowedHosts: [] }))
      const d = yield* settled(job.id)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(d.status, "failed")
      assert.strictEqual(d.attempts, 0)
      assert.match(d.lastError ?? "", /^refused: 127\.0\.0\.1 is not a public address/)
      assert.isFalse(received.some((r) => r.path === "/forged"))
    }).pipe(Effect.provide(storage()))
  )
})
