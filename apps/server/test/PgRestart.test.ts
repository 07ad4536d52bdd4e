/**
 * A real PostgreSQL restart (`pg_ctlcluster <version> <cluster> restart`, issue 11) under two real server processes,
 * with nothing acknowledged lost. The shared database on 5432 serves other tests at the same time, so this test makes a
 * private cluster of its own with Debian's tools (`pg_createcluster`, on a free port, trust auth) and drops it
 * afterwards, whatever happened. Jobs are running when the restart comes — some end while the database is down, some
 * after it is back —, and submissions go on all through it: each one is either acknowledged (and then runs exactly once
 * and succeeds) or answered with the ArcGIS 503 envelope; never a 500, never a hang. Afterwards both nodes answer
 * `/health` 200 by themselves and run new jobs. The restart's and the recovery's durations are printed, not asserted.
 *
 * Without `pg_createcluster` (or the right to run it) the test is skipped with a warning saying why; with
 * `GEOJOBS_REQUIRE_PG=1` (CI, whose machine has it) that is a failure.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { JobStatus, RestJob } from "@geojobs/core"
import pg from "pg"
import * as RunLog from "./support/RunLog.ts"
import { type ServerProcess, start } from "./support/ServerProcess.ts"

const required = process.env.GEOJOBS_REQUIRE_PG === "1"

/** Runs one of the cluster tools, bounded; throws with its output when it fails. */
const tool = (command: string, args: ReadonlyArray<string>, timeoutMs = 60_000): string => {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: timeoutMs })
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}${result.stderr}`
    )
  }
  return result.stdout
}

/** The PostgreSQL version whose tools make the cluster, or why there is none. */
const clusterTools = (): { readonly version: string } | { readonly problem: string } => {
  const missing = ["pg_createcluster", "pg_ctlcluster", "pg_dropcluster"].filter(
    (name) => spawnSync("sh", ["-c", `command -v ${name}`]).status !== 0
  )
  if (missing.length > 0) return { problem: `${missing.join(", ")} not found (Debian's postgresql-common)` }
  // Debian's tools make clusters as root (or as the postgres user, who owns their folders).
  if (process.getuid?.() !== 0 && process.env.USER !== "postgres") {
    return { problem: "pg_createcluster needs root or the postgres user" }
  }
  const versions = existsSync("/etc/postgresql")
    ? readdirSync("/etc/postgresql").filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/postgres`))
    : []
  const version = versions.sort((a, b) => Number(b) - Number(a))[0]
  return version === undefined ? { problem: "no PostgreSQL server version in /etc/postgresql" } : { version }
}

const tools = clusterTools()
if ("problem" in tools) {
  const why = `cannot make a private PostgreSQL cluster: ${tools.problem}`
  if (required) throw new Error(`${why}, and GEOJOBS_REQUIRE_PG=1 requires it: install postgresql or unset it.`)
  console.warn(`${why}: skipping the PostgreSQL restart test (set GEOJOBS_REQUIRE_PG=1 to make this a failure).`)
}

/** A TCP port nobody listens on at the moment. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** Runs a command without blocking this thread, bounded; answers its exit code (null: killed) and output. */
const run = (command: string, args: ReadonlyArray<string>, timeoutMs: number) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
    let output = ""
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs })
    child.stdout.on("data", (d) => (output += String(d)))
    child.stderr.on("data", (d) => (output += String(d)))
    child.on("error", (error) => (output += error.message))
    child.on("close", (code) => resolve({ code, output }))
  })

/** Whether a process of this id exists (signal 0 only checks). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Outcome =
  | { readonly kind: "acknowledged"; readonly id: string }
  | { readonly kind: "unavailable" }
  | { readonly kind: "other"; readonly what: string }

describe.skipIf("problem" in tools)("a PostgreSQL restart (pg_ctlcluster restart) under two nodes", () => {
  const version = "version" in tools ? tools.version : ""
  const cluster = `geojobs_restart_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  let created = false
  let port = 0
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-pgrestart-"))
  const log = join(dataDir, "runs.log")
  const servicesFile = join(dataDir, "services.yaml")
  const nodes: Array<ServerProcess> = []
  const leaseMs = 10_000

  beforeAll(async () => {
    writeFileSync(log, "")
    writeFileSync(
      servicesFile,
      `services:
  - folder: Test
    name: Restart
    maxConcurrentJobs: 32
    tasks:
      - {module: ${new URL("./support/RunLogTool.ts", import.meta.url).pathname}}
      - {module: ${new URL("./support/FencedRunTool.ts", import.meta.url).pathname}}
`
    )
    // Clusters this test left behind when its process was killed before afterAll (the pid in the name is gone).
    for (const name of readdirSync(`/etc/postgresql/${version}`)) {
      const pid = Number(/^geojobs_restart_(\d+)_/.exec(name)?.[1] ?? Number.NaN)
      if (Number.isNaN(pid) || alive(pid)) continue
      spawnSync("pg_dropcluster", ["--stop", version, name], { timeout: 30_000 })
    }
    // A port found free may be taken before the cluster binds it: then the cluster is dropped and made again.
    for (let attempt = 1; port === 0; attempt++) {
      const candidate = await freePort()
      tool("pg_createcluster", [
        version,
        cluster,
        "-p",
        String(candidate),
        // Never started at boot, and small (it listens on localhost only, the default).
        "--start-conf=manual",
        "-o",
        "shared_buffers=16MB",
        "--",
        "--auth=trust",
        "--no-sync"
      ])
      created = true
      try {
        tool("pg_ctlcluster", ["--skip-systemctl-redirect", version, cluster, "start"])
        port = candidate
      } catch (error) {
        if (attempt === 3) throw error
        tool("pg_dropcluster", ["--stop", version, cluster])
        created = false
      }
    }
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` })
    await client.connect()
    try {
      await client.query("CREATE DATABASE geojobs")
    } finally {
      await client.end()
    }
    const env = (name: string) => ({
      GEOJOBS_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/geojobs`,
      GEOJOBS_DATABASE_SCHEMA: "restart",
      GEOJOBS_DATA_DIR: dataDir,
      GEOJOBS_SERVICES: servicesFile,
      GEOJOBS_ADMIN_PASSWORD: "restart admin password",
      GEOJOBS_LOG_LEVEL: "silent",
      GEOJOBS_WORKERS: "1",
      GEOJOBS_SLOTS: "16",
      GEOJOBS_LEASE_MS: String(leaseMs),
      GEOJOBS_HEARTBEAT_MS: "1000",
      GEOJOBS_NODE_NAME: name
    })
    // One after the other: the first migrates the fresh database.
    for (const name of ["r-a", "r-b"]) nodes.push(await start(env(name)))
  }, 90_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)))
    try {
      if (created) tool("pg_dropcluster", ["--stop", version, cluster])
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 60_000)

  const runs = () => RunLog.read(log).map(({ what, ...rest }) => ({ event: what, ...rest }))

  // Short runs are RunLog's (`ms`), the long ones FencedRun's, each until its own gate file exists.
  const gated = new Set<string>()
  const taskUrl = (node: ServerProcess, task: "RunLog" | "FencedRun") =>
    `${node.base}/rest/services/Test/Restart/GPServer/${task}`
  const taskOf = (id: string) => (gated.has(id) ? "FencedRun" : "RunLog")

  /** One submission of a run of `ms` milliseconds, or of one that ends when the file `gate` is made. */
  const submit = async (node: ServerProcess, ms: number, gate?: string): Promise<Outcome> => {
    try {
      const response = await fetch(`${taskUrl(node, gate === undefined ? "RunLog" : "FencedRun")}/submitJob`, {
        method: "POST",
        body: new URLSearchParams(gate === undefined ? { log, ms: String(ms), f: "json" } : { log, gate, f: "json" }),
        // A hang is a failure: no request may wait longer than this on a database that is restarting.
        signal: AbortSignal.timeout(15_000)
      })
      const text = await response.text()
      const body = JSON.parse(text) as { jobId?: unknown; error?: { code?: unknown; message?: unknown } }
      if (response.status === 200 && typeof body.jobId === "string") {
        if (gate !== undefined) gated.add(body.jobId)
        return { kind: "acknowledged", id: body.jobId }
      }
      if ((response.status === 200 || response.status === 503) && body.error?.code === 503) {
        return { kind: "unavailable" }
      }
      return { kind: "other", what: `HTTP ${response.status} ${text}` }
    } catch (error) {
      return { kind: "other", what: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
    }
  }

  const health = async (node: ServerProcess) => {
    try {
      return (await fetch(`${node.origin}/health`, { signal: AbortSignal.timeout(5000) })).status
    } catch {
      return 0
    }
  }

  /** A job's status and the text of its messages, as a REST client reads them. */
  const statusOf = async (id: string) => {
    const response = await fetch(
      `${taskUrl(nodes[0] as ServerProcess, taskOf(id))}/jobs/${id}?f=json&returnMessages=true`,
      {
        signal: AbortSignal.timeout(10_000)
      }
    )
    const body = (await response.json()) as { jobStatus?: unknown; messages?: Array<{ description?: unknown }> }
    return body.jobStatus === undefined
      ? { status: `not a job: ${JSON.stringify(body)}`, messages: "" }
      : {
          status: RestJob.schema.parse(body).jobStatus as string,
          messages: (body.messages ?? []).map((m) => String(m.description)).join(" | ")
        }
  }

  const terminal = new Set<string>(JobStatus.terminal.map(JobStatus.restName))

  /** Waits (bounded) until every job is terminal; answers each one's last status. */
  const settle = async (ids: ReadonlyArray<string>, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const statuses = new Map(await Promise.all(ids.map(async (id) => [id, await statusOf(id)] as const)))
      if ([...statuses.values()].every((s) => terminal.has(s.status)) || Date.now() > deadline) return statuses
      await sleep(200)
    }
  }

  it("keeps every acknowledged job: each runs once and succeeds; the nodes recover by themselves", async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess]
    for (const n of nodes) assert.strictEqual(await health(n), 200)
    const acknowledged: Array<string> = []
    const outcomes: Array<Outcome & { readonly at: number }> = []
    const record = (outcome: Outcome) => {
      outcomes.push({ ...outcome, at: Date.now() })
      if (outcome.kind === "acknowledged") acknowledged.push(outcome.id)
      return outcome
    }

    // A warm-up on each node first: a loaded machine (the whole suite on two cores) takes seconds to start a node's
    // first tool thread, which would spread the long jobs' starts past the restart's timing below.
    const warmUp: Array<string> = []
    for (const n of nodes) {
      const outcome = record(await submit(n, 20))
      if (outcome.kind === "acknowledged") warmUp.push(outcome.id)
    }
    const warm = await settle(warmUp, 60_000)
    assert.deepStrictEqual(
      [...warm.values()].map((s) => s.status),
      ["esriJobSucceeded", "esriJobSucceeded"],
      "the warm-up jobs succeed on both nodes"
    )

    // Running when the restart comes, each until its own gate file: once all have started, the gates are made 60 ms
    // apart around the restart (below), so that some runs end while the database is down and some after it is back,
    // however slowly a loaded machine started them. A few short ones besides.
    const long = new Map<string, string>()
    for (let i = 0; i < 24; i++) {
      const gate = join(dataDir, `gate-${i}`)
      const outcome = record(await submit(i % 2 === 0 ? a : b, 0, gate))
      assert.strictEqual(outcome.kind, "acknowledged", JSON.stringify(outcome))
      if (outcome.kind === "acknowledged") long.set(outcome.id, gate)
    }
    for (let i = 0; i < 4; i++) record(await submit(i % 2 === 0 ? a : b, 20))
    const startOf = (id: string) => runs().find((r) => r.event === "start" && r.id === id)?.at
    const started = () => [...long.keys()].every((id) => startOf(id) !== undefined)
    // Up to a minute: under the whole suite on two cores the starts took longer than 10 s.
    for (let i = 0; i < 2400 && !started(); i++) await sleep(25)
    assert.isTrue(started(), "every long job runs before the restart")
    // The database goes down ~0.1 s after the command begins and stays down ~0.3–0.5 s (measured here): begun 150 ms
    // before the seventh gate, the outage takes several ends and leaves the last third of the tools running past it.
    const base = Date.now() + 100
    const gates = [...long.values()]
    const opener = (async () => {
      for (const [i, gate] of gates.entries()) {
        await sleep(Math.max(0, base + 60 * i - Date.now()))
        writeFileSync(gate, "")
      }
    })()
    await sleep(Math.max(0, base + 60 * 6 - 150 - Date.now()))

    // All through the restart: submissions to both nodes, one every 50 ms or so; the database itself probed on a
    // connection of its own, to know when it was really down; each node's /health.
    let watching = true
    const submitter = (async () => {
      for (let i = 0; watching; i++) {
        record(await submit(i % 2 === 0 ? a : b, 20))
        await sleep(50)
      }
    })()
    const probes: Array<{ readonly at: number; readonly ok: boolean }> = []
    const prober = (async () => {
      while (watching) {
        const at = Date.now()
        const client = new pg.Client({
          connectionString: `postgres://postgres@127.0.0.1:${port}/geojobs`,
          connectionTimeoutMillis: 1000,
          query_timeout: 1000
        })
        client.on("error", () => {})
        const ok = await client
          .connect()
          .then(() => client.query("SELECT 1"))
          .then(
            () => true,
            () => false
          )
        await client.end().catch(() => undefined)
        probes.push({ at, ok })
        await sleep(25)
      }
    })()
    const checks = nodes.map(() => [] as Array<{ readonly at: number; readonly status: number }>)
    const checkers = nodes.map(async (n, i) => {
      while (watching) {
        const at = Date.now()
        checks[i]?.push({ at, status: await health(n) })
        await sleep(25)
      }
    })

    const restartAt = Date.now()
    // Asynchronously: the submissions, probes and the nodes' tools go on while the command runs.
    const restart = await run("pg_ctlcluster", ["--skip-systemctl-redirect", version, cluster, "restart"], 60_000)
    const restartedAt = Date.now()
    await opener
    // Until each node has answered /health 200 to a request made after the database was back (bounded), and a few
    // more submissions after that.
    const upAt = () => {
      const down = probes.findIndex((p) => p.at >= restartAt && !p.ok)
      return down < 0 ? undefined : probes.slice(down).find((p) => p.ok)?.at
    }
    const recoveredAt = (i: number) => {
      const up = upAt()
      return up === undefined ? undefined : checks[i]?.find((c) => c.at >= up && c.status === 200)?.at
    }
    for (let i = 0; i < 600 && nodes.some((_, n) => recoveredAt(n) === undefined); i++) await sleep(50)
    await sleep(500)
    watching = false
    await Promise.all([submitter, prober, ...checkers])
    assert.strictEqual(restart.code, 0, `pg_ctlcluster restart: ${restart.output}`)
    const downAt = probes.find((p) => p.at >= restartAt && !p.ok)?.at
    const backAt = upAt()
    assert.isDefined(downAt, "the database refused connections during the restart")
    assert.isDefined(backAt, "the database accepted connections again")
    for (const i of nodes.keys()) assert.isDefined(recoveredAt(i), `node ${i} answers /health 200 again by itself`)

    const statuses = await settle(acknowledged, 30_000)
    const log = runs()
    const refused = outcomes.filter((o) => o.kind === "unavailable")
    const since = (at: number | undefined) => `+${(at ?? Number.NaN) - restartAt} ms`
    console.log(
      `pg_ctlcluster restart took ${restartedAt - restartAt} ms; the database refused connections from ` +
        `${since(downAt)} to ${since(backAt)}; /health 200 again ` +
        nodes.map((_, i) => `on r-${"ab"[i]} ${(recoveredAt(i) ?? 0) - (backAt ?? 0)} ms`).join(", ") +
        ` after the database was back (503 answered ${checks.map((c) => c.filter((x) => x.status === 503).length).join(" and ")} times meanwhile); ` +
        `${outcomes.length} submissions: ${acknowledged.length} acknowledged, ${refused.length} refused with 503` +
        (refused.length === 0 ? "" : ` (from ${since(refused[0]?.at)} to ${since(refused.at(-1)?.at)})`)
    )

    // Never a 500, never a hang, never anything but a job id or the 503 envelope.
    assert.deepStrictEqual(
      outcomes.filter((o) => o.kind === "other"),
      [],
      "every submission is acknowledged or refused with the 503 envelope"
    )
    // Every acknowledged job is there, ran exactly once, succeeded, and kept the messages of its run.
    const problems: Array<string> = []
    for (const id of acknowledged) {
      const starts = log.filter((r) => r.event === "start" && r.id === id).length
      const ends = log.filter((r) => r.event === "end" && r.id === id).length
      const job = statuses.get(id)
      if (job?.status !== "esriJobSucceeded" || starts !== 1 || ends !== 1 || !job.messages.includes("Start Time:")) {
        problems.push(`${id}: ${job?.status}, started ${starts}, ended ${ends}, messages ${job?.messages}`)
      }
    }
    assert.deepStrictEqual(
      problems,
      [],
      `acknowledged jobs lost or run twice:\n${nodes.map((n) => n.output()).join("\n")}`
    )

    // The long jobs were mid-run: their tools went on through the restart, and the ends of those that finished while
    // the database was down were written once it was back.
    const ended = (id: string) => log.find((r) => r.event === "end" && r.id === id)?.at ?? 0
    const running = [...long.keys()].filter((id) => ended(id) >= restartAt)
    const duringOutage = running.filter((id) => ended(id) >= (downAt ?? 0) && ended(id) < (backAt ?? 0))
    const afterOutage = running.filter((id) => ended(id) >= (backAt ?? 0))
    console.log(
      `of the ${running.length} jobs running when the restart began, ${running.length - duringOutage.length - afterOutage.length} ` +
        `ended before the database went down, ${duringOutage.length} while it was down (their ends written once it ` +
        `was back) and ${afterOutage.length} after; all recorded Succeeded, each run once`
    )
    assert.isAbove(duringOutage.length, 0, "a tool ended while the database was down")
    const acked = new Set(acknowledged)
    const unacknowledged = new Set(log.filter((r) => !acked.has(r.id)).map((r) => r.id))
    console.log(`${unacknowledged.size} jobs ran whose submission was answered 503 (committed as the connection broke)`)

    // New jobs run on both nodes.
    const fresh: Array<string> = []
    for (const n of nodes) {
      const outcome = await submit(n, 20)
      assert.strictEqual(outcome.kind, "acknowledged", JSON.stringify(outcome))
      if (outcome.kind === "acknowledged") fresh.push(outcome.id)
    }
    const after = await settle(fresh, 20_000)
    assert.deepStrictEqual(
      [...after.values()].map((s) => s.status),
      ["esriJobSucceeded", "esriJobSucceeded"]
    )
  }, 180_000)
})
