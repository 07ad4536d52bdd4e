/**
 * The thread of `SqliteCheckpointer`: its own connection to the database file, a PASSIVE checkpoint every interval,
 * closed on "stop".
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite"
import { parentPort, workerData } from "node:worker_threads"

const { filename, intervalMs } = workerData as { readonly filename: string; readonly intervalMs: number }
const db = new DatabaseSync(filename)
// A checkpoint that finds the file busy simply tries again next time.
db.exec("PRAGMA busy_timeout = 0")
const timer = setInterval(() => {
  try {
    db.exec("PRAGMA wal_checkpoint(PASSIVE)")
  } catch {
    // SQLITE_BUSY or a closing file: the next round, or the writer's final checkpoint, does it.
  }
}, intervalMs)
parentPort?.on("message", (message) => {
  if (message !== "stop") return
  clearInterval(timer)
  db.close()
  parentPort?.close()
})
