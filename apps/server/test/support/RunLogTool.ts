// A tool that logs each run's start and end ("start|end <jobId> <pid> <epoch ms>") to the file named by its `log`
// input and waits `ms` between — or, given a `gate`, until that file exists (two minutes at most), so that a test
// decides when each run ends: which node ran a job, whether any ran twice, how many ran at once.
import { appendFileSync, existsSync } from "node:fs"
import { defineTool } from "@geojobs/tools"

export default defineTool({
  name: "RunLog",
  // It waits: many of its jobs may share a thread, so a service's maxConcurrentJobs, not the threads, limits them.
  execution: "io",
  parameters: [
    { name: "log", dataType: "GPString" },
    { name: "ms", dataType: "GPLong" },
    { name: "gate", dataType: "GPString", required: false }
  ],
  execute: async ({ log, ms, gate }, ctx) => {
    appendFileSync(String(log), `start ${ctx.jobId} ${process.pid} ${Date.now()}\n`)
    if (typeof gate === "string" && gate !== "") {
      for (const until = Date.now() + 120_000; !existsSync(gate) && Date.now() < until; ) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    } else {
      await new Promise((resolve) => setTimeout(resolve, Number(ms ?? 0)))
    }
    appendFileSync(String(log), `end ${ctx.jobId} ${process.pid} ${Date.now()}\n`)
    return {}
  }
})
