/**
 * `pnpm bench:engine`: submit→Executing latency (p50/p99), no-op jobs per second with several concurrent submitters,
 * and peak RSS — on the SQLite store (a real file, WAL) beside a baseline of the same loop on the in-memory store, in
 * the same run. Prints a table and appends it to BENCHMARKS.md with the date.
 */
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { Entropy, JobQueue, JobStore, ServiceRef } from "@geojobs/core"
import { SqliteJobStore } from "@geojobs/store-sqlite"
import { Effect, Layer } from "effect"
import { Engine } from "../src/Engine.ts"
import { ServiceRegistry } from "../src/ServiceRegistry.ts"

const latencyJobs = Number(process.env.BENCH_LATENCY_JOBS ?? 400)
const throughputJobs = Number(process.env.BENCH_JOBS ?? 6000)
const submitters = Number(process.env.BENCH_SUBMITTERS ?? 8)
const workers = Number(process.env.BENCH_WORKERS ?? 2)

const serviceOf = (execution: "cpu" | "io") => ({
  ref: {
    folder: "Bench",
    name: "Noop",
    type: "GPServer" as const,
    serviceId: ServiceRef.deriveServiceId("Bench", "Noop")
  },
  description: "no-op",
  executionType: "async" as const,
  maxConcurrentJobs: 64,
  maxExecutionTimeMs: 60_000,
  jobRetentionMs: 3_600_000,
  access: "public" as const,
  tasks: new Map([
    [
      "Noop",
      {
        name: "Noop",
        moduleUrl: new URL("./NoopTool.ts", import.meta.url).href,
        retryable: false,
        execution,
        decodeInputs: () => Effect.succeed({})
      }
    ]
  ])
})

const quantile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN

const measure = (
  label: string,
  storage: Layer.Layer<JobStore.JobStore | JobQueue.JobQueue, unknown>,
  dataDir: string,
  execution: "cpu" | "io" = "cpu"
) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const store = yield* JobStore.JobStore
    let peakRss = process.memoryUsage().rss
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss)
    }, 20)
    const submission = { service: { folder: "Bench", name: "Noop" }, task: "Noop", user: "bench", params: {} }

    // Warm-up: start the worker threads and JIT the paths.
    for (let i = 0; i < 50; i++) yield* engine.awaitJob((yield* engine.submit(submission)).id)

    // Latency: one job at a time, from just before submit to the instant the dispatcher claimed it.
    const latencies: Array<number> = []
    for (let i = 0; i < latencyJobs; i++) {
      const before = Date.now()
      const job = yield* engine.submit(submission)
      const done = yield* engine.awaitJob(job.id)
      latencies.push((done.started ?? before) - before)
    }
    latencies.sort((a, b) => a - b)

    // Throughput: several submitters at once, until every job has finished.
    const start = performance.now()
    const perSubmitter = Math.ceil(throughputJobs / submitters)
    const ids = (yield* Effect.forEach(
      Array.from({ length: submitters }),
      () =>
        Effect.forEach(Array.from({ length: perSubmitter }), () => Effect.map(engine.submit(submission), (j) => j.id)),
      { concurrency: "unbounded" }
    )).flat()
    while ((yield* store.query({ statuses: ["Succeeded"], number: 1 })).total < ids.length + 50 + latencyJobs) {
      yield* Effect.sleep(5)
    }
    const seconds = (performance.now() - start) / 1000
    clearInterval(sampler)
    return {
      label,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      jobsPerSecond: Math.round(ids.length / seconds),
      jobs: ids.length,
      peakRssMb: Math.round(peakRss / 1024 / 1024)
    }
  }).pipe(
    Effect.provide(
      Engine.layer({ dataDir, maxWorkers: workers }).pipe(
        Layer.provideMerge(
          Layer.mergeAll(storage, ServiceRegistry.layer([serviceOf(execution)]), Entropy.Entropy.layer)
        )
      )
    )
  )

const dir = mkdtempSync(join(tmpdir(), "geojobs-bench-"))
const memory = JobQueue.JobQueue.layerMemory.pipe(Layer.provideMerge(JobStore.JobStore.layerMemory))
const sqliteAt = (name: string) => SqliteJobStore.layer({ filename: join(dir, name, "jobs.sqlite") })
const rows = await Effect.runPromise(
  Effect.all([
    measure("in-memory store (baseline), CPU-bound tool: a job per thread", memory, join(dir, "memory")),
    measure("SQLite file (WAL), CPU-bound tool: a job per thread", sqliteAt("sqlite"), join(dir, "sqlite")),
    measure(
      "in-memory store (baseline), I/O-bound tool: shared threads, default slots",
      JobQueue.JobQueue.layerMemory.pipe(Layer.provideMerge(JobStore.JobStore.layerMemory)),
      join(dir, "memory-io"),
      "io"
    ),
    measure(
      "SQLite file (WAL), I/O-bound tool: shared threads, default slots",
      sqliteAt("sqlite-io"),
      join(dir, "sqlite-io"),
      "io"
    )
  ])
)
rmSync(dir, { recursive: true, force: true })

const header =
  "| store | submit→Executing p50 | p99 | no-op jobs/s | jobs | peak RSS |\n| --- | --- | --- | --- | --- | --- |"
const table = [
  header,
  ...rows.map((r) => `| ${r.label} | ${r.p50} ms | ${r.p99} ms | ${r.jobsPerSecond} | ${r.jobs} | ${r.peakRssMb} MB |`)
].join("\n")
const conditions = `Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), ${workers} worker threads, ${submitters} concurrent submitters, latency over ${latencyJobs} sequential jobs, ms resolution.`
console.log(table)
console.log(conditions)
const file = new URL("../../../BENCHMARKS.md", import.meta.url)
if (!existsSync(file))
  writeFileSync(
    file,
    "# Benchmarks\n\nFigures from `pnpm bench:*`, newest last. Each run measures GeoJobs beside a baseline in the same process.\n"
  )
appendFileSync(file, `\n## engine — ${new Date().toISOString().slice(0, 10)}\n\n${table}\n\n${conditions}\n`)
