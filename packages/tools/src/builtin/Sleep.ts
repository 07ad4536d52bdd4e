/**
 * Sleep: waits the given number of seconds, reporting progress every second, and stops at once when cancelled. For
 * testing progress, cancellation and time limits.
 *
 * @module
 */
import { defineTool } from "../Tool.ts"

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop)
      resolve()
    }, ms)
    const stop = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener("abort", stop, { once: true })
  })

export default defineTool({
  name: "Sleep",
  displayName: "Sleep",
  description: "Waits the given number of seconds, reporting progress every second.",
  execution: "io",
  parameters: [
    { name: "seconds", dataType: "GPDouble", range: { minimum: 0, maximum: 3600 }, description: "How long to wait." },
    { name: "slept", dataType: "GPDouble", direction: "output", description: "The seconds waited." }
  ],
  execute: async ({ seconds }, ctx) => {
    const total = Number(seconds) * 1000
    const started = Date.now()
    // One report per whole second, counted, not measured: a timer may fire a millisecond before the clock says its
    // time has come, and a loop on the measured time then made one more report (99%) and a 1 ms pause at the end.
    for (let second = 0; second * 1000 < total; second++) {
      ctx.progress(Math.floor(((second * 1000) / total) * 100), `Slept ${second} of ${seconds} seconds`)
      await pause(Math.max(0, Math.min((second + 1) * 1000, total) - (Date.now() - started)), ctx.signal)
    }
    ctx.progress(100, `Slept ${seconds} seconds`)
    return { slept: Number(seconds) }
  }
})
