import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { Entropy, Job, JobId, JobStatus, ServiceRef } from "../src/index.ts"
import { Arbitraries, SampleJobs } from "../src/testing/index.ts"

const seeded = Entropy.Entropy.layerSeeded(42)

describe("Job", () => {
  it.effect("make gives a Submitted job with a fresh id, created now, revision 1", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_637_004_585_000)
      const service = yield* ServiceRef.make({ folder: "System", name: "Utilities" })
      const job = yield* Job.make({
        service,
        task: "Echo",
        user: "analyst",
        inputs: { s: { dataType: "GPString", value: "hi" } }
      })
      assert.isTrue(JobId.isJobId(job.id))
      assert.strictEqual(job.status, "Submitted")
      assert.strictEqual(job.created, 1_637_004_585_000)
      assert.strictEqual(job.revision, 1)
      assert.isNull(job.started)
      assert.isNull(job.ended)
      assert.isNull(job.expires)
      const other = yield* Job.make({ service, task: "Echo", user: null })
      assert.notStrictEqual(other.id, job.id)
    }).pipe(Effect.provide(seeded))
  )

  it.effect("the same seed gives the same ids; the crypto layer gives well-formed distinct ones", () =>
    Effect.gen(function* () {
      const a = yield* JobId.make.pipe(Effect.provide(Entropy.Entropy.layerSeeded(5)))
      const b = yield* JobId.make.pipe(Effect.provide(Entropy.Entropy.layerSeeded(5)))
      assert.strictEqual(a, b)
      const ids = yield* Effect.forEach(Array.from({ length: 50 }), () => JobId.make).pipe(
        Effect.provide(Entropy.Entropy.layer)
      )
      assert.strictEqual(new Set(ids).size, 50)
      for (const id of ids) assert.match(id, /^j[0-9a-f]{32}$/)
    })
  )

  it.effect("make rejects a bad task name, naming the task", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Job.make({ service: SampleJobs.service, task: "../x", user: null }))
      assert.strictEqual(error.part, "task")
    }).pipe(Effect.provide(seeded))
  )

  it.effect("transitions record started on Executing and ended on a terminal status", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1000)
      let job = yield* Job.make({ service: SampleJobs.service, task: "Buffer", user: null })
      yield* TestClock.adjust(5000)
      job = yield* Job.transition(job, "Executing")
      assert.strictEqual(job.started, 6000)
      job = Job.setProgress(job, 33.4, "a third")
      assert.deepStrictEqual(job.progress, { type: "step", message: "a third", percent: 33 })
      yield* TestClock.adjust(4000)
      job = yield* Job.transition(job, "Succeeded")
      assert.strictEqual(job.ended, 10_000)
      assert.isNull(job.progress)
      assert.strictEqual(Job.expireAfter(job, 60_000).expires, 70_000)
      const error = yield* Effect.flip(Job.transition(job, "Executing"))
      assert.strictEqual(error._tag, "InvalidTransition")
      assert.strictEqual(error.jobId, job.id)
    }).pipe(Effect.provide(seeded))
  )

  it.effect("a retried job goes back to the queue with started cleared", () =>
    Effect.gen(function* () {
      let job = yield* Job.make({ service: SampleJobs.service, task: "Buffer", user: null })
      job = Job.setProgress(yield* Job.transition(job, "Executing"), 50, "half")
      job = yield* Job.transition(job, "Submitted")
      assert.isNull(job.started)
      assert.isNull(job.progress)
    }).pipe(Effect.provide(seeded))
  )

  it("progress is clamped to an integer 0–100; no percentage means default progress", () => {
    const job = { progress: null } as unknown as Job.Job
    assert.deepStrictEqual(Job.setProgress(job, 140, "x").progress, { type: "step", message: "x", percent: 100 })
    assert.deepStrictEqual(Job.setProgress(job, -3, "x").progress, { type: "step", message: "x", percent: 0 })
    assert.deepStrictEqual(Job.setProgress(job, undefined, "y").progress, { type: "default", message: "y" })
    assert.deepStrictEqual(Job.setProgress(job, Number.NaN, "z").progress, { type: "default", message: "z" })
  })

  it.effect("one sample job per status, each valid against the job schema", () =>
    Effect.gen(function* () {
      const samples = yield* SampleJobs.all
      for (const status of JobStatus.all) {
        assert.strictEqual(samples[status].status, status)
        assert.isTrue(Job.schema.safeParse(samples[status]).success, status)
      }
      assert.isNotNull(samples.Succeeded.ended)
      assert.property(samples.Succeeded.results, "Output_Features")
      assert.strictEqual(samples.Executing.progress?.type, "step")
    }).pipe(Effect.provide(seeded))
  )

  it("property: arbitrary jobs satisfy the job schema", () => {
    fc.assert(
      fc.property(Arbitraries.job, (job) => {
        const parsed = Job.schema.safeParse(job)
        assert.isTrue(parsed.success, JSON.stringify(parsed.error?.issues))
      }),
      { numRuns: 300 }
    )
  })
})

describe("ServiceRef", () => {
  it("derives a stable 21-character service_id from folder and name", () => {
    const a = ServiceRef.deriveServiceId("System", "PublishingTools")
    assert.match(a, /^s[a-z0-9]{20}$/)
    assert.strictEqual(ServiceRef.deriveServiceId("System", "PublishingTools"), a)
    assert.notStrictEqual(ServiceRef.deriveServiceId(undefined, "PublishingTools"), a)
    assert.notStrictEqual(ServiceRef.deriveServiceId("System", "PublishingTool"), a)
  })

  it.effect("keeps a configured service_id and rejects a malformed one", () =>
    Effect.gen(function* () {
      const ref = yield* ServiceRef.make({
        folder: "System",
        name: "PublishingTools",
        serviceId: "sfbsgf2p3tqnjn3s0h1m8"
      })
      assert.strictEqual(ref.serviceId, "sfbsgf2p3tqnjn3s0h1m8")
      const error = yield* Effect.flip(ServiceRef.make({ name: "X", serviceId: "short" }))
      assert.strictEqual(error.part, "serviceId")
    })
  )

  it.effect("reads Folder/Name paths and rejects deeper ones and reserved names", () =>
    Effect.gen(function* () {
      const ref = yield* ServiceRef.fromPath("Analysis/Geometry")
      assert.strictEqual(ref.folder, "Analysis")
      assert.strictEqual(ServiceRef.path(ref), "Analysis/Geometry")
      assert.isUndefined((yield* ServiceRef.fromPath("Geometry")).folder)
      assert.strictEqual((yield* Effect.flip(ServiceRef.fromPath("a/b/c"))).part, "path")
      assert.strictEqual((yield* Effect.flip(ServiceRef.fromPath("GPServer"))).part, "service")
      assert.strictEqual((yield* Effect.flip(ServiceRef.make({ folder: " x", name: "y" }))).part, "folder")
    })
  )

  it("accepts names with spaces and any letters, refuses slashes, dots-only and control characters", () => {
    assert.isUndefined(ServiceRef.nameProblem("Straßen Puffer 名前"))
    assert.isDefined(ServiceRef.nameProblem("a/b"))
    assert.isDefined(ServiceRef.nameProblem(".."))
    assert.isDefined(ServiceRef.nameProblem("a\u0000b"))
    assert.isDefined(ServiceRef.nameProblem(""))
    assert.isDefined(ServiceRef.nameProblem("x".repeat(121)))
    assert.isUndefined(ServiceRef.nameProblem("x".repeat(120)))
  })
})
