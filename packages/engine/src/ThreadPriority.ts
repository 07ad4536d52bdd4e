/**
 * Lowering a worker thread's scheduling priority below the server's main thread, which answers every request: tools
 * and body parsing are batch work next to it. On 2 cores busy with tools, the event loop otherwise waits for the
 * scheduler (the 2026-12-02 load bench, 60 × 3 MB Buffer jobs: `/health` p99 118 ms with tool threads at nice 10 and
 * the form parser at the main thread's priority, 65 ms with the parser at nice 5 too). Linux only, where a thread has
 * a kernel id of its own; elsewhere, or when refused, the thread keeps the server's priority.
 *
 * @module
 */
import { readlinkSync } from "node:fs"
import { setPriority } from "node:os"

/**
 * How much lower than the server's main thread a tool thread runs (a nice value).
 *
 * @category models
 */
export const toolNiceness = 10

/**
 * Sets the calling thread's nice value (0 is the default, 19 the lowest priority); answers whether it could.
 *
 * @category constructors
 */
export const lowerThisThread = (niceness: number): boolean => {
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>": setpriority on a tid sets that thread alone.
    const tid = Number(readlinkSync("/proc/thread-self").split("/").at(-1))
    if (!Number.isInteger(tid) || tid <= 0) return false
    setPriority(tid, niceness)
    return true
  } catch {
    return false
  }
}

/**
 * Piscina options (`filename`, `workerData`) for threads that lower themselves to `niceness` before they load `module`
 * (an absolute URL whose default export the thread runs): see `LowPriorityWorker`.
 *
 * @category constructors
 */
export const workerEntry = (
  module: string,
  niceness: number
): {
  readonly filename: string
  readonly workerData: { readonly lowPriority: { module: string; niceness: number } }
} => ({
  filename: new URL(`./LowPriorityWorker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href,
  workerData: { lowPriority: { module, niceness } }
})
