/**
 * `pnpm bench:cluster` (issue 11): no-op jobs end to end over HTTP with 1, 2 and 3 server processes on one
 * PostgreSQL schema, beside 1 process on SQLite, in one run. Each setup: real `src/main.ts` processes (Echo, an
 * I/O-bound tool, on a service allowing 64 at once), `--jobs` jobs (default 3,000) submitted round-robin across the
 * nodes by `--submitters` clients (30), every job polled on its own timer every `--poll-ms` (100) until it ends. For
 * each: jobs/s, submit→Executing p50/p99 (from the job rows, `started - created`), CPU per job (user + system of
 * every node, worker threads included) and the nodes' summed peak RSS. Prints a table; `--append` adds it to
 * BENCHMARKS.md with the date. The takeover time after `kill -9` is in `test/ClusterKill.test.ts`'s output.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { parseArgs } from "node:util"
import * as BenchHttp from "@geojobs/fixtures/BenchHttp"
import * as Proc from "@geojobs/fixtures/Proc"
import pg from "pg"

const { values: flags } = parseArgs({
  options: {
    jobs: { type: "string", default: "3000" },
    submitters: { type: "string", default: "30" },
    "poll-ms": { type: "string", default: "100" },
    // Each setup runs twice: a burst (as fast as the submitters go), then jobs offered at this many per second in all
    // (0: no second run). In a burst a slower setup's jobs queue longer and are polled more often, so its CPU per job
    // counts its queue too; at a rate every setup keeps up with, each job is polled about as often in each, and CPU
    // per job compares the setups' own costs.
    rate: { type: "string", default: "200" },
    database: {
      type: "string",
      default: process.env.GEOJOBS_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
    },
    // Which setups to run: "sqlite" and node counts on PostgreSQL (a profile of one setup runs only that one).
    setups: { type: "string", default: "sqlite,1,2,3" },
    append: { type: "boolean", default: false }
  }
})
const jobs = Number(flags.jobs)
const submitters = Number(flags.submitters)
const pollMs = Number(flags["poll-ms"])
const rate = Number(flags.rate)
const mainTs = new URL("../src/main.ts", import.meta.url).pathname

const dir = mkdtempSync(join(tmpdir(), "geojobs-bench-cluster-"))
const servicesFile = join(dir, "services.yaml")
writeFileSync(
  servicesFile,
  "services:\n  - folder: Bench\n    name: Echo\n    maxConcurrentJobs: 64\n    jobRetention: 3600\n    tasks: [{tool: Echo}]\n"
)

const startNode = (env: Record<string, string>) =>
  new Promise<{ child: ChildProcess; base: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [mainTs], {
      env: { ...process.env, GEOJOBS_PORT: "0", GEOJOBS_LOG_LEVEL: "warn", GEOJOBS_SERVICES: servicesFile, ...env },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout?.on("data", (d) => {
      out += String(d)
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match?.[1] !== undefined) resolve({ child, base: match[1] })
    })
    child.on("exit", (code) => reject(new Error(`node exited with ${code}: ${out}`)))
  })

const { cpuMs } = Proc
const rssMb = (pid: number) => Proc.memoryMb(pid)

const send = BenchHttp.client(submitters)
const request = async (method: string, url: string, body?: string) => (await send(method, url, body)).text
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const { quantile } = Proc

/** The burst against `bases`; answers the ids submitted and the seconds it took. */
const burst = async (bases: ReadonlyArray<string>, rate: number) => {
  const ids: Array<string> = []
  const polls: Array<Promise<void>> = []
  let reads = 0
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: submitters }, async () => {
      while (next < jobs) {
        const base = bases[next % bases.length] as string
        const at = rate > 0 ? t0 + (next * 1000) / rate : 0
        next++
        if (at > performance.now()) await sleep(at - performance.now())
        const echo = `${base}/rest/services/Bench/Echo/GPServer/Echo`
        const id = (
          JSON.parse(await request("POST", `${echo}/submitJob`, "input_string=hello&f=json")) as {
            jobId?: string
          }
        ).jobId
        if (id === undefined) continue
        ids.push(id)
        polls.push(
          (async () => {
            for (;;) {
              await sleep(pollMs)
              reads++
              const status = (JSON.parse(await request("GET", `${echo}/jobs/${id}?f=json`)) as { jobStatus?: string })
                .jobStatus
              if (status !== "esriJobSubmitted" && status !== "esriJobWaiting" && status !== "esriJobExecuting") return
            }
          })()
        )
      }
    })
  )
  await Promise.all(polls)
  return { ids, reads, seconds: (performance.now() - t0) / 1000 }
}

interface Row {
  readonly label: string
  readonly rate: number
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
  readonly cpuMsPerJob: number
  /** Status reads per job: a setup whose jobs wait longer is polled more, and its CPU per job counts those reads. */
  readonly pollsPerJob: number
  /** The nodes' CPU per HTTP request (submits and status reads): the setups' costs without their queues'. */
  readonly cpuUsPerRequest: number
  /** The PostgreSQL server's CPU per job (its processes on this machine), beside the nodes'. */
  readonly pgCpuMsPerJob: number | undefined
  readonly peakRssMb: number
}

const run = async (label: string, count: number, storage: "postgres" | "sqlite", rate: number): Promise<Row> => {
  const schema = `bench_cluster_${process.pid}_${count}_${storage}_${rate}`
  const dataDir = join(dir, schema)
  const admin = new pg.Client({ connectionString: flags.database })
  if (storage === "postgres") {
    await admin.connect()
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  }
  const env = (n: number): Record<string, string> => ({
    GEOJOBS_DATA_DIR: dataDir,
    GEOJOBS_ADMIN_PASSWORD: "bench cluster password",
    GEOJOBS_NODE_NAME: `bench-${n}`,
    ...(storage === "postgres" ? { GEOJOBS_DATABASE_URL: flags.database, GEOJOBS_DATABASE_SCHEMA: schema } : {})
  })
  const nodes = await Promise.all(Array.from({ length: count }, (_, n) => startNode(env(n))))
  const pids = nodes.map((n) => n.child.pid ?? 0)
  // Warm-up: threads started, paths compiled.
  await burst(
    nodes.map((n) => n.base),
    0
  ).catch(() => undefined)
  let peak = 0
  const sampler = setInterval(() => {
    peak = Math.max(
      peak,
      pids.reduce((sum, p) => sum + rssMb(p), 0)
    )
  }, 200)
  const cpu0 = pids.reduce((sum, p) => sum + cpuMs(p), 0)
  const pg0 = Proc.cpuMsOfCommand("postgres")
  const { ids, reads, seconds } = await burst(
    nodes.map((n) => n.base),
    rate
  )
  const cpu = pids.reduce((sum, p) => sum + cpuMs(p), 0) - cpu0
  const pgCpu = Proc.cpuMsOfCommand("postgres") - pg0
  clearInterval(sampler)
  let waits: Array<number>
  if (storage === "postgres") {
    const rows = await admin.query<{ wait: string }>(
      `SELECT started - created AS wait FROM "${schema}".jobs WHERE id = ANY($1::text[])`,
      [ids]
    )
    waits = rows.rows.map((r) => Number(r.wait))
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await admin.end()
  } else {
    const db = new DatabaseSync(join(dataDir, "jobs.sqlite"), { readOnly: true })
    waits = (
      db
        .prepare("SELECT started - created AS wait FROM jobs WHERE id IN (SELECT value FROM json_each(?))")
        .all(JSON.stringify(ids)) as Array<{ wait: number }>
    ).map((r) => r.wait)
    db.close()
  }
  for (const n of nodes) n.child.kill("SIGTERM")
  await sleep(500)
  waits.sort((a, b) => a - b)
  return {
    label,
    rate,
    perSecond: Math.round(ids.length / seconds),
    p50: quantile(waits, 0.5),
    p99: quantile(waits, 0.99),
    cpuMsPerJob: Number((cpu / Math.max(1, ids.length)).toFixed(2)),
    pollsPerJob: Number((reads / Math.max(1, ids.length)).toFixed(1)),
    cpuUsPerRequest: Math.round((cpu * 1000) / Math.max(1, ids.length + reads)),
    pgCpuMsPerJob: storage === "postgres" ? Number((pgCpu / Math.max(1, ids.length)).toFixed(2)) : undefined,
    peakRssMb: peak
  }
}

const rows: Array<Row> = []
const setups = String(flags.setups).split(",")
for (const pass of rate > 0 ? [0, rate] : [0]) {
  if (setups.includes("sqlite")) rows.push(await run("1 node, SQLite (baseline)", 1, "sqlite", pass))
  for (const n of setups.filter((s) => s !== "sqlite").map(Number)) {
    rows.push(await run(`${n} node${n === 1 ? "" : "s"}, PostgreSQL`, n, "postgres", pass))
  }
}

const offered = (r: Row) => (r.rate === 0 ? "burst" : `${r.rate}/s`)
const table = [
  "| setup | offered | jobs/s | submit→Executing p50 | p99 | CPU per job (all nodes) | status reads per job | CPU per request | PostgreSQL server CPU per job | peak RSS (all nodes) |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...rows.map(
    (r) =>
      `| ${r.label} | ${offered(r)} | ${r.perSecond} | ${r.p50} ms | ${r.p99} ms | ${r.cpuMsPerJob} ms | ${r.pollsPerJob} | ${r.cpuUsPerRequest} µs | ${r.pgCpuMsPerJob === undefined ? "–" : `${r.pgCpuMsPerJob} ms`} | ${r.peakRssMb} MB |`
  )
].join("\n")
const ratios = (rate > 0 ? [0, rate] : [0]).flatMap((pass) => {
  const sqlite = rows.find((r) => r.rate === pass && r.label.includes("SQLite"))
  const onePg = rows.find((r) => r.rate === pass && r.label.startsWith("1 node, PostgreSQL"))
  return sqlite === undefined || onePg === undefined
    ? []
    : [
        `${(onePg.cpuMsPerJob / sqlite.cpuMsPerJob).toFixed(2)}× per job, ${(onePg.cpuUsPerRequest / sqlite.cpuUsPerRequest).toFixed(2)}× per request (${pass === 0 ? "burst" : `${pass} jobs/s`})`
      ]
})
const ratio =
  ratios.length === 0 ? "" : `PostgreSQL / SQLite CPU per job, one node: ${ratios.join(", ")} (aim ≤ 1.5×). `
const conditions = `${ratio}${jobs} Echo jobs (I/O-bound, service limit 64) per setup and pass after a warm-up burst, submitted round-robin across the nodes by ${submitters} clients, each job polled every ${pollMs} ms; Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), nodes, clients and the PostgreSQL server on the same machine (on 2 cores, more nodes show as CPU per job, not throughput).`
console.log(table)
console.log(conditions)
if (flags.append) {
  appendFileSync(
    new URL("../../../BENCHMARKS.md", import.meta.url),
    `\n## cluster (issue 11) — ${new Date().toISOString().slice(0, 10)}\n\n${table}\n\n${conditions}\n`
  )
}
process.exit(0)
