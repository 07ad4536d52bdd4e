import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Entropy, Job, JobQueue, JobStore } from "@geojobs/core"
import { JobQueueSuite, JobStoreSuite, SampleJobs } from "@geojobs/core/testing"
import { Context, Effect, Layer } from "effect"
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

describe("SqliteJobStore passes the JobQueue contract (a real database file per case)", () => {
  for (const [name, test] of Object.entries(JobQueueSuite.cases)) {
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

  it.effect("two connections on one file see each other's claims: no job is claimed twice", () =>
    Effect.gen(function* () {
      const filename = join(dir, "shared.sqlite")
      const one = yield* Layer.build(SqliteJobStore.layer({ filename }))
      const two = yield* Layer.build(SqliteJobStore.layer({ filename }))
      const store = Context.get(one, JobStore.JobStore)
      for (let i = 0; i < 20; i++) {
        const job = yield* Job.make({ service: SampleJobs.service, task: "Buffer", user: null })
        yield* store.create({ ...job, created: 1000 + i })
      }
      const limits = [{ service: SampleJobs.service, max: 100 }]
      const claims = yield* Effect.all(
        [one, two, one, two].map((ctx, i) =>
          Context.get(ctx, JobQueue.JobQueue).claim({ owner: `e${i}`, max: 6, limits })
        ),
        { concurrency: "unbounded" }
      )
      const ids = claims.flat().map((j) => j.id)
      assert.strictEqual(new Set(ids).size, ids.length)
      assert.strictEqual(ids.length, 20)
    }).pipe(Effect.scoped, Effect.provide(Entropy.Entropy.layerSeeded(5)))
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
