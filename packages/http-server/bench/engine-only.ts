/**
 * The engine-only figure for `bench/jobs.ts`, in its own process: the same services file, the same SQLite store on a
 * data folder of its own and the same worker threads as the server, and `--submitters` concurrent submitters each
 * submitting an Echo job and awaiting it through the engine (no HTTP), `--jobs` in all after a warm-up. Prints one
 * JSON line: jobs/s, submit→Executing p50/p99 (ms), CPU per job (ms, the whole process), peak RSS (MB).
 */
import { join } from "node:path"
import { parseArgs } from "node:util"
import { Entropy } from "@geojobs/core"
import { Engine, ServiceRegistry } from "@geojobs/engine"
import * as Proc from "@geojobs/fixtures/Proc"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { Effect, Layer } from "effect"

const { values: flags } = parseArgs({
  options: {
    "data-dir": { type: "string" },
    services: { type: "string" },
    jobs: { type: "string", default: "5000" },
    submitters: { type: "string", default: "50" },
    workers: { type: "string" }
  }
})
const dataDir = flags["data-dir"] ?? "."
const jobs = Number(flags.jobs)
const submitters = Number(flags.submitters)

const { cpuMs, quantile } = Proc
const rssMb = () => Proc.memoryMb()

const submission = {
  service: { folder: "Bench", name: "Echo" },
  task: "Echo",
  user: null,
  params: { input_string: "hello" }
}

await Effect.runPromise(
  Effect.gen(function* () {
    const engine = yield* Engine.Engine
    for (let i = 0; i < 50; i++) yield* engine.awaitJob((yield* engine.submit(submission)).id)
    let peak = rssMb()
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb())
    }, 100)
    const waits: Array<number> = []
    let next = 0
    const cpu0 = cpuMs()
    const t0 = performance.now()
    yield* Effect.forEach(
      Array.from({ length: submitters }),
      () =>
        Effect.gen(function* () {
          while (next < jobs) {
            next++
            const done = yield* engine.awaitJob((yield* engine.submit(submission)).id)
            waits.push((done.started ?? done.created) - done.created)
          }
        }),
      { concurrency: "unbounded" }
    )
    const seconds = (performance.now() - t0) / 1000
    const cpu = cpuMs() - cpu0
    clearInterval(sampler)
    waits.sort((a, b) => a - b)
    // Printed here, before the engine's shutdown: its thread pools' teardown does not keep the process alive.
    console.log(
      JSON.stringify({
        jobsPerSecond: Math.round(jobs / seconds),
        p50: quantile(waits, 0.5),
        p99: quantile(waits, 0.99),
        cpuMsPerJob: Number((cpu / jobs).toFixed(2)),
        peakRssMb: peak
      })
    )
    process.exit(0)
    return {
      jobsPerSecond: Math.round(jobs / seconds),
      p50: quantile(waits, 0.5),
      p99: quantile(waits, 0.99),
      cpuMsPerJob: Number((cpu / jobs).toFixed(2)),
      peakRssMb: peak
    }
  }).pipe(
    Effect.provide(
      Engine.Engine.layer({
        dataDir,
        ...(flags.workers === undefined ? {} : { maxWorkers: Number(flags.workers) })
      }).pipe(
        Layer.provideMerge(
          Layer.mergeAll(
            SqliteStorage.layer({ dataDir: join(dataDir, "store") }),
            ServiceRegistry.ServiceRegistry.layerFile(flags.services ?? ""),
            Entropy.Entropy.layer
          )
        )
      )
    )
  )
)
