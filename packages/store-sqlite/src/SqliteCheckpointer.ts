/**
 * WAL checkpoints off the main thread. SQLite folds the write-ahead log back into the database file inside the COMMIT
 * that crosses `wal_autocheckpoint` (1,000 pages), so with multi-MB job values an unlucky submit paid for copying
 * megabytes of pages on the event loop: on the 2026-12-02 load bench (60 × 3 MB Buffer jobs) turning the automatic
 * checkpoint off cut the main thread's stalls ≥ 50 ms from 24 to 7 and `/health` p99 from 164 to 83 ms. This worker
 * thread opens its own connection to the file and runs a PASSIVE checkpoint (it never waits for, nor blocks, readers
 * and writers) every `intervalMs`, so the log stays short.
 *
 * @module
 */
import { Worker } from "node:worker_threads"

/**
 * A running checkpointer; `stop` closes its connection and ends its thread.
 *
 * @category models
 */
export interface Checkpointer {
  readonly stop: () => Promise<void>
}

const workerUrl = new URL(`./SqliteCheckpointWorker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url)

/**
 * Starts checkpointing `filename` every `intervalMs` (default 200 ms) from a worker thread that does not keep the
 * process alive.
 *
 * @category constructors
 */
export const start = (filename: string, intervalMs = 200): Checkpointer => {
  const worker = new Worker(workerUrl, { workerData: { filename, intervalMs } })
  worker.unref()
  // A checkpointer that cannot run (the file gone, say) leaves the connection's own checkpoints to the final close:
  // nothing is lost, the log only grows.
  worker.on("error", () => {})
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()))
  return {
    stop: () => {
      // Held from here until it has exited: unreferenced, a process with nothing else left to do (a script, a server
      // whose HTTP side has closed) ended while waiting here, before the layers after this one had closed (found by
      // `pnpm bench:engine`, which stopped with an unsettled top-level await).
      worker.ref()
      worker.postMessage("stop")
      return exited
    }
  }
}
