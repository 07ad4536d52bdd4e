// OGC API – Processes callbacks end to end, over real ports: a GeoJobs server (SQLite in a data folder, real worker
// threads) and a receiver in this test on 127.0.0.1 (allowed by the callbacks' allow-hosts setting). inProgress and
// success received and their signatures verified with node:crypto; a receiver failing twice served on the third attempt;
// a failed job's failedUri; no callback lost across a restart; the admin view of the deliveries; a forged target on
// loopback refused without a request; a subscriber URI that is not http(s) answered 400. Every statusInfo a callback
// carries is checked against the official schema.
import { createHmac, timingSafeEqual } from "node:crypto"
import { createServer, type IncomingMessage, type Server } from "node:http"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { CallbackOutbox, type OgcException, type OgcStatusInfo } from "@geojobs/core"
import type { CallbackDelivery } from "@geojobs/engine"
import * as Fixtures from "@geojobs/fixtures"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { Redacted } from "effect"
import { TestServer } from "../src/testing/index.ts"
import { validate } from "./support/OgcSchemas.ts"

// The seed document's keys, in its order (the seed page is the truth: `@geojobs/fixtures`).
const seedKeys = Object.keys(Fixtures.seedAdminJob() as object)

const password = "correct horse battery"
const secret = "a-callback-secret-for-the-tests-0123456789"
const services = `services:
  - folder: System
    name: Utilities
    tasks: [{tool: Echo}, {tool: Sleep}, {module: ${new URL("./support/FailTool.ts", import.meta.url).pathname}}]
`

// --- the receiver: scripted answers per path (then 200), everything it got kept -----------------------------------
interface Received {
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}
const received: Array<Received> = []
const scripts = new Map<string, Array<number>>()
const receive = (request: IncomingMessage, response: import("node:http").ServerResponse) => {
  let body = ""
  request.setEncoding("utf8")
  request.on("data", (chunk: string) => {
    body += chunk
  })
  request.on("end", () => {
    const path = request.url ?? "/"
    received.push({ path, headers: request.headers, body })
    response.writeHead(scripts.get(path)?.shift() ?? 204)
    response.end()
  })
}
const listen = (server: Server, port = 0) =>
  new Promise<number>((resolve) =>
    server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
  )
const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

let receiver: Server
let hooks = ""
beforeAll(async () => {
  receiver = createServer(receive)
  hooks = `http://127.0.0.1:${await listen(receiver)}`
})
afterAll(() => closeServer(receiver))

// --- the GeoJobs servers ------------------------------------------------------------------------------------------
const callbacks = (allowedHosts: ReadonlyArray<string>): CallbackDelivery.Settings => ({
  secret: Redacted.make(secret),
  allowedHosts,
  // Small delays so that retries come quickly here (the defaults: 1 s doubling to 10 min).
  backoff: { initialMs: 20, maxMs: 100, maxAttempts: 1000 },
  pollIntervalMs: 20,
  timeoutMs: 2000
})
const startServer = (options: { allowedHosts?: ReadonlyArray<string>; dataDir?: string } = {}) =>
  TestServer.start({
    storage: (dataDir) => SqliteStorage.layer({ dataDir }),
    services,
    password,
    users: [{ username: "analyst", role: "user" }],
    engine: {
      maxWorkers: 2,
      progressIntervalMs: 50,
      pollIntervalMs: 50,
      shutdownGraceMs: 500,
      callbacks: callbacks(options.allowedHosts ?? ["127.0.0.1"])
    },
    dataDir: options.dataDir
  })

let server: TestServer.TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server.close())

const origin = (s: TestServer.TestServer) => s.url.replace(/\/arcgis$/, "")
const tokens = new Map<string, string>()
const token = async (s: TestServer.TestServer, username: string) => {
  const key = `${s.url} ${username}`
  const known = tokens.get(key)
  if (known !== undefined) return known
  const response = await fetch(`${s.url}/tokens/generateToken`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password, client: "requestip", f: "json" })
  })
  const value = ((await response.json()) as { token: string }).token
  tokens.set(key, value)
  return value
}

const execute = async (
  s: TestServer.TestServer,
  processId: string,
  inputs: Record<string, unknown>,
  subscriber: Record<string, unknown>
) =>
  fetch(`${origin(s)}/ogcapi/processes/${processId}/execution`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      prefer: "respond-async",
      authorization: `Bearer ${await token(s, "analyst")}`
    },
    body: JSON.stringify({ inputs, subscriber })
  })

/** Submits asynchronously; answers the job's id. */
const submit = async (
  s: TestServer.TestServer,
  processId: string,
  inputs: Record<string, unknown>,
  subscriber: Record<string, unknown>
) => {
  const response = await execute(s, processId, inputs, subscriber)
  const body = (await response.json()) as OgcStatusInfo.OgcStatusInfo
  assert.strictEqual(response.status, 201, JSON.stringify(body))
  return body.jobID
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits for what `until` finds among the requests received so far (the test's own timeout bounds it). */
const receivedFor = async (path: string, count = 1): Promise<Array<Received>> => {
  while (true) {
    const got = received.filter((r) => r.path === path)
    if (got.length >= count) return got
    await sleep(10)
  }
}

/** The admin view of a job's callbacks. */
const adminCallbacks = async (s: TestServer.TestServer, jobId: string) => {
  const response = await fetch(
    `${s.url}/admin/services/System/Utilities.GPServer/jobs/${jobId}/callbacks?f=json&token=${await token(s, "admin")}`
  )
  assert.strictEqual(response.status, 200)
  return CallbackOutbox.adminSchema.parse(await response.json())
}

/** Waits until the admin view says `until`. */
const adminUntil = async (
  s: TestServer.TestServer,
  jobId: string,
  until: (doc: CallbackOutbox.AdminCallbacks) => boolean
) => {
  while (true) {
    const doc = await adminCallbacks(s, jobId)
    if (until(doc)) return doc
    await sleep(10)
  }
}

/** Checks a received callback's signature as a receiver would, with node:crypto only. */
const verifySignature = (r: Received) => {
  const header = String(r.headers["geojobs-signature"] ?? "")
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)
  assert.isNotNull(match, header)
  const [, t = "", v1 = ""] = match ?? []
  const expected = createHmac("sha256", secret).update(`${t}.${r.body}`).digest()
  assert.isTrue(timingSafeEqual(expected, Buffer.from(v1, "hex")), "the signature matches the body and timestamp")
  assert.isTrue(Math.abs(Date.now() / 1000 - Number(t)) < 300, "a fresh timestamp")
}

const statusInfoOf = (r: Received) => {
  const doc = JSON.parse(r.body) as OgcStatusInfo.OgcStatusInfo
  validate("statusInfo", doc)
  return doc
}

describe("OGC callbacks", () => {
  it("inProgress and success are POSTed, signed, with the job's statusInfo; the admin view shows them delivered", async () => {
    const id = await submit(
      server,
      "System.Utilities.Sleep",
      { seconds: 0.2 },
      { inProgressUri: `${hooks}/a/progress`, successUri: `${hooks}/a/success`, failedUri: `${hooks}/a/failed` }
    )
    const [progress] = await receivedFor("/a/progress")
    const [success] = await receivedFor("/a/success")
    for (const r of [progress, success]) {
      if (r === undefined) throw new Error("missing")
      verifySignature(r)
      assert.strictEqual(r.headers["content-type"], "application/json")
    }
    assert.strictEqual(progress?.headers["geojobs-event"], "inProgress")
    assert.strictEqual(success?.headers["geojobs-event"], "success")
    assert.strictEqual(success?.headers["geojobs-delivery"], `${id}:success`)
    const running = statusInfoOf(progress as Received)
    assert.deepStrictEqual(
      [running.jobID, running.status, running.processID],
      [id, "running", "System.Utilities.Sleep"]
    )
    const done = statusInfoOf(success as Received)
    assert.strictEqual(done.status, "successful")
    const results = done.links?.find((l) => l.rel === "http://www.opengis.net/def/rel/ogc/1.0/results")
    assert.strictEqual(results?.href, `${origin(server)}/ogcapi/jobs/${id}/results`)
    // The results link works (with the submitter's token).
    const fetched = await fetch(results?.href ?? "", {
      headers: { authorization: `Bearer ${await token(server, "analyst")}` }
    })
    assert.strictEqual(fetched.status, 200)
    const doc = await adminUntil(server, id, (d) => d.callbacks.every((c) => c.status === "delivered"))
    assert.deepStrictEqual(
      doc.callbacks.map((c) => [c.event, c.uri, c.status, c.attempts, c.last_error]),
      [
        ["inProgress", `${hooks}/a/progress`, "delivered", 1, null],
        ["success", `${hooks}/a/success`, "delivered", 1, null]
      ]
    )
    assert.isFalse(received.some((r) => r.path === "/a/failed"))
    // The seed admin document is unchanged by a subscriber.
    const seed = await fetch(
      `${server.url}/admin/services/System/Utilities.GPServer/jobs/${id}?f=json&token=${await token(server, "admin")}`
    )
    assert.deepStrictEqual(Object.keys((await seed.json()) as object), seedKeys)
  })

  it("a receiver failing twice (500) gets the callback on the third attempt, after backing off", async () => {
    scripts.set("/b/success", [500, 500])
    const id = await submit(
      server,
      "System.Utilities.Echo",
      { input_string: "x" },
      { successUri: `${hooks}/b/success` }
    )
    const got = await receivedFor("/b/success", 3)
    assert.strictEqual(got.length, 3)
    for (const r of got) verifySignature(r)
    assert.strictEqual(new Set(got.map((r) => r.headers["geojobs-delivery"])).size, 1, "one delivery id throughout")
    const doc = await adminUntil(server, id, (d) => d.callbacks[0]?.status === "delivered")
    assert.deepStrictEqual(
      doc.callbacks.map((c) => [c.event, c.status, c.attempts]),
      [["success", "delivered", 3]]
    )
  })

  it("a failed job calls failedUri with its failed statusInfo", async () => {
    const id = await submit(
      server,
      "System.Utilities.Fail",
      { reason: "test" },
      { successUri: `${hooks}/c/success`, failedUri: `${hooks}/c/failed` }
    )
    const [failed] = await receivedFor("/c/failed")
    verifySignature(failed as Received)
    assert.strictEqual(failed?.headers["geojobs-event"], "failed")
    const info = statusInfoOf(failed as Received)
    assert.deepStrictEqual([info.jobID, info.status], [id, "failed"])
    assert.isFalse(received.some((r) => r.path === "/c/success"))
  })

  it("a subscriber URI that is not http(s), or not a URL, is a 400 naming it; no job is made", async () => {
    for (const [field, uri] of [
      ["successUri", "ftp://hooks.example.com/done"],
      ["failedUri", "not a url"],
      ["inProgressUri", "https://user:secret@hooks.example.com/x"]
    ] as const) {
      const response = await execute(server, "System.Utilities.Echo", { input_string: "x" }, { [field]: uri })
      const body = (await response.json()) as OgcException.OgcException
      assert.strictEqual(response.status, 400, JSON.stringify(body))
      validate("exception", body)
      assert.include(body.detail ?? "", `subscriber.${field}`)
    }
  })
})

describe("OGC callbacks across a restart", () => {
  it("a callback due while the receiver is down is delivered by the next server on the same data folder", async () => {
    const down = createServer(receive)
    const port = await listen(down)
    await closeServer(down)
    const first = await startServer()
    const id = await submit(
      first,
      "System.Utilities.Echo",
      { input_string: "restart" },
      {
        successUri: `http://127.0.0.1:${port}/d/success`
      }
    )
    // Finished, and its callback failed at least once (nothing listens on that port).
    const pending = await adminUntil(first, id, (d) => (d.callbacks[0]?.attempts ?? 0) >= 1)
    assert.strictEqual(pending.callbacks[0]?.status, "pending")
    assert.match(pending.callbacks[0]?.last_error ?? "", /ECONNREFUSED/)
    await first.close()
    const up = createServer(receive)
    await listen(up, port)
    try {
      const second = await startServer({ dataDir: first.dataDir })
      try {
        const [got] = await receivedFor("/d/success")
        verifySignature(got as Received)
        assert.deepStrictEqual(
          [statusInfoOf(got as Received).jobID, statusInfoOf(got as Received).status],
          [id, "successful"]
        )
        const doc = await adminUntil(second, id, (d) => d.callbacks[0]?.status === "delivered")
        assert.isAtLeast(doc.callbacks[0]?.attempts ?? 0, 2)
      } finally {
        await second.close()
      }
    } finally {
      await closeServer(up)
    }
  })
})

describe("OGC callbacks to addresses that are not public", () => {
  it("a subscriber on 127.0.0.1 is refused without the allow setting: no request, the reason in the admin view", async () => {
    const strict = await startServer({ allowedHosts: [] })
    try {
      const id = await submit(
        strict,
        "System.Utilities.Echo",
        { input_string: "x" },
        { successUri: `${hooks}/e/success` }
      )
      const doc = await adminUntil(strict, id, (d) => d.callbacks[0]?.status === "failed")
      const [c] = doc.callbacks
      assert.deepStrictEqual([c?.event, c?.status, c?.attempts], ["success", "failed", 0])
      assert.match(c?.last_error ?? "", /^refused: 127\.0\.0\.1 is not a public address/)
      assert.isFalse(
        received.some((r) => r.path === "/e/success"),
        "the receiver got nothing"
      )
    } finally {
      await strict.close()
    }
  })
})
