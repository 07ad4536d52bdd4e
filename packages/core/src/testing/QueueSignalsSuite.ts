/**
 * The QueueSignals contract: named Effects that every adapter's signals (in-process, SQLite, PostgreSQL) pass
 * unchanged, each on a fresh, empty store with its queue and signals. They need `JobStore`, `JobQueue`,
 * `QueueSignals` and `Entropy`, and no test runner. Signals may arrive after the write that sent them (PostgreSQL
 * delivers them from another connection), so run the cases on the live clock:
 *
 * ```ts
 * for (const [name, test] of Object.entries(QueueSignalsSuite.cases)) {
 *   it.live(name, () => test.pipe(Effect.provide([myStorageLayer, Entropy.layerSeeded(7)])))
 * }
 * ```
 *
 * Absence is checked by order, not by waiting: writes that must signal nothing are followed by one that must signal,
 * and that one's signal must be the next to arrive.
 *
 * @module
 */
import { Duration, Effect, Option, PubSub } from "effect"
import type { Entropy } from "../Entropy.ts"
import * as Job from "../Job.ts"
import { JobQueue, QueueSignals, type Signal } from "../JobQueue.ts"
import { JobStore } from "../JobStore.ts"
import * as ServiceRef from "../ServiceRef.ts"
import { type ContractViolation, expect, geometry, same, utilities } from "./Contract.ts"

/** How long a case waits for a signal before it fails (a bound against hangs, never a measured time). */
const patience = Duration.seconds(10)

const queued = (service: ServiceRef.ServiceRef = geometry) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    return yield* store.create(yield* Job.make({ service, task: "Buffer", user: "analyst" }))
  })

const limits = [
  { service: geometry, max: 9 },
  { service: utilities, max: 9 }
]

/** A signal as comparable data (a service by its path). */
const shown = (signal: Signal): string =>
  signal._tag === "Work"
    ? `Work ${ServiceRef.path(signal.service)}`
    : signal._tag === "Stop"
      ? `Stop ${signal.jobId}`
      : "Resync"
const work = (service: ServiceRef.ServiceRef) => `Work ${ServiceRef.path(service)}`
const stop = (jobId: string) => `Stop ${jobId}`

/** The next signal of a subscription, or a violation after {@link patience}. */
const next = (subscription: PubSub.Subscription<Signal>, what: string) =>
  Effect.flatMap(Effect.timeoutOption(PubSub.take(subscription), patience), (signal) =>
    Option.isSome(signal)
      ? Effect.succeed(shown(signal.value))
      : Effect.as(expect(false, `${what}: no signal within ${Duration.format(patience)}`), "")
  )

const subscribed = Effect.gen(function* () {
  const signals = yield* QueueSignals
  return yield* signals.subscribe
})

/**
 * The contract cases, by name.
 *
 * @category suites
 */
export const cases: Readonly<
  Record<string, Effect.Effect<void, ContractViolation, JobStore | JobQueue | QueueSignals | Entropy>>
> = {
  "a queued job signals work for its service; a claim and progress signal nothing; a cancel of a held job signals its stop; its end signals work":
    Effect.scoped(
      Effect.orDie(
        Effect.gen(function* () {
          const store = yield* JobStore
          const queue = yield* JobQueue
          const subscription = yield* subscribed
          const job = yield* queued()
          yield* same(yield* next(subscription, "after a create"), work(geometry), "a queued job is work")
          const [claimed] = yield* queue.claim({ owner: "e1", max: 1, limits })
          if (claimed === undefined) return yield* expect(false, "the job claimed")
          const progressed = yield* queue.updateClaimed(
            claimed.claim,
            claimed.job.revision,
            Job.setProgress(claimed.job, 10, "a tenth")
          )
          const cancelling = yield* store.update(progressed.revision, yield* Job.transition(progressed, "Cancelling"))
          yield* same(
            yield* next(subscription, "after a claim, progress and a cancel"),
            stop(job.id),
            "the claim and the progress signalled nothing; the cancel of a held job is its stop"
          )
          yield* queue.updateClaimed(claimed.claim, cancelling.revision, yield* Job.transition(cancelling, "Cancelled"))
          yield* same(
            yield* next(subscription, "after the run's end"),
            work(geometry),
            "a held job's end is work (its room is free)"
          )
        })
      )
    ),
  "a job created unqueued signals nothing; one queued again is work; a delete while held signals its stop":
    Effect.scoped(
      Effect.orDie(
        Effect.gen(function* () {
          const store = yield* JobStore
          const queue = yield* JobQueue
          const subscription = yield* subscribed
          yield* store.create(yield* Job.make({ service: geometry, task: "Buffer", user: "analyst", status: "New" }))
          const job = yield* queued(utilities)
          yield* same(yield* next(subscription, "after two creates"), work(utilities), "a New job signalled nothing")
          const [first] = yield* queue.claim({ owner: "e1", max: 1, limits })
          if (first === undefined) return yield* expect(false, "the job claimed")
          // A takeover queues a job again under its claim.
          yield* queue.updateClaimed(first.claim, first.job.revision, yield* Job.transition(first.job, "Submitted"))
          yield* same(yield* next(subscription, "after a job queued again"), work(utilities), "queued again is work")
          const [second] = yield* queue.claim({ owner: "e2", max: 1, limits })
          if (second === undefined) return yield* expect(false, "the job claimed again")
          yield* expect(second.job.id === job.id, "the same job")
          const deleting = yield* store.update(second.job.revision, yield* Job.transition(second.job, "Deleting"))
          yield* same(yield* next(subscription, "after a delete of a running job"), stop(job.id), "Deleting is a stop")
          yield* store.delete(deleting.id)
          yield* same(yield* next(subscription, "after the row's removal"), stop(job.id), "a held job gone is a stop")
        })
      )
    ),
  "every subscriber gets every signal, and signals of one sender come in commit order": Effect.scoped(
    Effect.orDie(
      Effect.gen(function* () {
        const store = yield* JobStore
        const one = yield* subscribed
        const two = yield* subscribed
        const a = yield* queued(geometry)
        const b = yield* queued(utilities)
        yield* store.update(a.revision, yield* Job.transition(a, "Cancelled"))
        const expected = [work(geometry), work(utilities), work(geometry)]
        for (const [name, subscription] of [
          ["first", one],
          ["second", two]
        ] as const) {
          const got: Array<string> = []
          for (let i = 0; i < expected.length; i++) got.push(yield* next(subscription, `${name} subscriber`))
          yield* same(got, expected, `the ${name} subscriber's signals`)
        }
        yield* expect(b.status === "Submitted", "b stays queued")
        const signals = yield* QueueSignals
        yield* expect(typeof signals.crossProcess() === "boolean", "crossProcess answers")
      })
    )
  )
}
