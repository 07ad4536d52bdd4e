import { mkdtempSync, writeFileSync } from "node:fs"
import { getPriority, tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { assert, describe, it } from "@effect/vitest"
import { Piscina } from "piscina"
import * as ThreadPriority from "../src/ThreadPriority.ts"

const url = new URL("../src/ThreadPriority.ts", import.meta.url).href

describe("ThreadPriority", () => {
  it.skipIf(process.platform !== "linux")(
    "lowers a worker thread alone: its nice value changes, the process's main thread keeps its own",
    async () => {
      const before = getPriority()
      const worker = new Worker(
        `import { lowerThisThread } from ${JSON.stringify(url)}
         import { readFileSync } from "node:fs"
         import { parentPort } from "node:worker_threads"
         const ok = lowerThisThread(7)
         // Field 19 of /proc/thread-self/stat is the thread's nice value (after the parenthesised command name).
         const stat = readFileSync("/proc/thread-self/stat", "utf8")
         const nice = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])
         parentPort.postMessage({ ok, nice })`,
        { eval: true }
      )
      const answer = await new Promise<{ ok: boolean; nice: number }>((resolve, reject) => {
        worker.once("message", resolve)
        worker.once("error", reject)
      })
      await worker.terminate()
      assert.isTrue(answer.ok)
      assert.strictEqual(answer.nice, 7)
      assert.strictEqual(getPriority(), before, "the main thread's priority is untouched")
    }
  )

  it.skipIf(process.platform !== "linux")(
    "a pool started through workerEntry runs its module lowered already while the module loads",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "geojobs-priority-"))
      const module = join(dir, "Work.ts")
      // Its top level runs as it loads: the nice value it sees then is the thread's while loading.
      writeFileSync(
        module,
        `import { readFileSync } from "node:fs"
         const stat = readFileSync("/proc/thread-self/stat", "utf8")
         const atLoad = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])
         export default () => atLoad`
      )
      const pool = new Piscina({ ...ThreadPriority.workerEntry(pathToFileURL(module).href, 6), maxThreads: 1 })
      try {
        assert.strictEqual(await pool.run(null), 6)
        assert.strictEqual(getPriority(), 0, "the main thread's priority is untouched")
      } finally {
        await pool.destroy()
      }
    }
  )
})
