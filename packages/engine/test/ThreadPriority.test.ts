import { getPriority } from "node:os"
import { Worker } from "node:worker_threads"
import { assert, describe, it } from "@effect/vitest"

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
})
