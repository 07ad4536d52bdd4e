/**
 * `kill -9` of a node on PostgreSQL (issue 11's test), with three real server processes on one schema: the dead node's
 * running jobs are taken over by lease — the non-retryable ones Failed with "interrupted: node … stopped responding"
 * and never run again, the retryable ones run again elsewhere and succeed —, and the node started again rejoins and
 * runs jobs. The takeover time is printed, not asserted (these machines are shared); the wait for it is bounded. The
 * jobs run until a gate file exists (FencedRunTool), not for a fixed time: on a loaded machine the tool threads (at a
 * lower priority) may take seconds to start, and a job that had already ended would not be running when the node dies.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AdminDirectory, JobStatus, RestJob } from "@geojobs/core"
import * as TestDatabase from "@geojobs/store-postgres/testing/TestDatabase"
import { Effect } from "effect"
import { get, type ServerProcess, signIn, start } from "./support/ServerProcess.ts"

const leaseMs = 3000

describe.skipIf(TestDatabase.unavailable)("kill -9 of one of three nodes on PostgreSQL", () => {
  const schema = TestDatabase.schemaName()
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-kill-"))
  const log = join(dataDir, "runs.log")
  const gate = join(dataDir, "gate")
  const servicesFile = join(dataDir, "services.yaml")
  const nodes = new Map<string, ServerProcess>()
  const env = (name: string) => ({
    GEOJOBS_DATABASE_URL: TestDatabase.url,
    GEOJOBS_DATABASE_SCHEMA: schema,
    GEOJOBS_DATA_DIR: dataDir,
    GEOJOBS_SERVICES: servicesFile,
    GEOJOBS_ADMIN_PASSWORD: "kill admin password",
    GEOJOBS_LOG_LEVEL: "silent",
    GEOJOBS_WORKERS: "1",
    GEOJOBS_SLOTS: "4",
    GEOJOBS_LEASE_MS: String(leaseMs),
    GEOJOBS_HEARTBEAT_MS: "500",
    GEOJOBS_NODE_NAME: name
  })

  beforeAll(async () => {
    writeFileSync(log, "")
    const tool = new URL("./support/FencedRunTool.ts", import.meta.url).pathname
    writeFileSync(
      servicesFile,
      `services:
  - folder: Test
    name: Once
    maxConcurrentJobs: 12
    tasks: [{module: ${tool}}]
  - folder: Test
    name: Again
    maxConcurrentJobs: 12
    tasks: [{module: ${tool}, retryable: true}]
`
    )
    const started = await Promise.all(["k-a", "k-b", "k-c"].map(async (n) => [n, await start(env(n))] as const))
    for (const [n, p] of started) nodes.set(n, p)
  }, 90_000)
  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop().catch(() => undefined)))
    await Effect.runPromise(TestDatabase.dropSchema(schema))
    rmSync(dataDir, { recursive: true, force: true })
  }, 30_000)

  const starts = () =>
    readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("start "))
      .map((l) => {
        const [, id, pid] = l.split(" ")
        return { id: id as string, pid: Number(pid) }
      })
  const statusOf = async (base: string, service: string, id: string) =>
    RestJob.schema.parse(await get(`${base}/rest/services/Test/${service}/GPServer/FencedRun/jobs/${id}?f=json`))

  it("takes over the dead node's jobs: non-retryable Failed and never run twice, retryable run again; it rejoins", async () => {
    const a = nodes.get("k-a") as ServerProcess
    const submit = async (service: string) => {
      const response = await fetch(`${a.base}/rest/services/Test/${service}/GPServer/FencedRun/submitJob`, {
        method: "POST",
        body: new URLSearchParams({ log, gate, f: "json" })
      })
      return String(((await response.json()) as { jobId: string }).jobId)
    }
    // Interleaved, one after the other: claimed oldest first, each node's four hold both kinds.
    const once: Array<string> = []
    const again: Array<string> = []
    for (let i = 0; i < 6; i++) {
      once.push(await submit("Once"))
      again.push(await submit("Again"))
    }
    // All twelve running (4 slots on each of 3 nodes), then a node running jobs of both kinds is killed. Which node
    // claims which job is the claim race's: one may hold four of a kind, but not all three (six of each in 4 + 4 + 4).
    for (let i = 0; i < 1200 && starts().length < 12; i++) await new Promise((r) => setTimeout(r, 50))
    assert.strictEqual(starts().length, 12)
    const ranOn = (p: ServerProcess) =>
      new Set(
        starts()
          .filter((s) => s.pid === p.child.pid)
          .map((s) => s.id)
      )
    const bothKinds = (ids: Set<string>) => once.some((id) => ids.has(id)) && again.some((id) => ids.has(id))
    const found = [...nodes].find(([, p]) => bothKinds(ranOn(p)))
    assert.isDefined(found, "a node runs jobs of both kinds")
    const [victimName, victim] = found as [string, ServerProcess]
    const ranThere = ranOn(victim)
    victim.child.kill("SIGKILL")
    const killedAt = Date.now()
    nodes.delete(victimName)
    const survivor = nodes.values().next().value as ServerProcess

    const terminal = new Set<string>(JobStatus.terminal.map(JobStatus.restName))
    const all = [...once.map((id) => ["Once", id] as const), ...again.map((id) => ["Again", id] as const)]
    // Taken over: the dead node's non-retryable jobs Failed, its retryable ones queued again (the live nodes' slots
    // are all held by gated jobs, so they run again once the gate opens) or already running again elsewhere.
    const rerunOf = (id: string) => starts().filter((s) => s.id === id && s.pid !== victim.child.pid).length
    let taken = 0
    for (let i = 0; i < 600 && taken === 0; i++) {
      const statuses = await Promise.all(all.map(([s, id]) => statusOf(survivor.base, s, id)))
      const moved = [...ranThere].every((id) => {
        const index = all.findIndex(([, j]) => j === id)
        const status = statuses[index]?.jobStatus
        return all[index]?.[0] === "Once"
          ? status === "esriJobFailed"
          : status === "esriJobSubmitted" || rerunOf(id) > 0
      })
      if (moved) taken = Date.now() - killedAt
      else await new Promise((r) => setTimeout(r, 100))
    }
    console.log(`the dead node's ${ranThere.size} jobs taken over ${taken} ms after kill -9 (lease ${leaseMs} ms)`)
    assert.isAbove(taken, 0, "the dead node's jobs are taken over")
    // The dead node's record goes once its jobs are taken over: admin/machines lists the live nodes only.
    const token = await signIn(survivor, "kill admin password")
    const listed = async () =>
      AdminDirectory.machinesSchema
        .parse(await get(`${survivor.base}/admin/machines?f=json&token=${token}`))
        .machines.map((m) => m.machineName)
        .sort()
    let names = await listed()
    for (let i = 0; i < 300 && names.includes(victimName); i++) {
      await new Promise((r) => setTimeout(r, 100))
      names = await listed()
    }
    assert.deepStrictEqual(names, [...nodes.keys()].sort(), "the live nodes, the dead one forgotten")
    // Then every job may end.
    writeFileSync(gate, "")
    for (let i = 0; i < 600; i++) {
      const statuses = await Promise.all(all.map(([s, id]) => statusOf(survivor.base, s, id)))
      if (statuses.every((s) => terminal.has(s.jobStatus))) break
      await new Promise((r) => setTimeout(r, 100))
    }
    for (const [service, id] of all) {
      const job = await statusOf(survivor.base, service, id)
      const runs = starts().filter((s) => s.id === id).length
      if (!ranThere.has(id)) {
        assert.strictEqual(job.jobStatus, "esriJobSucceeded", `${service} ${id}`)
        assert.strictEqual(runs, 1)
      } else if (service === "Once") {
        assert.strictEqual(job.jobStatus, "esriJobFailed", `${service} ${id}`)
        assert.strictEqual(runs, 1, "a non-retryable job is never run twice")
        const full = (await get(
          `${survivor.base}/rest/services/Test/Once/GPServer/FencedRun/jobs/${id}?f=json&returnMessages=true`
        )) as { messages?: Array<{ description: string }> }
        assert.match(JSON.stringify(full.messages ?? []), new RegExp(`node ${victimName} stopped responding`))
      } else {
        assert.strictEqual(job.jobStatus, "esriJobSucceeded", `${service} ${id}`)
        assert.strictEqual(runs, 2, "a retryable job runs again on a live node")
      }
    }

    // Started again under its name, it rejoins and runs jobs (the gate is open: a job ends at once).
    const back = await start(env(victimName))
    nodes.set(victimName, back)
    const response = await fetch(`${back.base}/rest/services/Test/Once/GPServer/FencedRun/submitJob`, {
      method: "POST",
      body: new URLSearchParams({ log, gate, f: "json" })
    })
    const id = String(((await response.json()) as { jobId: string }).jobId)
    let last = ""
    for (let i = 0; i < 1200 && last !== "esriJobSucceeded"; i++) {
      last = (await statusOf(back.base, "Once", id)).jobStatus
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.strictEqual(last, "esriJobSucceeded")
  }, 300_000)
})
