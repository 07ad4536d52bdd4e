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
    for (let elapsed = 0; elapsed < total; elapsed = Date.now() - started) {
      ctx.progress(Math.floor((elapsed / total) * 100), `Slept ${Math.floor(elapsed / 1000)} of ${seconds} seconds`)
      await pause(Math.min(1000, total - elapsed), ctx.signal)
    }
    ctx.progress(100, `Slept ${seconds} seconds`)
    return { slept: Number(seconds) }
  }
})
