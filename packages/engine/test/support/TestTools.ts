/**
 * Tools for engine tests, loaded by the worker threads from this file: each export is a tool (an object with
 * `execute(inputs, ctx)`).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { getHeapStatistics } from "node:v8"
import { resourceLimits, threadId } from "node:worker_threads"

interface Ctx {
  readonly jobId: string
  readonly signal: AbortSignal
  readonly outputDir: string
  readonly progress: (percent: number | undefined, message?: string) => void
  readonly message: (level: "informative" | "warning" | "error", text: string) => void
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener("abort", () => {
      clearTimeout(timer)
      reject(signal.reason)
    })
  })

/** Answers its input at once. */
export const echo = {
  parameters: [{ name: "out", dataType: "GPString", direction: "esriGPParameterDirectionOutput" }],
  execute: (inputs: Record<string, unknown>) => ({ out: inputs.text ?? "" })
}

/** Sleeps `ms`, reporting progress every 100 ms; honours cancel. */
export const nap = {
  execute: async (inputs: Record<string, unknown>, ctx: Ctx) => {
    const total = Number(inputs.ms ?? 1000)
    for (let done = 0; done < total; done += 100) {
      ctx.progress(Math.round((done / total) * 100), `slept ${done} ms`)
      await sleep(Math.min(100, total - done), ctx.signal)
    }
    ctx.message("informative", "woke up")
    return { slept: total }
  }
}

/**
 * Logs a message, then waits for cancel; on its AbortSignal it logs what it is tidying, takes `tidyMs` over it (long
 * enough for progress flushes to run while the job is Cancelling) and ends.
 */
export const tidy = {
  execute: async (inputs: Record<string, unknown>, ctx: Ctx) => {
    ctx.message("informative", "working on it")
    await sleep(60_000, ctx.signal).catch(() => undefined)
    ctx.message("warning", "cancelled: removing the partial output")
    await sleep(Number(inputs.tidyMs ?? 600))
    ctx.message("informative", "partial output removed")
    throw new Error("cancelled")
  }
}

/** Spins the CPU for `ms` and ignores cancel: only terminating its thread stops it. */
export const stubborn = {
  execute: (inputs: Record<string, unknown>) => {
    const until = Date.now() + Number(inputs.ms ?? 60_000)
    let n = 0
    while (Date.now() < until) n++
    return { spins: n }
  }
}

/** Throws. */
export const broken = {
  execute: () => {
    throw new Error("the tool broke: no such layer")
  }
}

/** Reports progress as fast as it can for `ms`, then a last value. */
export const chatty = {
  execute: async (inputs: Record<string, unknown>, ctx: Ctx) => {
    const until = Date.now() + Number(inputs.ms ?? 600)
    let i = 0
    while (Date.now() < until) {
      ctx.progress(i % 100, `update ${i}`)
      i++
      if (i % 50 === 0) await sleep(1)
    }
    ctx.progress(99, "last update")
    await sleep(50)
    return { updates: i }
  }
}

/** Writes a file into its output folder. */
export const writer = {
  parameters: [{ name: "file", dataType: "GPDataFile", direction: "esriGPParameterDirectionOutput" }],
  execute: (_inputs: Record<string, unknown>, ctx: Ctx) => {
    writeFileSync(join(ctx.outputDir, "result.txt"), `job ${ctx.jobId}\n`)
    return { file: { path: "result.txt" } }
  }
}

/** Appends "<jobId> <pid>" to the file named by its `log` input, so a test can see who ran what, and how often. */
export const record = {
  execute: async (inputs: Record<string, unknown>, ctx: Ctx) => {
    const { appendFileSync } = await import("node:fs")
    appendFileSync(String(inputs.log), `${ctx.jobId} ${process.pid}\n`)
    await sleep(Number(inputs.ms ?? 5))
    return { pid: process.pid }
  }
}

/** Allocates JS arrays (on the V8 heap) until its thread runs out of memory, or until `mb` MB (default 2048). */
export const hog = {
  execute: (inputs: Record<string, unknown>) => {
    const kept: Array<Array<number>> = []
    // 100 000 small integers ≈ 0.8 MB of heap.
    for (let i = 0; i < Number(inputs.mb ?? 2048) * 1.25; i++) kept.push(new Array(100_000).fill(i))
    return { arrays: kept.length }
  }
}

/** Waits until the file named by its `file` input exists; honours cancel. */
export const gate = {
  execute: async (inputs: Record<string, unknown>, ctx: Ctx) => {
    while (!existsSync(String(inputs.file))) await sleep(20, ctx.signal)
    ctx.message("informative", "gate opened")
    return { opened: true }
  }
}

/** Ends its own thread. */
export const quitter = {
  execute: () => process.exit(7)
}

/** Throws where nobody catches it (in a timer), so its thread dies. */
export const crasher = {
  execute: () =>
    new Promise(() => {
      setTimeout(() => {
        throw new Error("boom in a timer")
      })
    })
}

/** Keeps `mb` MB in a module-level array (like a tool caching at module level): it stays as long as the thread. */
const hoard: Array<Array<Array<number>>> = []
export const hoarder = {
  execute: (inputs: Record<string, unknown>) => {
    const chunk: Array<Array<number>> = []
    for (let i = 0; i < Number(inputs.mb ?? 100) * 1.25; i++) chunk.push(new Array(100_000).fill(i))
    hoard.push(chunk)
    // How many jobs' data this thread holds.
    return { threadId, hoarded: hoard.length }
  }
}

/** Answers the thread's resourceLimits and V8's heap limit, in MB. */
export const limits = {
  execute: () => ({
    maxOldGenerationSizeMb: resourceLimits.maxOldGenerationSizeMb,
    stackSizeMb: resourceLimits.stackSizeMb,
    heapSizeLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024)
  })
}

/**
 * Logs "start|end|abort <jobId> <pid>/<threadId>" lines to the file named by its `log` input and runs until the file named by its
 * `gate` input exists, posting a progress and a message naming its process every 50 ms; honours cancel (logging it).
 * For the fencing tests: which process ran what, and whose writes landed.
 */
export const fenced = {
  execute: async (inputs: Record<string, unknown>, ctx: Ctx) => {
    const { appendFileSync } = await import("node:fs")
    // Which process, and which worker thread: two engines in one process have threads of their own.
    const who = `${process.pid}/${threadId}`
    const log = (what: string) => appendFileSync(String(inputs.log), `${what} ${ctx.jobId} ${who}\n`)
    log("start")
    try {
      for (let i = 0; !existsSync(String(inputs.gate)); i++) {
        ctx.progress(i % 100, `${who} at ${i}`)
        if (i % 10 === 0) ctx.message("informative", `tick ${who} ${i}`)
        await sleep(50, ctx.signal)
      }
    } catch (error) {
      log("abort")
      throw error
    }
    log("end")
    return { who }
  }
}

/** {@link fenced}, published as a retryable task. */
export const fencedRetry = fenced

/**
 * For a test of {@link fenced}: the files of its `log` and `gate` inputs in `dir` (the log created empty), and the log's
 * lines read back as `[what, jobId, pid/threadId]`.
 */
export const fencedFiles = (dir: string) => {
  const log = join(dir, "runs.log")
  writeFileSync(log, "")
  const lines = () =>
    readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split(" ") as [string, string, string])
  return { log, gate: join(dir, "gate"), lines }
}

/** `gate`, answering the thread it ran on (to see which jobs shared one). */
export const threadGate = {
  execute: async (inputs: Record<string, unknown>, ctx: Ctx) => {
    while (!existsSync(String(inputs.file))) await sleep(20, ctx.signal)
    return { thread: String(threadId) }
  }
}

/** Waits until the file named by its `file` input exists and ignores cancel: an I/O-bound tool that will not stop. */
export const deafGate = {
  execute: async (inputs: Record<string, unknown>) => {
    while (!existsSync(String(inputs.file))) await sleep(20)
    return { opened: true }
  }
}
