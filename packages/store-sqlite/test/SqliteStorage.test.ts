import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Entropy, Job, JobQueue, JobStore } from "@geojobs/core"
import { JobQueueSuite, JobStoreSuite, QueueSignalsSuite, SampleJobs } from "@geojobs/core/testing"
import { Context, Effect, Layer, PubSub } from "effect"
import * as SqliteStorage from "../src/SqliteStorage.ts"

const dir = mkdtempSync(join(tmpdir(), "geojobs-sqlite-storage-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = () => SqliteStorage.layer({ dataDir: mkdtempSync(join(dir, `case-${++n}-`)) })

describe("SqliteStorage's signals pass the QueueSignals contract (a real data folder per case)", () => {
  for (const [name, test] of Object.entries(QueueSignalsSuite.cases)) {
    it.live(name, () => test.pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(7)))))
  }
})

// The signalling store and queue are the SQLite ones decorated: they still keep both contracts.
describe("SqliteStorage's job store and queue still pass their contracts", () => {
  for (const [name, test] of Object.entries({ ...JobStoreSuite.cases, ...JobQueueSuite.cases })) {
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(7)))))
  }
})

describe("SqliteStorage", () => {
  it.live(
    "signals are in-process: another process's writes (another connection on the file) are found by polling",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const dataDir = mkdtempSync(join(dir, "shared-"))
          const here = yield* Layer.build(SqliteStorage.layer({ dataDir }))
          const there = yield* Layer.build(SqliteStorage.layer({ dataDir }))
          const signals = Context.get(here, JobQueue.QueueSignals)
          assert.isFalse(signals.crossProcess())
          const subscription = yield* signals.subscribe
          const other = yield* SampleJobs.make("Submitted")
          yield* Context.get(there, JobStore.JobStore).create(other)
          const mine = yield* Job.make({ service: SampleJobs.service, task: "Buffer", user: null })
          yield* Context.get(here, JobStore.JobStore).create(mine)
          // The first signal here is this connection's own create: the other one's was not seen.
          const first = yield* PubSub.take(subscription)
          assert.deepStrictEqual(first, { _tag: "Work", service: mine.service })
          assert.strictEqual(yield* PubSub.remaining(subscription), 0)
          // Yet the file holds both, for a poll to claim.
          const page = yield* Context.get(here, JobStore.JobStore).query({})
          assert.strictEqual(page.total, 2)
        })
      ).pipe(Effect.provide(Entropy.Entropy.layerSeeded(11)))
  )
})
