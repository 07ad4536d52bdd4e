import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Entropy, Job, JobStore } from "@geojobs/core"
import { JobStoreSuite, SampleJobs } from "@geojobs/core/testing"
import { Effect, Layer } from "effect"
import { JobQueue } from "../src/JobQueue.ts"

import * as SqliteJobStore from "../src/SqliteJobStore.ts"

const dir = mkdtempSync(join(tmpdir(), "geojobs-sqlite-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = () => SqliteJobStore.layer({ filename: join(dir, `store-${++n}.sqlite`) })

describe("SqliteJobStore passes the JobStore contract (a real database file per case)", () => {
  for (const [name, test] of Object.entries(JobStoreSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(7)))))
  }
})

describe("SqliteJobStore", () => {
  it.effect("keeps jobs across a close and reopen of the file", () =>
    Effect.gen(function* () {
      const filename = join(dir, "reopen.sqlite")
      const job = yield* SampleJobs.make("Executing")
      yield* JobStore.JobStore.use((s) => s.create(job)).pipe(Effect.provide(SqliteJobStore.layer({ filename })))
      const again = yield* JobStore.JobStore.use((s) => s.get(job.id)).pipe(
        Effect.provide(SqliteJobStore.layer({ filename }))
      )
      assert.deepStrictEqual(again, job)
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(3)))
  )

  it.effect("claims oldest first, FIFO within a service, never past a service's limit", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const queue = yield* JobQueue
      const other = { ...SampleJobs.service, name: "Other", serviceId: "s00000000000000000000" }
      const make = (i: number, service = SampleJobs.service) =>
        Effect.flatMap(Job.make({ service, task: "Buffer", user: null }), (j) =>
          store.create({ ...j, created: 1000 + i })
        )
      const a = [yield* make(0), yield* make(1), yield* make(2)]
      const b = yield* make(3, other)
      const limitFor = (s: { name: string }) => (s.name === "Geometry" ? 2 : 5)
      const first = yield* queue.claim({ owner: "e1", max: 10, limitFor })
      assert.deepStrictEqual(
        first.map((j) => j.id),
        [a[0]?.id, a[1]?.id, b.id]
      )
      assert.isTrue(first.every((j) => j.status === "Executing" && j.started !== null))
      assert.strictEqual((yield* store.get(a[0]?.id ?? "")).revision, 2)
      assert.lengthOf(yield* queue.claim({ owner: "e1", max: 10, limitFor }), 0)
      const done = yield* store.get(a[0]?.id ?? "")
      yield* store.update(done.revision, yield* Job.transition(done, "Succeeded"))
      const next = yield* queue.claim({ owner: "e2", max: 10, limitFor })
      assert.deepStrictEqual(
        next.map((j) => j.id),
        [a[2]?.id]
      )
      const counts = yield* queue.countByStatus()
      assert.deepStrictEqual(counts, { Executing: 3, Succeeded: 1 })
    }).pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(9))))
  )

  it.effect("finds orphans by their owner's heartbeat and expired jobs by their expiry", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const queue = yield* JobQueue
      for (let i = 0; i < 2; i++)
        yield* store.create(yield* Job.make({ service: SampleJobs.service, task: "B", user: null }))
      yield* queue.heartbeat({ id: "alive", host: "h", pid: 1 }, 5000)
      yield* queue.heartbeat({ id: "dead", host: "h", pid: 2 }, 5000)
      const [x] = yield* queue.claim({ owner: "alive", max: 1, limitFor: () => 9 })
      const [y] = yield* queue.claim({ owner: "dead", max: 1, limitFor: () => 9 })
      const orphans = yield* queue.orphans((o) => o.id === "alive")
      assert.deepStrictEqual(
        orphans.map((o) => [o.job.id, o.owner]),
        [[y?.id ?? "", "dead"]]
      )
      yield* queue.release("alive")
      assert.lengthOf(yield* queue.orphans(() => true), 1, "an owner without heartbeat row is never alive")
      const finished = yield* store.get(x?.id ?? "")
      const ended = Job.expireAfter(yield* Job.transition(finished, "Succeeded"), 1000)
      yield* store.update(finished.revision, ended)
      assert.lengthOf(yield* queue.expired((ended.expires ?? 0) - 1, 10), 0)
      assert.deepStrictEqual(
        (yield* queue.expired(ended.expires ?? 0, 10)).map((j) => j.id),
        [x?.id]
      )
    }).pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(11))))
  )

  it.effect("opening a path it cannot create fails with a JobStoreError naming the file", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        JobStore.JobStore.use((s) => s.get("j0")).pipe(
          Effect.provide(SqliteJobStore.layer({ filename: "/etc/hostname/sub/x.sqlite" }))
        )
      )
      assert.strictEqual(error._tag, "JobStoreError")
      assert.include(error.message, "/etc/hostname/sub/x.sqlite")
    })
  )
})
