/**
 * Following a job to its end for `watch` and `submit --wait`: on a terminal, a live progress bar (cli-progress) with
 * the status, percent, elapsed time and the step message, and the job's messages printed above it as they come; when
 * stderr is not a terminal, the messages as plain lines. The end is one summary on stdout and the exit code of the final
 * status; Ctrl-C stops watching (the job goes on) and says how to pick it up again.
 *
 * @module
 */
import type { Client, ClientError, JobRef } from "@geojobs/client"
import { JobStatus, RestJob } from "@geojobs/core"
import { MultiBar, type SingleBar } from "cli-progress"
import { Effect } from "effect"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"

type Message = { readonly type: string; readonly description: string }

/** A job message as one line (`informative: …`, coloured by level on a terminal). */
export const messageLine = (m: Message, color: Output.Colors): string => {
  const level = RestJob.messageLevel(m.type)
  const label = level ?? m.type.replace(/^esriJobMessageType/, "").toLowerCase()
  const paint = level === "error" ? color.red : level === "warning" ? color.yellow : color.dim
  return `${paint(label.padEnd(11))} ${m.description}`
}

/** A job message as one line on stderr, where no progress bar is drawn. */
export const writeMessage = (out: Output.Output, m: Message): void => {
  process.stderr.write(`${messageLine(m, out.errColor)}\n`)
}

// The schema has checked jobStatus is an esriJob name, so it always parses.
const statusOf = (doc: RestJob.RestJob): JobStatus.JobStatus => JobStatus.parse(doc.jobStatus) ?? "Submitted"

interface View {
  readonly progress: (doc: RestJob.RestJob) => void
  readonly message: (m: Message) => void
  readonly end: (doc: RestJob.RestJob | undefined) => void
}

const barView = (out: Output.Output, ref: JobRef): View => {
  const c = out.errColor
  const multi = new MultiBar({
    stream: process.stderr,
    format: ` {status} ${c.cyan("{bar}")} {percentage}% | {duration_formatted} | {step}`,
    barCompleteChar: "█",
    barIncompleteChar: "░",
    barsize: 30,
    hideCursor: true,
    clearOnComplete: false,
    fps: 10
  })
  const bar: SingleBar = multi.create(100, 0, { status: "Submitted".padEnd(10), step: `job ${ref.jobId}` })
  return {
    progress: (doc) => {
      const status = statusOf(doc)
      bar.update(doc.progress?.percent ?? bar.getProgress() * 100, {
        status: status.padEnd(10),
        step: doc.progress?.message ?? `job ${ref.jobId}`
      })
    },
    message: (m) => multi.log(`${messageLine(m, c)}\n`),
    end: (doc) => {
      if (doc !== undefined) {
        const status = statusOf(doc)
        bar.update(JobStatus.hasResults(status) ? 100 : bar.getProgress() * 100, {
          status: Output.paintStatus(c, status, status.padEnd(10)),
          step: JobStatus.hasResults(status) ? "done" : `job ${ref.jobId}`
        })
      }
      // Render once more so messages that came with the last answer are printed above the final bar.
      multi.update()
      multi.stop()
    }
  }
}

const lineView = (out: Output.Output): View => {
  let last: string | undefined
  return {
    progress: (doc) => {
      const status = statusOf(doc)
      const line = `${status}${doc.progress?.percent === undefined ? "" : ` ${doc.progress.percent}%`}`
      if (line !== last) process.stderr.write(`${out.errColor.dim(line)}\n`)
      last = line
    },
    message: (m) => writeMessage(out, m),
    end: () => {}
  }
}

/**
 * Follows the job until it ends, prints the summary, and fails with the exit code of a status without results.
 */
export const follow = (
  client: Client,
  ref: JobRef,
  out: Output.Output
): Effect.Effect<RestJob.RestJob, ClientError | Failure.Failure> =>
  Effect.gen(function* () {
    const live = out.mode !== "json" && process.stderr.isTTY === true
    const view = out.mode === "json" ? undefined : live ? barView(out, ref) : lineView(out)
    let finished: RestJob.RestJob | undefined
    const doc = yield* client
      .waitForJob(ref, {
        intervalMs: 300,
        maxIntervalMs: 1000,
        onProgress: (d) => view?.progress(d),
        onMessage: (m) => view?.message(m)
      })
      .pipe(
        Effect.tap((d) =>
          Effect.sync(() => {
            finished = d
          })
        ),
        Effect.ensuring(
          Effect.sync(() => {
            view?.end(finished)
            if (finished === undefined && out.mode !== "json")
              process.stderr.write(
                `Stopped watching; the job goes on. Resume with: geojobs watch ${client.jobUrl(ref)}\n`
              )
          })
        )
      )
    const status = statusOf(doc)
    if (out.mode === "json") out.json(doc)
    else
      out.fields([
        ["job", ref.jobId],
        ["status", status],
        ["url", client.jobUrl(ref)],
        ...(JobStatus.hasResults(status) ? [["results", Object.keys(doc.results ?? {}).join(", ")] as const] : [])
      ])
    const code = Failure.forStatus(status)
    if (code !== 0) {
      // The first error message is the cause; the last one is the server's "Failed at …" summary.
      const cause = (doc.messages ?? []).find((m) => RestJob.messageLevel(m.type) === "error")
      return yield* Failure.make(
        `Job ${ref.jobId} ${status}${cause === undefined ? "" : `: ${cause.description}`}`,
        code
      )
    }
    return doc
  })
