/**
 * Preloaded into the server by `bench/load.ts` (`node --import ./bench/loop-delay.ts …`): watches the main thread's
 * event loop. `monitorEventLoopDelay` (sampled every 5 ms; figures are the delay past that interval) gives p50, p99 and
 * max; a 10 ms timer records every stall, a turn of the loop that kept it 50 ms or more past its time, as
 * `[epoch ms when it began, ms]`. On SIGUSR2 it writes what it saw since the last signal as JSON to
 * `$GEOJOBS_BENCH_LOOP_FILE` and starts over, so the benchmark can read it phase by phase. Does nothing in worker
 * threads or without the variable.
 */
import { writeFileSync } from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { isMainThread } from "node:worker_threads"

const file = process.env.GEOJOBS_BENCH_LOOP_FILE
if (isMainThread && file !== undefined && file !== "") {
  const resolution = 5
  const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4) / 100 - resolution)
  const histogram = monitorEventLoopDelay({ resolution })
  histogram.enable()
  let stalls: Array<[number, number]> = []
  const tick = 10
  let last = performance.now()
  setInterval(() => {
    const now = performance.now()
    const late = now - last - tick
    if (late >= 50) stalls.push([Math.round(performance.timeOrigin + last + tick), Math.round(late)])
    last = now
  }, tick).unref()
  process.on("SIGUSR2", () => {
    writeFileSync(
      file,
      JSON.stringify({
        p50: ms(histogram.percentile(50)),
        p99: ms(histogram.percentile(99)),
        max: ms(histogram.max),
        count: histogram.count,
        stalls
      })
    )
    histogram.reset()
    stalls = []
  })
}
