/**
 * The entry of a worker thread that runs below the main thread's priority: it lowers the thread's priority first and
 * only then loads the module that does the work, whose default export it answers (piscina calls it). Loading is the
 * costly part of a thread's start — compiling the tools, the geometry and format libraries: lowered only once they were
 * loaded, a pool's first threads starting with a burst of big submissions took a core from the event loop (the
 * 2026-12-03 load bench: `/health` probes of up to 300 ms in the burst's first second, with no event-loop stall).
 * `ThreadPriority.workerEntry` names the module and the nice value in the thread's `workerData`. Only worker threads load it.
 *
 * @module
 */
import { workerData } from "node:worker_threads"
import { lowerThisThread } from "./ThreadPriority.ts"

const entry = (workerData as { readonly lowPriority?: { readonly module: string; readonly niceness: number } })
  .lowPriority
if (entry === undefined) throw new Error("LowPriorityWorker: start it through ThreadPriority.workerEntry")
lowerThisThread(entry.niceness)
const work = (await import(entry.module)) as { readonly default: (task: never) => unknown }

export default work.default
