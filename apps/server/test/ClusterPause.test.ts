/**
 * A node paused past its lease on PostgreSQL (issue 11's test, the server's counterpart of the engine's SQLite
 * "a node paused past its lease" case), with two real server processes on one schema: node A runs jobs of a
 * non-retryable and a retryable service, is stopped with SIGSTOP for longer than its lease, node B takes its jobs
 * over (the non-retryable Failed with "interrupted: node … stopped responding", the retryable run again on B and
 * Succeeded there), then A gets SIGCONT. Nothing A writes after it resumes lands — the Failed jobs' rows stay as the
 * takeover left them, no progress, message or result of A reaches a job B took, no job finishes twice —, A's tools
 * are stopped (their AbortSignal fires, or they end and their result is dropped), the retryable service's
 * maxConcurrentJobs holds across the pause (sampled in the schema and counted from the tool's log), and A rejoins
 * under a new owner id and runs new jobs. The takeover time is printed, not asserted; every wait is bounded.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type Job, JobStatus, RestJob } from "@geojobs/core"
import * as TestDatabase from "@geojobs/store-postgres/testing/TestDatabase"
import { Effect } from "effect"
import pg from "pg"
import * as RunLog from "./support/RunLog.ts"
import { get, type ServerProcess, start } from "./support/ServerProcess.ts"

const leaseMs = 3000
const heartbeatMs = 500
/** How long A stays stopped, at least: well past its lease, so B has taken its jobs over before it resumes. */
const pauseMs = leaseMs + 3000
/** The retryable service's maxConcurrentJobs: A's two and B's two fill it before the pause, and jobs wait beyond. */
const limit = 4

/** The REST names of the terminal statuses. */
const terminal = new Set<string>(JobStatus.terminal.map(JobStatus.restName))

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const { waitFor } = RunLog

describe.skipIf(TestDatabase.unavailable)("a node paused past its lease (SIGSTOP, SIGCONT) on PostgreSQL", () => {
  const schema = TestDatabase.schemaName()
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-pause-"))
  const log = join(dataDir, "runs.log")
  // Most runs go on until `gate` exists; two of A's end on `earlyGate`, made while A is stopped, so that when it
  // resumes their tools end at once and A holds a result it must not write, racing its own giving up.
  const gate = join(dataDir, "gate")
  const earlyGate = join(dataDir, "early-gate")
  const servicesFile = join(dataDir, "services.yaml")
  const nodes: Array<ServerProcess> = []
  // The test's sampler of held jobs (see below), stopped by the test or, if it failed first, before the pool ends.
  let sampling = false
  let sampler: Promise<void> | undefined
  // A pool: the sampler below reads while the test reads too.
  const db = new pg.Pool({ connectionString: TestDatabase.url, max: 3 })
  const env = (name: string, logLevel: string) => ({
    GEOJOBS_DATABASE_URL: TestDatabase.url,
    GEOJOBS_DATABASE_SCHEMA: schema,
    GEOJOBS_DATA_DIR: dataDir,
    GEOJOBS_SERVICES: servicesFile,
    GEOJOBS_ADMIN_PASSWORD: "pause admin password",
    GEOJOBS_LOG_LEVEL: logLevel,
    GEOJOBS_WORKERS: "1",
    GEOJOBS_SLOTS: "4",
    GEOJOBS_LEASE_MS: String(leaseMs),
    GEOJOBS_HEARTBEAT_MS: String(heartbeatMs),
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
    maxConcurrentJobs: 8
    tasks: [{module: ${tool}}]
  - folder: Test
    name: Again
    maxConcurrentJobs: ${limit}
    tasks: [{module: ${tool}, retryable: true}]
`
    )
    // A alone at first: the jobs submitted before B starts run on A. A logs its warnings (its giving up, its rejoining).
    nodes.push(await start(env("p-a", "warn")))
  }, 90_000)
  afterAll(async () => {
    // Whatever happened: every tool may end, a stopped node is woken (it could not act on SIGTERM), and one that does
    // not exit within the shutdown grace is killed.
    writeFileSync(gate, "")
    writeFileSync(earlyGate, "")
    await Promise.all(
      nodes.map(async (n) => {
        n.child.kill("SIGCONT")
        const timer = setTimeout(() => n.child.kill("SIGKILL"), 15_000)
        await n.stop().catch(() => undefined)
        clearTimeout(timer)
      })
    )
    sampling = false
    await sampler
    await db.end().catch(() => undefined)
    await Effect.runPromise(TestDatabase.dropSchema(schema))
    rmSync(dataDir, { recursive: true, force: true })
  }, 30_000)

  /** The tool's log: what happened to which job, in which process, when. */
  const lines = () => RunLog.read(log)
  const logged = (what: string, id: string, pid: number | undefined) =>
    lines().some((l) => l.what === what && l.id === id && l.pid === pid)

  const submit = async (base: string, service: string, gateFile: string) => {
    const response = await fetch(`${base}/rest/services/Test/${service}/GPServer/FencedRun/submitJob`, {
      method: "POST",
      body: new URLSearchParams({ log, gate: gateFile, f: "json" })
    })
    return String(((await response.json()) as { jobId: string }).jobId)
  }
  const jobUrl = (base: string, service: string, id: string) =>
    `${base}/rest/services/Test/${service}/GPServer/FencedRun/jobs/${id}`
  const doc = async (base: string, service: string, id: string) =>
    RestJob.schema.parse(await get(`${jobUrl(base, service, id)}?f=json&returnMessages=true`))
  const who = async (base: string, service: string, id: string) =>
    RestJob.parameterValueSchema.parse(await get(`${jobUrl(base, service, id)}/results/who?f=json`)).value

  /** A job's row as stored, read directly: what the takeover wrote, and whether anything was written after it. */
  const row = async (id: string) => {
    const result = await db.query<{
      status: string
      revision: number
      owner: string | null
      claims: number
      messages: string
      progress: string | null
      results: string
      ended: string | null
    }>(
      `SELECT status, revision, owner, claims, messages, progress, results, ended FROM "${schema}".jobs WHERE id = $1`,
      [id]
    )
    const found = result.rows[0]
    if (found === undefined) throw new Error(`no row for job ${id}`)
    return found
  }
  const messagesOf = async (id: string) => JSON.parse((await row(id)).messages) as ReadonlyArray<Job.JobMessage>
  /** The held jobs of each service now, as the claim counts them against its limit. */
  const held = async () => {
    const result = await db.query<{ name: string; n: string }>(
      `SELECT name, count(*) AS n FROM "${schema}".jobs WHERE status = ANY($1) GROUP BY name`,
      [JobStatus.held]
    )
    return new Map(result.rows.map((r) => [r.name, Number(r.n)]))
  }

  it("B takes A's jobs over while A is stopped; A, resumed, writes nothing over it, stops its tools, and rejoins", async () => {
    const a = nodes[0] as ServerProcess
    const aPid = a.child.pid as number

    // Four jobs fill A's four slots: two of each kind, one of each ending on the early gate.
    const o1 = await submit(a.base, "Once", gate)
    const a1 = await submit(a.base, "Again", gate)
    const o2 = await submit(a.base, "Once", earlyGate)
    const a2 = await submit(a.base, "Again", earlyGate)
    const onA = [o1, a1, o2, a2]
    // Progress written too: A's flusher has run for each, and would write again if nothing fenced it.
    await waitFor("A's four jobs executing on A, with progress", 60_000, async () => {
      if (!onA.every((id) => logged("start", id, aPid))) return false
      const rows = await Promise.all(onA.map(row))
      return rows.every((r) => r.status === "Executing" && r.progress !== null)
    })
    const oldOwner = (await row(o1)).owner
    assert.isNotNull(oldOwner)

    // Four more of the retryable service wait (A has no slot free); B, started now, takes two: the limit is full.
    const backlog: Array<string> = []
    for (let i = 0; i < 4; i++) backlog.push(await submit(a.base, "Again", gate))
    const b = await start(env("p-b", "silent"))
    nodes.push(b)
    const bPid = b.child.pid as number
    // Up to a minute: under the whole suite a freshly started node takes many seconds to start its first tool thread
    // (20 s was not always enough).
    await waitFor(
      "B running two of the waiting jobs",
      60_000,
      () => backlog.filter((id) => logged("start", id, bPid)).length === 2
    )
    assert.strictEqual((await held()).get("Again"), limit, "the retryable service's limit is full before the pause")

    // The schema's held jobs per service, sampled from now until the end of the takeover and A's return.
    const most = new Map<string, number>()
    sampling = true
    let samplerError: unknown
    sampler = (async () => {
      while (sampling) {
        for (const [name, n] of await held()) most.set(name, Math.max(most.get(name) ?? 0, n))
        await sleep(100)
      }
    })().catch((error: unknown) => {
      samplerError = error
    })

    a.child.kill("SIGSTOP")
    const pausedAt = Date.now()
    const takenOver = async () => {
      const [d1, d2, r1, r2] = await Promise.all([
        doc(b.base, "Once", o1),
        doc(b.base, "Once", o2),
        doc(b.base, "Again", a1),
        doc(b.base, "Again", a2)
      ])
      const requeued = (d: RestJob.RestJob) => (d.messages ?? []).some((m) => m.description.includes("queued again"))
      return d1.jobStatus === "esriJobFailed" && d2.jobStatus === "esriJobFailed" && requeued(r1) && requeued(r2)
    }
    await waitFor("B taking A's four jobs over", 20_000, takenOver)
    const takeoverMs = Date.now() - pausedAt
    await waitFor(
      "B running A's two retryable jobs again",
      10_000,
      () => logged("start", a1, bPid) && logged("start", a2, bPid)
    )
    // A's early-gate tools can end as soon as A resumes; B's run of a2 ends now (it is B's result that must stay).
    writeFileSync(earlyGate, "")
    await waitFor(
      "a2 Succeeded on B",
      10_000,
      async () => (await doc(b.base, "Again", a2)).jobStatus === "esriJobSucceeded"
    )
    assert.isTrue(a.child.signalCode === null && a.child.exitCode === null, "A is alive, only stopped")

    // What the takeover left, to compare once A has been running again.
    for (const id of [o1, o2]) {
      const messages = await messagesOf(id)
      assert.strictEqual(messages.at(-1)?.description, "interrupted: node p-a stopped responding", `Once ${id}`)
    }
    const requeueTimes = new Map<string, number>()
    for (const id of [a1, a2]) {
      const requeue = (await messagesOf(id)).find((m) => m.description.includes("queued again"))
      assert.match(
        requeue?.description ?? "",
        /^interrupted: node p-a stopped responding; queued again \(attempt 1 of \d+\)$/
      )
      requeueTimes.set(id, requeue?.time as number)
    }
    const failedRows = await Promise.all([o1, o2].map(row))
    const failedDocs = await Promise.all([o1, o2].map((id) => doc(b.base, "Once", id)))

    await sleep(Math.max(0, pausedAt + pauseMs - Date.now()))
    a.child.kill("SIGCONT")
    const resumedAt = Date.now()
    console.log(
      `A's four jobs taken over ${takeoverMs} ms after SIGSTOP (lease ${leaseMs} ms, heartbeat ${heartbeatMs} ms, ` +
        `takeover messages at +${[...requeueTimes.values()].map((t) => t - pausedAt).join(", +")} ms); ` +
        `A resumed after ${resumedAt - pausedAt} ms`
    )

    // A's tools stop: the gate's ones by their AbortSignal; the early gate's ones by it or by ending first.
    await waitFor("A's four tools stopped", 15_000, () =>
      onA.every((id) => logged("abort", id, aPid) || logged("end", id, aPid))
    )
    const stoppedAt = Math.max(
      ...lines()
        .filter((l) => l.pid === aPid && l.what !== "start")
        .map((l) => l.at)
    )
    for (const id of [o1, a1]) {
      assert.isTrue(logged("abort", id, aPid), `A's tool of ${id} got its AbortSignal`)
      assert.isFalse(logged("end", id, aPid), `A's tool of ${id} ran to its end`)
    }
    const how = [o2, a2].map((id) => `${id}: ${logged("end", id, aPid) ? "ended" : "aborted"}`).join(", ")
    console.log(`A's tools stopped ${stoppedAt - resumedAt} ms after SIGCONT (early-gate ones ${how})`)
    // A's runner is done with each (nothing more can be written for them) and A rejoined under a new owner id.
    await waitFor("A giving up its four runs", 15_000, () =>
      onA.every((id) => a.output().includes(`gave up job ${id}`))
    )
    // Said by A's next heartbeat, which can come after its runs were given up: a refused write or the claims check
    // (the heartbeat fiber's step after the beat) may find the claims gone first (a full run saw the lines in that
    // order and the assertion, made at once, failed).
    await waitFor("A saying it rejoins", 10_000, () =>
      a.output().includes("its runs were given up, it rejoins as a new owner")
    )
    await waitFor("A heartbeating again under a new owner id", 10_000, async () => {
      const owners = await db.query<{ id: string; seen: string }>(
        `SELECT id, seen FROM "${schema}".engines WHERE node = 'p-a'`
      )
      return owners.rows.some((o) => o.id !== oldOwner && Number(o.seen) >= resumedAt)
    })
    for (const line of a
      .output()
      .split("\n")
      .filter((l) => l.includes("gave up job")))
      console.log(`A: ${line.trim()}`)

    // The Failed jobs are as the takeover left them: not a write since (the revision and every column the same).
    assert.deepStrictEqual(await Promise.all([o1, o2].map(row)), failedRows, "A wrote over a Failed job")
    assert.deepStrictEqual(
      await Promise.all([o1, o2].map((id) => doc(b.base, "Once", id))),
      failedDocs,
      "a Failed job's document changed after A resumed"
    )

    // Everything left ends.
    writeFileSync(gate, "")
    const again = [a1, a2, ...backlog]
    await waitFor("every retryable job finished", 20_000, async () => {
      const statuses = await Promise.all(again.map((id) => doc(b.base, "Again", id)))
      return statuses.every((d) => terminal.has(d.jobStatus))
    })
    sampling = false
    await sampler
    sampler = undefined
    if (samplerError !== undefined) throw samplerError

    for (const id of [o1, o2]) {
      const d = await doc(b.base, "Once", id)
      assert.strictEqual(d.jobStatus, "esriJobFailed", `Once ${id}`)
      const texts = (d.messages ?? []).map((m) => m.description)
      assert.isFalse(
        texts.some((t) => /^(Succeeded|Failed) at /.test(t)),
        `Once ${id} finished by a run: ${texts}`
      )
      assert.strictEqual((await row(id)).claims, 1, "a non-retryable job is claimed once")
      assert.strictEqual(lines().filter((l) => l.what === "start" && l.id === id).length, 1, "and run once")
    }
    for (const id of [a1, a2]) {
      const d = await doc(b.base, "Again", id)
      assert.strictEqual(d.jobStatus, "esriJobSucceeded", `Again ${id}`)
      assert.strictEqual(await who(b.base, "Again", id), String(bPid), "B's result, not A's")
      const messages = await messagesOf(id)
      assert.strictEqual(messages.filter((m) => /^(Succeeded|Failed) at /.test(m.description)).length, 1, "one finish")
      // After the takeover only B's run wrote: no tick of A's tool, and B's the last progress and ticks.
      const since = messages.slice(messages.findIndex((m) => m.description.includes("queued again")))
      assert.isFalse(
        since.some((m) => m.description.startsWith(`tick ${aPid} `)),
        `a message of A's tool landed after the takeover: ${JSON.stringify(since)}`
      )
      assert.isTrue(
        since.some((m) => m.description.startsWith(`tick ${bPid} `)),
        "B's run wrote its ticks"
      )
      assert.strictEqual((await row(id)).claims, 2, "claimed by A, then once by B")
      assert.strictEqual(lines().filter((l) => l.what === "end" && l.id === id && l.pid === bPid).length, 1)
    }
    for (const id of backlog) {
      assert.strictEqual((await doc(b.base, "Again", id)).jobStatus, "esriJobSucceeded", `Again ${id}`)
      assert.strictEqual((await row(id)).claims, 1, "a job nobody took over is claimed once")
      assert.strictEqual(lines().filter((l) => l.what === "start" && l.id === id).length, 1, "and run once")
    }

    // The retryable service's limit across the pause: held jobs as sampled, and runs counted from the tool's log — a
    // run of A that B took over counts until the takeover (from then on the store counts B's run of the job instead).
    const logMost = (() => {
      const ids = new Set(again)
      const events: Array<{ at: number; delta: number }> = []
      const all = lines()
      for (const [i, l] of all.entries()) {
        if (l.what !== "start" || !ids.has(l.id)) continue
        const stop = all.slice(i + 1).find((s) => s.what !== "start" && s.id === l.id && s.pid === l.pid)
        let end = stop?.at ?? Number.POSITIVE_INFINITY
        if (l.pid === aPid && requeueTimes.has(l.id)) end = Math.min(end, requeueTimes.get(l.id) as number)
        events.push({ at: l.at, delta: 1 }, { at: end, delta: -1 })
      }
      events.sort((x, y) => x.at - y.at || x.delta - y.delta)
      let running = 0
      let top = 0
      for (const e of events) {
        running += e.delta
        top = Math.max(top, running)
      }
      return top
    })()
    console.log(
      `retryable service (limit ${limit}): at most ${most.get("Again")} held (sampled every 100 ms), ` +
        `${logMost} running by the tool's log; non-retryable: at most ${most.get("Once")} held`
    )
    assert.isAtMost(most.get("Again") ?? 0, limit, "the store held more jobs of the service than its limit")
    assert.isAtMost(logMost, limit, "more runs of the service than its limit at once")
    assert.strictEqual(logMost, limit, "the limit was full (the check is not true by construction)")

    // A goes on working: with B stopped, A alone runs new jobs of both kinds.
    await b.stop()
    nodes.splice(nodes.indexOf(b), 1)
    const fresh = [
      ["Once", await submit(a.base, "Once", gate)],
      ["Again", await submit(a.base, "Again", gate)]
    ] as const
    for (const [service, id] of fresh) {
      await waitFor(`${service} ${id} finished on A`, 20_000, async () =>
        terminal.has((await doc(a.base, service, id)).jobStatus)
      )
      assert.strictEqual((await doc(a.base, service, id)).jobStatus, "esriJobSucceeded")
      assert.strictEqual(await who(a.base, service, id), String(aPid), "run by A")
    }
  }, 180_000)
})
