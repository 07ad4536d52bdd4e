/**
 * When PostgreSQL goes away (issue 11 item 8), seen by a real server process: its connections go through a TCP proxy
 * in this test to the real database, and closing the proxy is the database vanishing for that node (the database
 * itself stays up for every other test). `/health` says so with the node's name (503), requests that need the
 * database get the ArcGIS envelope with 503 — not a 500, not a hang —, and once the proxy listens again the node
 * answers as before by itself, the job acknowledged before the outage intact.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { RestJob } from "@geojobs/core"
import * as TcpProxy from "@geojobs/fixtures/TcpProxy"
import * as TestDatabase from "@geojobs/store-postgres/testing/TestDatabase"
import { Effect } from "effect"
import { waitFor } from "./support/RunLog.ts"
import { form, get, type ServerProcess, start } from "./support/ServerProcess.ts"

const password = "outage admin password"

describe.skipIf(TestDatabase.unavailable)("a node whose PostgreSQL goes away and comes back", () => {
  const schema = TestDatabase.schemaName()
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-outage-"))
  const target = new URL(TestDatabase.url)
  let gate: TcpProxy.TcpProxy | undefined
  let node: ServerProcess | undefined

  beforeAll(async () => {
    gate = await TcpProxy.make(0, target)
    node = await start({
      GEOJOBS_DATABASE_URL: gate.url,
      GEOJOBS_DATABASE_SCHEMA: schema,
      GEOJOBS_DATA_DIR: dataDir,
      GEOJOBS_ADMIN_PASSWORD: password,
      GEOJOBS_LOG_LEVEL: "silent",
      GEOJOBS_NODE_NAME: "node-o"
    })
  }, 60_000)
  afterAll(async () => {
    await node?.stop()
    await gate?.close()
    await Effect.runPromise(TestDatabase.dropSchema(schema))
    rmSync(dataDir, { recursive: true, force: true })
  }, 30_000)

  it("reports the outage on /health and in 503 envelopes, then recovers by itself", async () => {
    const N = node as ServerProcess
    const health = async () => {
      const response = await fetch(`${N.origin}/health`)
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    }
    assert.deepStrictEqual(await health(), { status: 200, body: { status: "ok", node: "node-o" } })
    const echo = `${N.base}/rest/services/System/Utilities/GPServer/Echo`
    const { jobId } = RestJob.schema.parse(await form(`${echo}/submitJob`, { input_string: "before", f: "json" }))

    const port = (gate as { readonly port: number }).port
    await gate?.close()
    const down = await health()
    assert.strictEqual(down.status, 503)
    assert.deepStrictEqual(down.body, { status: "unavailable", node: "node-o", database: "unreachable" })
    const refused = (await form(`${echo}/submitJob`, { input_string: "during", f: "json" })) as {
      error?: { code?: number; message?: string }
    }
    assert.strictEqual(refused.error?.code, 503)
    assert.include(refused.error?.message ?? "", "database is unavailable")
    const read = (await get(`${echo}/jobs/${jobId}?f=json`)) as { error?: { code?: number } }
    assert.strictEqual(read.error?.code, 503)

    // The database back on the same address: the node reconnects without being restarted.
    gate = await TcpProxy.make(port, target)
    await waitFor("/health 200 once the database is back", 10_000, async () => (await health()).status === 200, 100)
    const job = RestJob.schema.parse(await get(`${echo}/jobs/${jobId}?f=json`))
    assert.include(["esriJobSubmitted", "esriJobExecuting", "esriJobSucceeded"], job.jobStatus)
    const after = RestJob.schema.parse(await form(`${echo}/submitJob`, { input_string: "after", f: "json" }))
    assert.match(after.jobId, /^j[0-9a-f]{32}$/)
  }, 60_000)

  it("a network that stops answering (packets dropped, connections open): 503s within seconds, not a hang", async () => {
    const N = node as ServerProcess
    const G = gate as NonNullable<typeof gate>
    const echo = `${N.base}/rest/services/System/Utilities/GPServer/Echo`
    const { jobId } = RestJob.schema.parse(await form(`${echo}/submitJob`, { input_string: "before", f: "json" }))
    G.freeze()
    const frozenAt = Date.now()
    // More probes than a pool has connections: each leaves a statement that will never be answered.
    const probes = await Promise.all(Array.from({ length: 12 }, () => fetch(`${N.origin}/health`)))
    assert.deepStrictEqual(
      probes.map((r) => r.status),
      Array.from({ length: 12 }, () => 503)
    )
    const t0 = Date.now()
    const refused = (await form(`${echo}/submitJob`, { input_string: "during", f: "json" })) as {
      error?: { code?: number; message?: string }
    }
    const waited = Date.now() - t0
    assert.strictEqual(refused.error?.code, 503, JSON.stringify(refused))
    assert.include(refused.error?.message ?? "", "database is unavailable")
    const read = (await get(`${echo}/jobs/${jobId}?f=json`)) as { error?: { code?: number } }
    assert.strictEqual(read.error?.code, 503)
    console.log(`network frozen: /health 503 ×12 at once, a submit answered 503 after ${waited} ms`)
    // Bounded by the pools' waits (a connection, then a statement's answer), with room for a loaded machine.
    assert.isBelow(waited, 30_000)

    G.thaw()
    const thawedAt = Date.now()
    await waitFor(
      "/health 200 after the thaw",
      30_000,
      async () => (await fetch(`${N.origin}/health`)).status === 200,
      100
    )
    console.log(`healed after ${thawedAt - frozenAt} ms frozen: /health 200 again ${Date.now() - thawedAt} ms later`)
    const job = RestJob.schema.parse(await get(`${echo}/jobs/${jobId}?f=json`))
    assert.include(["esriJobSubmitted", "esriJobExecuting", "esriJobSucceeded"], job.jobStatus)
    const after = RestJob.schema.parse(await form(`${echo}/submitJob`, { input_string: "after", f: "json" }))
    assert.match(after.jobId, /^j[0-9a-f]{32}$/)
  }, 120_000)
})
