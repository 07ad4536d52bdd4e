// A tool for the pause test across server processes (the server's counterpart of the engine tests' `fenced`): it logs
// "start|abort|end <jobId> <pid> <epoch ms>" to the file named by its `log` input and runs until the file named by its
// `gate` input exists, posting a progress and a message naming its process every 50 ms, and answers its pid as `who`.
// So a test can see which process ran a job, when its AbortSignal fired, and whose progress, messages and result
// landed in the job.
import { appendFileSync, existsSync } from "node:fs"
import { defineTool } from "@geojobs/tools"

/** A run never outlasts this, gate or not: a failed test leaves no tool running for long. */
const maxMs = 120_000

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(resolve, ms)
    signal.addEventListener("abort", () => {
      clearTimeout(timer)
      reject(signal.reason)
    })
  })

export default defineTool({
  name: "FencedRun",
  // It waits: many of its jobs share a thread, so the service's maxConcurrentJobs, not the threads, limits them.
  execution: "io",
  parameters: [
    { name: "log", dataType: "GPString" },
    { name: "gate", dataType: "GPString" },
    { name: "who", dataType: "GPString", direction: "output" }
  ],
  execute: async ({ log, gate }, ctx) => {
    const write = (what: string) => appendFileSync(String(log), `${what} ${ctx.jobId} ${process.pid} ${Date.now()}\n`)
    write("start")
    try {
      const until = Date.now() + maxMs
      for (let i = 0; !existsSync(String(gate)) && Date.now() < until; i++) {
        ctx.progress(i % 100, `${process.pid} at ${i}`)
        if (i % 10 === 0) ctx.message("informative", `tick ${process.pid} ${i}`)
        await sleep(50, ctx.signal)
      }
    } catch (error) {
      write("abort")
      throw error
    }
    write("end")
    return { who: String(process.pid) }
  }
})
