import { assert, describe, it } from "@effect/vitest"
import * as Fixtures from "@geojobs/fixtures"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import {
  AdminJob,
  Entropy,
  ErrorEnvelope,
  Job,
  JobError,
  JobStatus,
  OgcStatusInfo,
  RestJob,
  ServiceRef
} from "../src/index.ts"
import { Arbitraries, SampleJobs } from "../src/testing/index.ts"

const seed = Fixtures.seedValues

/** The seed's job, built with core's constructors and the seed's values. */
const seedJob = Effect.gen(function* () {
  const service = yield* ServiceRef.make({ folder: seed.folder, name: seed.serviceName, serviceId: seed.serviceId })
  yield* TestClock.setTime(seed.created * 1000)
  let job = yield* Job.make({ service, task: "Publish Tiles", user: seed.username })
  yield* TestClock.setTime(seed.started * 1000)
  job = yield* Job.transition(job, "Executing")
  yield* TestClock.setTime(seed.ended * 1000)
  job = yield* Job.transition(job, "Succeeded")
  return { ...job, id: seed.jobId, revision: Number(seed.revision) }
}).pipe(Effect.provide(Entropy.Entropy.layerSeeded(1)))

describe("AdminJob (the seed document)", () => {
  it.effect("a job built from the seed's values renders exactly the seed's JSON: keys, order and values", () =>
    Effect.gen(function* () {
      const job = yield* seedJob
      const doc = AdminJob.fromJob(Job.summarize(job), { baseUrl: seed.baseUrl })
      const expected = JSON.stringify(JSON.parse(Fixtures.seedText()))
      assert.strictEqual(JSON.stringify(doc), expected)
      assert.deepStrictEqual(Object.keys(doc), [
        "status_code",
        "job_id",
        "service_id",
        "job_created",
        "job_execution_start",
        "job_execution_end",
        "url",
        "revision",
        "status",
        "username"
      ])
      assert.deepStrictEqual(doc, AdminJob.schema.parse(Fixtures.seedAdminJob()))
    })
  )

  it.effect("times not reached yet are null; revision is a string; times are whole seconds", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_637_004_585_999)
      const job = yield* SampleJobs.make("Submitted")
      const doc = AdminJob.fromJob(Job.summarize(job), { baseUrl: "https://h/arcgis" })
      assert.strictEqual(doc.job_created, 1_637_004_585)
      assert.isNull(doc.job_execution_start)
      assert.isNull(doc.job_execution_end)
      assert.strictEqual(doc.revision, String(job.revision))
      assert.strictEqual(doc.status_code, 1)
      assert.strictEqual(doc.url, `https://h/arcgis/rest/services/Analysis/Geometry/GPServer/jobs/${job.id}`)
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(3)))
  )

  it("the schema refuses a document with an extra key or a millisecond revision number", () => {
    const good = Fixtures.seedAdminJob() as Record<string, unknown>
    assert.isTrue(AdminJob.schema.safeParse(good).success)
    assert.isFalse(AdminJob.schema.safeParse({ ...good, userName: "x" }).success)
    assert.isFalse(AdminJob.schema.safeParse({ ...good, revision: 1351727964 }).success)
  })

  it("property: every rendered admin document passes its schema", () => {
    fc.assert(
      fc.property(Arbitraries.job, (job) => {
        const doc = AdminJob.fromJob(Job.summarize(job), { baseUrl: "https://organization.example.com/<context>" })
        assert.isTrue(AdminJob.schema.safeParse(doc).success)
        assert.strictEqual(doc.status_code, JobStatus.code(job.status))
      }),
      { numRuns: 300 }
    )
  })
})

describe("RestJob", () => {
  it("reads a message type back to its level, and no level for the types GeoJobs does not write", () => {
    assert.strictEqual(RestJob.messageLevel("esriJobMessageTypeInformative"), "informative")
    assert.strictEqual(RestJob.messageLevel("esriJobMessageTypeWarning"), "warning")
    assert.strictEqual(RestJob.messageLevel("esriJobMessageTypeError"), "error")
    assert.isUndefined(RestJob.messageLevel("esriJobMessageTypeAbort"))
    assert.isUndefined(RestJob.messageLevel("error"))
  })

  it.effect("shows progress only while Executing and results on every Succeeded job", () =>
    Effect.gen(function* () {
      const samples = yield* SampleJobs.all
      const executing = RestJob.fromJob(Job.summarize(samples.Executing))
      assert.deepStrictEqual(executing.progress, { type: "step", message: "Buffering features", percent: 40 })
      assert.isUndefined(executing.results)
      const succeeded = RestJob.fromJob(Job.summarize(samples.Succeeded))
      assert.isUndefined(succeeded.progress)
      assert.deepStrictEqual(succeeded.results, { Output_Features: { paramUrl: "results/Output_Features" } })
      assert.deepStrictEqual(succeeded.inputs, {
        Input_Features: { paramUrl: "inputs/Input_Features" },
        Distance: { paramUrl: "inputs/Distance" }
      })
      const empty = RestJob.fromJob(Job.summarize(Job.setResults(samples.Succeeded, {})))
      assert.deepStrictEqual(empty.results, {})
      for (const status of ["Submitted", "Failed", "Cancelled", "TimedOut"] as const) {
        assert.isUndefined(RestJob.fromJob(Job.summarize(samples[status])).progress, status)
        assert.isUndefined(RestJob.fromJob(Job.summarize(samples[status])).results, status)
      }
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(4)))
  )

  it.effect("renders messages with esri types, or none with returnMessages=false; New reads as Submitted", () =>
    Effect.gen(function* () {
      const samples = yield* SampleJobs.all
      const failed = RestJob.fromJob(Job.summarize(samples.Failed))
      assert.deepStrictEqual(failed.messages?.at(-1), {
        type: "esriJobMessageTypeError",
        description: "Status: Failed"
      })
      assert.isUndefined(RestJob.fromJob(Job.summarize(samples.Failed), { returnMessages: false }).messages)
      assert.strictEqual(RestJob.fromJob(Job.summarize(samples.New)).jobStatus, "esriJobSubmitted")
      const fresh = RestJob.fromJob(Job.summarize({ ...samples.Executing, progress: null }))
      assert.deepStrictEqual(fresh.progress, { type: "default", message: "Executing..." })
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(4)))
  )

  it("every golden REST document a poller may see decodes with the schema and has progress only while executing", () => {
    assert.isAtLeast(Fixtures.restJobStatuses.length, 8)
    for (const status of Fixtures.restJobStatuses) {
      const doc = RestJob.schema.parse(Fixtures.restJob(status))
      assert.strictEqual(doc.jobStatus, status)
      assert.strictEqual(doc.progress !== undefined, status === "esriJobExecuting", status)
      if (status === "esriJobSucceeded") assert.isDefined(doc.results)
    }
  })

  it("property: every rendered REST document passes its schema and parameter values render", () => {
    fc.assert(
      fc.property(Arbitraries.job, fc.boolean(), (job, returnMessages) => {
        const doc = RestJob.fromJob(Job.summarize(job), { returnMessages })
        assert.isTrue(RestJob.schema.safeParse(doc).success)
        assert.strictEqual(doc.progress !== undefined, job.status === "Executing")
        for (const [name, value] of Object.entries(job.inputs)) {
          assert.isTrue(RestJob.parameterValueSchema.safeParse(RestJob.parameterValue(name, value)).success)
        }
      }),
      { numRuns: 300 }
    )
  })
})

describe("OgcStatusInfo", () => {
  it.effect("renders statusInfo with RFC 3339 times, progress and a results link once successful", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 10, 28, 12, 0, 0))
      const samples = yield* SampleJobs.all
      const url = `https://h/arcgis/ogc/jobs/${samples.Succeeded.id}`
      const done = OgcStatusInfo.fromJob(samples.Succeeded, { jobUrl: url, processId: "Buffer" })
      assert.strictEqual(done.status, "successful")
      assert.strictEqual(done.type, "process")
      assert.strictEqual(done.created, "2026-11-28T12:00:00.000Z")
      assert.strictEqual(done.progress, 100)
      assert.deepStrictEqual(
        done.links?.map((l) => [l.rel, l.href]),
        [
          ["self", url],
          [OgcStatusInfo.resultsRel, `${url}/results`]
        ]
      )
      const running = OgcStatusInfo.fromJob(samples.Executing, { jobUrl: url, processId: "Buffer" })
      assert.strictEqual(running.status, "running")
      assert.strictEqual(running.progress, 40)
      assert.strictEqual(running.message, "Buffering features")
      assert.isUndefined(running.finished)
      assert.strictEqual(OgcStatusInfo.fromJob(samples.Cancelled, { jobUrl: url, processId: "B" }).status, "dismissed")
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(5)))
  )

  it("property: every rendered statusInfo passes its schema", () => {
    fc.assert(
      fc.property(Arbitraries.job, (job) => {
        const doc = OgcStatusInfo.fromJob(job, { jobUrl: `https://h/ogc/jobs/${job.id}`, processId: job.task })
        assert.isTrue(OgcStatusInfo.schema.safeParse(doc).success, JSON.stringify(doc))
        assert.strictEqual(doc.status, JobStatus.ogcStatus(job.status))
      }),
      { numRuns: 300 }
    )
  })
})

describe("ErrorEnvelope", () => {
  it("renders both envelopes and decodes the golden ones", () => {
    assert.deepStrictEqual(ErrorEnvelope.rest({ code: 400, message: "Invalid parameter", details: ["x"] }), {
      error: { code: 400, message: "Invalid parameter", details: ["x"] }
    })
    assert.deepStrictEqual(ErrorEnvelope.admin({ code: 500, messages: ["Unable to cancel job :[j1]"] }), {
      status: "error",
      messages: ["Unable to cancel job :[j1]"],
      code: 500
    })
    assert.strictEqual(ErrorEnvelope.restSchema.parse(Fixtures.restError()).error.code, 400)
    assert.strictEqual(ErrorEnvelope.restSchema.parse(Fixtures.restInvalidToken()).error.code, 498)
    assert.strictEqual(ErrorEnvelope.restSchema.parse(Fixtures.restTokenRequired()).error.code, 499)
    assert.strictEqual(ErrorEnvelope.adminSchema.parse(Fixtures.adminError()).code, 500)
  })

  it("maps job-model errors to codes and keeps their message", () => {
    const missing = new JobError.NoSuchJob({ jobId: "j0550714f334d4114af9f7a5d05cb145e" })
    assert.deepStrictEqual(ErrorEnvelope.restFromError(missing), {
      error: { code: 404, message: "Job j0550714f334d4114af9f7a5d05cb145e does not exist.", details: [] }
    })
    const bad = new JobError.InvalidReference({ part: "task", value: "..", reason: "it is a relative path segment" })
    assert.deepStrictEqual(ErrorEnvelope.adminFromError(bad), {
      status: "error",
      messages: ['Invalid task "..": it is a relative path segment.'],
      code: 400
    })
  })
})
