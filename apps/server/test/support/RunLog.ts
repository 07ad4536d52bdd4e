// What the cluster tests read back from their tools' run logs — one "<what> <jobId> <pid> <epoch ms>" line per event
// (RunLogTool, FencedRunTool: start, abort, end) — and the bounded wait they poll with.
import { readFileSync } from "node:fs"

/** One logged event of a tool run. */
export interface RunEvent {
  readonly what: string
  readonly id: string
  readonly pid: number
  readonly at: number
}

/** Every event in the log file so far, in the order written. */
export const read = (file: string): ReadonlyArray<RunEvent> =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [what, id, pid, at] = line.split(" ")
      return { what: what ?? "", id: id ?? "", pid: Number(pid), at: Number(at) }
    })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `check` every `everyMs` until it answers something other than false or undefined, and answers that; fails
 * naming `what` after `timeoutMs`.
 */
export const waitFor = async <A>(
  what: string,
  timeoutMs: number,
  check: () => A | false | undefined | Promise<A | false | undefined>,
  everyMs = 20
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await sleep(everyMs)
  }
}
