// Tools for the wake-up and cancel tests across nodes: each logs "start|abort|end <jobId> <epoch ms>" lines to the
// file named by its `log` input, so a test can see when a node started it and when its AbortSignal fired.
import { appendFileSync } from "node:fs"

interface Ctx {
  readonly jobId: string
  readonly signal: AbortSignal
}

const log = (inputs: Record<string, unknown>, what: string, jobId: string) =>
  appendFileSync(String(inputs.log), `${what} ${jobId} ${Date.now()}\n`)

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Runs until cancelled (at most a minute), logging its start and the abort. */
export const waiter = {
  execute: async (inputs: Record<string, unknown>, ctx: Ctx) => {
    log(inputs, "start", ctx.jobId)
    const aborted = new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()))
    await Promise.race([aborted, sleep(60_000)])
    if (ctx.signal.aborted) {
      log(inputs, "abort", ctx.jobId)
      throw new Error("cancelled")
    }
    log(inputs, "end", ctx.jobId)
    return {}
  }
}

/** Logs the abort but runs on (at most a minute): only the engine's kill after the grace period stops it. */
export const stubborn = {
  execute: async (inputs: Record<string, unknown>, ctx: Ctx) => {
    log(inputs, "start", ctx.jobId)
    ctx.signal.addEventListener("abort", () => log(inputs, "abort", ctx.jobId))
    for (const until = Date.now() + 60_000; Date.now() < until; ) await sleep(20)
    log(inputs, "end", ctx.jobId)
    return {}
  }
}
