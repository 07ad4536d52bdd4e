/**
 * `pnpm bench:memory` (issue 13 item 3): the server's memory at idle and across repeated bursts in one process. Starts
 * the real server (`src/main.ts`, SQLite in a temporary data folder, the sample services unless `--services`), reads
 * its RSS right after it listens and again after `--idle-ms` (10 s), then runs `--bursts` (5) bursts of `--jobs` (5,000)
 * Echo jobs from `--submitters` (50) clients, every job polled every `--poll-ms` (100) until it ends, and reads the
 * RSS after each burst has settled for `--settle-ms` (5 s), beside the peak during the burst, the main thread's heap
 * (from the server's own `/metrics`, which answers loopback clients) and the threads alive (`/proc/<pid>/task`).
 *
 * Fails (exit 1) when memory grows across bursts: the last burst's settled RSS more than `--tolerance` percent (10)
 * above the second's. The first burst is the warm-up (worker threads started, code compiled, the SQLite page cache
 * filled), so the second is the baseline; a leak of even a few hundred bytes a job shows over three more bursts of
 * 5,000 (15,000 jobs × 300 B ≈ 4.5 MB), while the run-to-run spread of a settled RSS, GC timing mostly, stays within a
 * few percent. It is a benchmark, not a unit test: it takes minutes and its figures depend on the machine.
 * Prints a markdown table for BENCHMARKS.md; `--heap-snapshots DIR` also has the server write a heap snapshot of its
 * main thread after idle and after each burst (which costs memory and time of its own: compare those runs only with
 * each other).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { availableParallelism, cpus, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import * as BenchHttp from "@geojobs/fixtures/BenchHttp"
import * as Inspector from "@geojobs/fixtures/Inspector"
import * as Proc from "@geojobs/fixtures/Proc"

const { values: flags } = parseArgs({
  options: {
    jobs: { type: "string", default: "5000" },
    submitters: { type: "string", default: "50" },
    "poll-ms": { type: "string", default: "100" },
    bursts: { type: "string", default: "5" },
    "idle-ms": { type: "string", default: "10000" },
    "settle-ms": { type: "string", default: "5000" },
    tolerance: { type: "string", default: "10" },
    services: { type: "string" },
    service: { type: "string", default: "System/Utilities" },
    "heap-snapshots": { type: "string" },
    // The flags `pnpm start` runs the server with (apps/server/package.json): V8's young generation bounded.
    "server-args": { type: "string", default: "--max-semi-space-size=16" },
    // "bundle": the built server as published and as \`pnpm start\` runs it (dist/server/main.js, built first);
    // "source": src/main.ts, as the tests run it (Node strips the types at each start).
    from: { type: "string", default: "bundle" },
    // Before each reading, a full garbage collection in every thread of the server (through its inspector, which the
    // server then opens on a loopback port), so the readings are what is live, not where the last collections were.
    gc: { type: "boolean", default: true },
    help: { type: "boolean", default: false }
  }
})
if (flags.help) {
  console.log(`node bench/memory.ts [flags]
  --jobs N            jobs per burst (5000)         --submitters N  concurrent clients (50)
  --poll-ms N         status polling (100)          --bursts N      bursts in one server (5)
  --idle-ms N         wait before the idle reading (10000)
  --settle-ms N       wait after each burst before its reading (5000)
  --tolerance P       allowed growth, last burst over the second, in percent (10)
  --services FILE     the services file (the sample services)   --service F/N  the service whose Echo runs (System/Utilities)
  --heap-snapshots D  the server writes a main-thread heap snapshot into D after idle and after each burst
  --server-args=A     node flags for the server ("--max-semi-space-size=16", as pnpm start runs it; "" for none)
  --from bundle|source  the built bundle (dist/server/main.js, as pnpm start runs it) or src/main.ts (bundle)
  --no-gc             no full collection in every thread before each reading (the server's inspector stays closed)`)
  process.exit(0)
}
const jobs = Number(flags.jobs)
const submitters = Number(flags.submitters)
const pollMs = Number(flags["poll-ms"])
const bursts = Number(flags.bursts)
const idleMs = Number(flags["idle-ms"])
const settleMs = Number(flags["settle-ms"])
const tolerance = Number(flags.tolerance)
const snapshots = flags["heap-snapshots"] === undefined ? undefined : resolve(flags["heap-snapshots"])
if (snapshots !== undefined) mkdirSync(snapshots, { recursive: true })

const dir = mkdtempSync(join(tmpdir(), "geojobs-bench-memory-"))
const mainTs = new URL("../src/main.ts", import.meta.url).pathname
const bundle = new URL("../dist/server/main.js", import.meta.url).pathname
if (flags.from !== "bundle" && flags.from !== "source") throw new Error(`--from is bundle or source, not ${flags.from}`)
if (flags.from === "bundle") {
  // Always: a bundle left from an older checkout would measure old code.
  execFileSync("pnpm", ["exec", "tsdown", "--log-level", "warn"], {
    cwd: new URL("..", import.meta.url).pathname,
    stdio: "inherit"
  })
}
const entry = flags.from === "bundle" ? bundle : mainTs
const server: ChildProcess = spawn(
  process.execPath,
  [
    // Node writes a snapshot of the main thread's heap on this signal (not of worker threads: they have their own).
    ...(snapshots === undefined ? [] : ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshots}`]),
    ...(flags["server-args"] === "" ? [] : flags["server-args"].split(/\s+/)),
    ...(flags.gc ? ["--inspect=127.0.0.1:0", "--expose-gc"] : []),
    entry
  ],
  {
    env: {
      ...process.env,
      GEOJOBS_PORT: "0",
      GEOJOBS_HOST: "127.0.0.1",
      GEOJOBS_DATA_DIR: join(dir, "data"),
      ...(flags.services === undefined ? {} : { GEOJOBS_SERVICES: resolve(flags.services) }),
      GEOJOBS_ADMIN_PASSWORD: "bench memory password",
      GEOJOBS_LOG_LEVEL: "warn"
    },
    stdio: ["ignore", "pipe", "pipe"]
  }
)
// The server's stderr goes on to ours; the inspector's address is read off it.
let stderr = ""
server.stderr?.on("data", (d: Buffer) => {
  stderr += String(d)
  process.stderr.write(d)
})
const cleanUp = () => {
  inspector?.close()
  server.kill("SIGTERM")
  rmSync(dir, { recursive: true, force: true })
}
process.once("SIGINT", () => {
  cleanUp()
  process.exit(130)
})
const port = await new Promise<number>((ok, fail) => {
  let out = ""
  const listening = (d: Buffer) => {
    out += String(d)
    const match = /listening on http:\/\/[^:]+:(\d+)/.exec(out)
    if (match !== null) {
      server.stdout?.off("data", listening)
      server.stdout?.resume()
      ok(Number(match[1]))
    }
  }
  server.stdout?.on("data", listening)
  server.once("exit", (code) => fail(new Error(`the server exited with ${code}: ${out}`)))
})
const pid = server.pid ?? 0
const inspector = flags.gc
  ? await (async () => {
      for (let i = 0; i < 100 && Inspector.urlIn(stderr) === undefined; i++) await new Promise((r) => setTimeout(r, 50))
      const url = Inspector.urlIn(stderr)
      if (url === undefined) throw new Error(`the server printed no inspector address:\n${stderr}`)
      return Inspector.connect(url)
    })()
  : undefined

const send = BenchHttp.client(submitters)
const request = async (method: string, path: string, body?: string) =>
  (await send(method, `http://127.0.0.1:${port}${path}`, body)).text
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const echo = `/arcgis/rest/services/${flags.service}/GPServer/Echo`

/** One burst: every submitter submits back to back, every job is polled on its own timer until it ends. */
const burst = async () => {
  let next = 0
  let failed = 0
  const polls: Array<Promise<void>> = []
  const poll = async (id: string) => {
    for (;;) {
      await sleep(pollMs)
      const status = (JSON.parse(await request("GET", `${echo}/jobs/${id}?f=json`)) as { jobStatus?: string }).jobStatus
      if (status === "esriJobSucceeded") return
      if (status !== "esriJobSubmitted" && status !== "esriJobWaiting" && status !== "esriJobExecuting") {
        failed++
        return
      }
    }
  }
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: submitters }, async () => {
      while (next < jobs) {
        next++
        const id = (
          JSON.parse(await request("POST", `${echo}/submitJob`, "input_string=hello&f=json")) as { jobId?: string }
        ).jobId
        if (id === undefined) failed++
        else polls.push(poll(id))
      }
    })
  )
  await Promise.all(polls)
  return { seconds: (performance.now() - t0) / 1000, failed }
}

/** The main thread's heap, used and total, and external memory, in MB, from the server's Prometheus defaults. */
const heap = async () => {
  const text = await request("GET", "/metrics")
  const mb = (name: string) => {
    const match = new RegExp(`^geojobs_process_${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)
    return match === null ? Number.NaN : Math.round(Number(match[1]) / 2 ** 20)
  }
  return {
    used: mb("nodejs_heap_size_used_bytes"),
    total: mb("nodejs_heap_size_total_bytes"),
    external: mb("nodejs_external_memory_bytes")
  }
}

/** The server's threads by name (`/proc/<pid>/task/<tid>/comm`); Node's worker threads show as `WorkerThread`... */
const threads = () => {
  const names = readdirSync(`/proc/${pid}/task`).map((t) => {
    try {
      return readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim()
    } catch {
      return "gone"
    }
  })
  return { all: names.length, workers: names.filter((n) => n === "WorkerThread" || n.startsWith("node:")).length }
}

interface Reading {
  readonly label: string
  readonly rssMb: number
  /** Of the RSS at the reading: anonymous memory (heaps, malloc), mapped files, shared memory (SQLite's WAL index). */
  readonly parts: { readonly anon: number; readonly file: number; readonly shmem: number }
  /** The lowest RSS over the settle before the reading (V8 gives pages back in steps, at times of its choosing). */
  readonly lowMb?: number | undefined
  readonly peakMb?: number | undefined
  readonly heap: { readonly used: number; readonly total: number; readonly external: number }
  readonly threads: { readonly all: number; readonly workers: number }
  readonly seconds?: number | undefined
  readonly failed?: number | undefined
  /** With `--gc`: the RSS right after a full collection in every thread, and each thread's live heap then. */
  readonly afterGc?:
    | {
        readonly rssMb: number
        /** What V8's 256 KiB pages hold resident (`Proc.v8PagesMb`): in its heaps, or freed and kept for reuse. */
        readonly v8PagesMb: number
        readonly heaps: ReadonlyArray<Inspector.ThreadHeap>
      }
    | undefined
}
const readings: Array<Reading> = []
const read = async (label: string, extra: Partial<Reading> = {}) => {
  const parts = {
    anon: Proc.memoryMb(pid, "RssAnon"),
    file: Proc.memoryMb(pid, "RssFile"),
    shmem: Proc.memoryMb(pid, "RssShmem")
  }
  let afterGc: Reading["afterGc"]
  if (inspector !== undefined) {
    await inspector.collect()
    await sleep(500)
    afterGc = { rssMb: Proc.memoryMb(pid), v8PagesMb: Proc.v8PagesMb(pid), heaps: await inspector.heaps() }
  }
  const reading = { label, rssMb: Proc.memoryMb(pid), parts, heap: await heap(), threads: threads(), afterGc, ...extra }
  readings.push(reading)
  console.error(`${label}: ${JSON.stringify(reading)}`)
  if (snapshots !== undefined) {
    // Taken after the reading: writing a snapshot raises the RSS by about the heap's size for a while.
    const before = new Set(readdirSync(snapshots))
    process.kill(pid, "SIGUSR2")
    // Done when the new file has stopped growing (Node writes it in place).
    let size = -1
    for (;;) {
      await sleep(500)
      const file = readdirSync(snapshots).find((f) => !before.has(f))
      const now = file === undefined ? 0 : statSync(join(snapshots, file)).size
      if (now > 0 && now === size) break
      size = now
    }
  }
}

try {
  await read("idle, just listening")
  await sleep(idleMs)
  await read(`idle, after ${idleMs / 1000} s`)
  for (let n = 1; n <= bursts; n++) {
    let peak = 0
    const sampler = setInterval(() => {
      peak = Math.max(peak, Proc.memoryMb(pid))
    }, 100)
    const { seconds, failed } = await burst()
    clearInterval(sampler)
    let low = Proc.memoryMb(pid)
    for (let waited = 0; waited < settleMs; waited += 250) {
      await sleep(250)
      low = Math.min(low, Proc.memoryMb(pid))
    }
    await read(`burst ${n}${n === 1 ? " (warm-up)" : ""}`, { lowMb: low, peakMb: peak, seconds, failed })
  }
} finally {
  cleanUp()
}

const sum = (heaps: ReadonlyArray<Inspector.ThreadHeap>, key: "physicalMb" | "mallocedMb" | "externalMb") =>
  heaps.reduce((total, h) => total + h[key], 0)
const v8Of = (heaps: ReadonlyArray<Inspector.ThreadHeap>) =>
  sum(heaps, "physicalMb") + sum(heaps, "mallocedMb") + sum(heaps, "externalMb")
const cell = (v: number | undefined, unit = "") => (v === undefined || Number.isNaN(v) ? "–" : `${v}${unit}`)
const table = [
  "| reading | RSS settled (lowest over the settle) | RSS after a full GC in every thread | live heaps then (main + workers) | V8 then, all threads: heap pages resident + malloc'd + external | RSS then outside V8 | V8's pages resident then | RSS at the reading (anonymous / files / shared) | peak RSS during burst | main heap used / total | external | threads (worker threads) | burst time | failed |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...readings.map(
    (r) =>
      `| ${r.label} | ${cell(r.lowMb, " MB")} | ${cell(r.afterGc?.rssMb, " MB")} | ${r.afterGc === undefined ? "–" : r.afterGc.heaps.map((h) => `${h.usedMb}`).join(" + ") + " MB"} | ${r.afterGc === undefined ? "–" : `${sum(r.afterGc.heaps, "physicalMb")} + ${sum(r.afterGc.heaps, "mallocedMb")} + ${sum(r.afterGc.heaps, "externalMb")} MB`} | ${r.afterGc === undefined ? "–" : `${r.afterGc.rssMb - v8Of(r.afterGc.heaps)} MB`} | ${cell(r.afterGc?.v8PagesMb, " MB")} | ${r.rssMb} MB (${r.parts.anon} / ${r.parts.file} / ${r.parts.shmem}) | ${cell(r.peakMb, " MB")} | ${r.heap.used} / ${r.heap.total} MB | ${r.heap.external} MB | ${r.threads.all} (${r.threads.workers}) | ${cell(r.seconds === undefined ? undefined : Number(r.seconds.toFixed(1)), " s")} | ${cell(r.failed)} |`
  )
].join("\n")
const settled = readings.slice(2)
const second = settled[1]
const last = settled[settled.length - 1]
// After a full collection when the bench took one (what is live), else the lowest RSS over the settle.
const lowOf = (r: Reading) => r.afterGc?.rssMb ?? r.lowMb ?? r.rssMb
const growth = second !== undefined && last !== undefined ? ((lowOf(last) - lowOf(second)) / lowOf(second)) * 100 : 0
const verdict =
  second === undefined || last === undefined || second === last
    ? "fewer than three bursts: growth not checked"
    : `${inspector === undefined ? "settled RSS" : "RSS after a full GC"}, last burst over the second: ${growth >= 0 ? "+" : ""}${growth.toFixed(1)}% (tolerance ${tolerance}%)`
const conditions = `${verdict}. ${bursts} bursts of ${jobs} Echo jobs (${flags.service}, ${flags.services ?? "the sample services"}) from ${submitters} submitters in one server, each job polled every ${pollMs} ms; readings ${settleMs / 1000} s after each burst; heap from the server's /metrics (main thread only). Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), the apps/server server (${flags.from === "bundle" ? "the built bundle, dist/server/main.js" : "from source, src/main.ts"}, node flags: ${flags["server-args"] === "" ? "none" : flags["server-args"]}; SQLite, default workers, log level warn), clients in this process.`
console.log(table)
console.log()
console.log(conditions)
const grew = second !== undefined && last !== undefined && second !== last && growth > tolerance
if (grew) console.error(`memory grew across bursts: ${lowOf(second)} MB → ${lowOf(last)} MB`)
process.exit(grew || readings.some((r) => (r.failed ?? 0) > 0) ? 1 : 0)
