// A tool that logs each run's start and end ("start|end <jobId> <pid> <epoch ms>") to the file named by its `log`
// input and waits `ms` between: which node ran a job, whether any ran twice, how many ran at once.
import { appendFileSync } from "node:fs"
import { defineTool } from "@geojobs/tools"

export default defineTool({
  name: "RunLog",
  // It waits: many of its jobs may share a thread, so a service's maxConcurrentJobs, not the threads, limits them.
  execution: "io",
  parameters: [
    { name: "log", dataType: "GPString" },
    { name: "ms", dataType: "GPLong" }
  ],
  execute: async ({ log, ms }, ctx) => {
    appendFileSync(String(log), `start ${ctx.jobId} ${process.pid} ${Date.now()}\n`)
    await new Promise((resolve) => setTimeout(resolve, Number(ms ?? 0)))
    appendFileSync(String(log), `end ${ctx.jobId} ${process.pid} ${Date.now()}\n`)
    return {}
  }
})
