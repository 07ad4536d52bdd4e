/**
 * `pnpm bench:jobs` (issue 13): jobs end to end over HTTP, beside the engine alone and a bare Fastify route, in one
 * run. Starts the real server (`apps/server`, SQLite in a temporary folder, default workers, a services file with an
 * asynchronous and a synchronous Echo) in its own process and runs, from this one:
 *
 * - **burst**: `--jobs` Echo jobs (default 5,000) submitted back to back by `--submitters` clients (50), every job
 *   polled on its own timer every `--poll-ms` (100) until it ends, over as many keep-alive connections as submitters;
 * - **small**: 200 jobs from 10 submitters, each submitting a job, polling it until it ends, then the next;
 * - **sync**: `--sync` synchronous Echo `execute` calls (2,000) from the same submitters;
 * - **engine only**: the burst's jobs and submitters through the engine in a process of its own (`engine-only.ts`:
 *   same services, store and worker threads, no HTTP);
 * - **bare route**: GETs of a bare Fastify route answering a document the size of a job status, from the same
 *   clients, for the cost of HTTP itself on this machine.
 *
 * For each: jobs (or requests) per second, submit→Executing p50/p99 (from the job rows: `started - created`), server
 * CPU per job (user + system of the whole process, worker threads included) and the server's peak RSS. Prints a table
 * and a markdown block; `--append` adds it to BENCHMARKS.md with the date. `--cpu-prof DIR` profiles the server.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { parseArgs } from "node:util"
import * as BenchHttp from "@geojobs/fixtures/BenchHttp"
import * as Proc from "@geojobs/fixtures/Proc"

const { values: flags } = parseArgs({
  options: {
    jobs: { type: "string", default: "5000" },
    submitters: { type: "string", default: "50" },
    "poll-ms": { type: "string", default: "100" },
    sync: { type: "string", default: "2000" },
    only: { type: "string" },
    "log-level": { type: "string", default: "info" },
    "cpu-prof": { type: "string" },
    // Extra node flags for the server and the engine-only process, e.g. --server-args=--max-semi-space-size=8.
    "server-args": { type: "string", default: "" },
    append: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  }
})
if (flags.help) {
  console.log(`node bench/jobs.ts [flags]
  --jobs N         burst size (5000)      --submitters N  concurrent clients (50)   --poll-ms N  status polling (100)
  --sync N         synchronous executes (2000)
  --only LIST      some of burst,small,sync,engine,bare (all)
  --log-level L    the server's GEOJOBS_LOG_LEVEL (info, its default)
  --cpu-prof DIR   run the server under node --cpu-prof
  --append         add the results to BENCHMARKS.md`)
  process.exit(0)
}
const jobs = Number(flags.jobs)
const submitters = Number(flags.submitters)
const pollMs = Number(flags["poll-ms"])
const syncCalls = Number(flags.sync)
const only = new Set((flags.only ?? "burst,small,sync,engine,bare").split(","))

const dir = mkdtempSync(join(tmpdir(), "geojobs-bench-jobs-"))
const servicesFile = join(dir, "services.yaml")
writeFileSync(
  servicesFile,
  `services:
  - folder: Bench
    name: Echo
    maxConcurrentJobs: 64
    jobRetention: 3600
    tasks: [{tool: Echo}]
  - folder: Bench
    name: EchoSync
    executionType: sync
    maxConcurrentJobs: 64
    jobRetention: 3600
    tasks: [{tool: Echo}]
`
)

const waitForLine = (child: ChildProcess, pattern: RegExp) =>
  new Promise<RegExpExecArray>((resolve, reject) => {
    let out = ""
    let found = false
    child.stdout?.on("data", (d) => {
      if (found) return
      out += String(d)
      const match = pattern.exec(out)
      if (match !== null) {
        found = true
        resolve(match)
      }
    })
    child.on("exit", (code) => {
      if (!found) reject(new Error(`exited with ${code}: ${out}`))
    })
  })

// --- the processes ---------------------------------------------------------------------------------------------------

const serverArgs = flags["server-args"] === "" ? [] : flags["server-args"].split(/\s+/)
const mainTs = new URL("../../../apps/server/src/main.ts", import.meta.url).pathname
const dataDir = join(dir, "server")
if (flags["cpu-prof"] !== undefined) mkdirSync(flags["cpu-prof"], { recursive: true })
const server = spawn(
  process.execPath,
  [
    ...(flags["cpu-prof"] === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", flags["cpu-prof"]]),
    ...serverArgs,
    mainTs
  ],
  {
    env: {
      ...process.env,
      GEOJOBS_PORT: "0",
      GEOJOBS_HOST: "127.0.0.1",
      GEOJOBS_DATA_DIR: dataDir,
      GEOJOBS_SERVICES: servicesFile,
      GEOJOBS_ADMIN_PASSWORD: "bench password 1",
      GEOJOBS_LOG_LEVEL: flags["log-level"]
    },
    stdio: ["ignore", "pipe", "inherit"]
  }
)
const port = Number((await waitForLine(server, /listening on http:\/\/[^:]+:(\d+)/))[1])
const pid = server.pid ?? 0

const bare = spawn(process.execPath, [new URL("./serve.ts", import.meta.url).pathname, "bare", "120"], {
  stdio: ["ignore", "pipe", "inherit"]
})
const barePort = Number((await waitForLine(bare, /"port":(\d+)/))[1])

const procStat = Proc.cpuMs
const rssMb = (p: number) => Proc.memoryMb(p)

// --- HTTP --------------------------------------------------------------------------------------------------------------

const send = BenchHttp.client(submitters)
let requests = 0
const request = (method: string, to: number, path: string, body?: string) => {
  requests++
  return send(method, `http://127.0.0.1:${to}${path}`, body)
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const base = "/arcgis/rest/services/Bench"
const { quantile } = Proc

interface Row {
  readonly label: string
  readonly n: number
  readonly perSecond: number
  readonly p50?: number | undefined
  readonly p99?: number | undefined
  readonly cpuMsPerJob?: number | undefined
  /**
   * This process's CPU per job: the load generator's (HTTP clients, polling timers), on the same cores as the
   * server — with both on two cores, jobs/s cannot exceed 2,000 / (server + load generator CPU per job in ms).
   */
  readonly clientCpuMsPerJob?: number | undefined
  /** HTTP requests per job (its submit and its status reads). */
  readonly requestsPerJob?: number | undefined
  readonly peakRssMb?: number | undefined
  readonly errors: number
}

/** Runs `work` while sampling the server's RSS; answers the CPU it used and its peak RSS. */
const measured = async <A>(work: () => Promise<A>) => {
  let peak = rssMb(pid)
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid))
  }, 100)
  const cpu0 = procStat(pid)
  const client0 = process.cpuUsage()
  const requests0 = requests
  const t0 = performance.now()
  const value = await work()
  const seconds = (performance.now() - t0) / 1000
  clearInterval(sampler)
  const client = process.cpuUsage(client0)
  return {
    value,
    seconds,
    cpuMs: procStat(pid) - cpu0,
    clientCpuMs: (client.user + client.system) / 1000,
    requests: requests - requests0,
    peakRssMb: peak
  }
}

/** A measured run's costs per job (of `jobs`): the server's and the load generator's CPU, and the HTTP requests. */
const perJob = (
  run: { readonly cpuMs: number; readonly clientCpuMs: number; readonly requests: number; readonly peakRssMb: number },
  jobs: number
) => ({
  cpuMsPerJob: Number((run.cpuMs / Math.max(1, jobs)).toFixed(2)),
  clientCpuMsPerJob: Number((run.clientCpuMs / Math.max(1, jobs)).toFixed(2)),
  requestsPerJob: Number((run.requests / Math.max(1, jobs)).toFixed(1)),
  peakRssMb: run.peakRssMb
})

/** Submit→Executing of the given jobs, from the server's job rows (ms). */
const waitsOf = (ids: ReadonlyArray<string>) => {
  const db = new DatabaseSync(join(dataDir, "jobs.sqlite"), { readOnly: true })
  const rows = db
    .prepare("SELECT started - created AS wait FROM jobs WHERE id IN (SELECT value FROM json_each(?))")
    .all(JSON.stringify(ids)) as Array<{ wait: number | null }>
  db.close()
  return rows.map((r) => r.wait ?? Number.NaN).sort((a, b) => a - b)
}

/** Polls a job every `pollMs` until it ends; answers whether it succeeded. */
const pollUntilDone = async (id: string) => {
  for (;;) {
    await sleep(pollMs)
    const { text } = await request("GET", port, `${base}/Echo/GPServer/Echo/jobs/${id}?f=json`)
    const status = (JSON.parse(text) as { jobStatus?: string }).jobStatus
    if (status === "esriJobSucceeded") return true
    if (status !== "esriJobSubmitted" && status !== "esriJobWaiting" && status !== "esriJobExecuting") return false
  }
}
const submitEcho = async () => {
  const submitted = await request("POST", port, `${base}/Echo/GPServer/Echo/submitJob`, "input_string=hello&f=json")
  return (JSON.parse(submitted.text) as { jobId?: string }).jobId
}

/**
 * `clients` submitters; `burst`: each submits its share back to back and every job is polled on its own timer (as a
 * script submitting many jobs does) — `await`: each submits one job, polls it until it ends, then the next.
 */
const asyncJobs = async (label: string, count: number, clients: number, mode: "burst" | "await"): Promise<Row> => {
  const ids: Array<string> = []
  const polls: Array<Promise<boolean>> = []
  let errors = 0
  let next = 0
  const run = await measured(async () => {
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < count) {
          next++
          const id = await submitEcho()
          if (id === undefined) {
            errors++
            continue
          }
          ids.push(id)
          if (mode === "burst") polls.push(pollUntilDone(id))
          else if (!(await pollUntilDone(id))) errors++
        }
      })
    )
    for (const ok of await Promise.all(polls)) if (!ok) errors++
  })
  const waits = waitsOf(ids)
  return {
    label,
    n: ids.length,
    perSecond: Math.round(ids.length / run.seconds),
    p50: quantile(waits, 0.5),
    p99: quantile(waits, 0.99),
    ...perJob(run, ids.length),
    errors
  }
}

const syncJobs = async (count: number): Promise<Row> => {
  let errors = 0
  let done = 0
  let next = 0
  const run = await measured(() =>
    Promise.all(
      Array.from({ length: submitters }, async () => {
        while (next < count) {
          next++
          const r = await request("POST", port, `${base}/EchoSync/GPServer/Echo/execute`, "input_string=hello&f=json")
          if (r.status === 200 && r.text.includes('"results"')) done++
          else errors++
        }
      })
    )
  )
  return {
    label: `sync execute, ${submitters} clients`,
    n: done,
    perSecond: Math.round(done / run.seconds),
    ...perJob(run, done),
    errors
  }
}

const bareRoute = async (count: number): Promise<Row> => {
  let errors = 0
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: submitters }, async () => {
      while (next < count) {
        next++
        if ((await request("GET", barePort, `/job/j${next}`)).status !== 200) errors++
      }
    })
  )
  return {
    label: `bare Fastify route (a status-sized document), ${submitters} clients`,
    n: count,
    perSecond: Math.round(count / ((performance.now() - t0) / 1000)),
    errors
  }
}

const engineOnly = async (): Promise<Row> => {
  const child = spawn(
    process.execPath,
    [
      ...serverArgs,
      new URL("./engine-only.ts", import.meta.url).pathname,
      "--data-dir",
      join(dir, "engine"),
      "--services",
      servicesFile,
      "--jobs",
      String(jobs),
      "--submitters",
      String(submitters)
    ],
    { stdio: ["ignore", "pipe", "inherit"] }
  )
  const line = (await waitForLine(child, /^\{.*\}$/m))[0]
  const r = JSON.parse(line) as {
    jobsPerSecond: number
    p50: number
    p99: number
    cpuMsPerJob: number
    peakRssMb: number
  }
  return {
    label: `engine only (no HTTP): ${jobs} jobs, ${submitters} submitters awaiting each`,
    n: jobs,
    perSecond: r.jobsPerSecond,
    p50: r.p50,
    p99: r.p99,
    cpuMsPerJob: r.cpuMsPerJob,
    peakRssMb: r.peakRssMb,
    errors: 0
  }
}

// --- the run ------------------------------------------------------------------------------------------------------------

const idleRss = rssMb(pid)
// Warm-up: threads started, paths compiled.
await asyncJobs("warm-up", 50, 10, "await")
await request("POST", port, `${base}/EchoSync/GPServer/Echo/execute`, "input_string=hello&f=json")
const rows: Array<Row> = []
if (only.has("bare")) rows.push(await bareRoute(20_000))
if (only.has("engine")) rows.push(await engineOnly())
if (only.has("burst"))
  rows.push(
    await asyncJobs(
      `burst over HTTP: ${jobs} jobs from ${submitters} submitters, each job polled every ${pollMs} ms`,
      jobs,
      submitters,
      "burst"
    )
  )
if (only.has("small"))
  rows.push(
    await asyncJobs(`200 jobs, 10 submitters each awaiting its job (polls every ${pollMs} ms)`, 200, 10, "await")
  )
if (only.has("sync")) rows.push(await syncJobs(syncCalls))
const afterRss = rssMb(pid)
server.kill("SIGTERM")
bare.kill("SIGTERM")

const cell = (v: number | undefined, unit = "") => (v === undefined || Number.isNaN(v) ? "–" : `${v}${unit}`)
const table = [
  "| workload | n | per s | submit→Executing p50 | p99 | server CPU per job | load generator CPU per job | requests per job | server peak RSS | errors |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...rows.map(
    (r) =>
      `| ${r.label} | ${r.n} | ${r.perSecond} | ${cell(r.p50, " ms")} | ${cell(r.p99, " ms")} | ${cell(r.cpuMsPerJob, " ms")} | ${cell(r.clientCpuMsPerJob, " ms")} | ${cell(r.requestsPerJob)} | ${cell(r.peakRssMb, " MB")} | ${r.errors} |`
  )
].join("\n")
const burst = rows.find((r) => r.label.startsWith("burst"))
const engine = rows.find((r) => r.label.startsWith("engine"))
const ratio =
  burst !== undefined && engine !== undefined
    ? `HTTP burst / engine only: ${(burst.perSecond / engine.perSecond).toFixed(2)}× (aim ≥ 0.8×). `
    : ""
const conditions = `${ratio}Server RSS idle at start ${idleRss} MB, after the run ${afterRss} MB. Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), the apps/server server (SQLite, default workers, log level ${flags["log-level"]}) and the engine-only process each on their own; clients in this process over keep-alive connections on 127.0.0.1.`
console.log(table)
console.log(conditions)
if (flags.append) {
  appendFileSync(
    new URL("../../../BENCHMARKS.md", import.meta.url),
    `\n## jobs over HTTP (issue 13) — ${new Date().toISOString().slice(0, 10)}\n\n${table}\n\n${conditions}\n`
  )
}
process.exit(0)
