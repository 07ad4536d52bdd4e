import { assert, describe, it } from "@effect/vitest"
import { JobError, OgcDocument, OgcException, OgcProcess, OgcStatusInfo } from "../src/index.ts"

describe("OgcException", () => {
  it("the standard's three types, spelt as 1.0 spells them", () => {
    const prefix = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
    assert.strictEqual(OgcException.types.noSuchProcess, `${prefix}no-such-process`)
    assert.strictEqual(OgcException.types.noSuchJob, `${prefix}no-such-job`)
    assert.strictEqual(OgcException.types.resultNotReady, `${prefix}result-not-ready`)
  })

  it("every job-model error has its exception, with a real status; store failures say nothing more", () => {
    const noSuchJob = OgcException.fromJobError(new JobError.NoSuchJob({ jobId: "j1" }))
    assert.deepStrictEqual(noSuchJob, {
      type: OgcException.types.noSuchJob,
      title: "No such job",
      status: 404,
      detail: "Job j1 does not exist."
    })
    const hidden = OgcException.fromJobError(new JobError.JobStoreError({ operation: "get", cause: new Error("disk") }))
    assert.strictEqual(hidden.status, 500)
    assert.notInclude(JSON.stringify(hidden), "disk")
    assert.strictEqual(
      OgcException.fromJobError(new JobError.InvalidQuery({ parameter: "limit", reason: "x" })).status,
      400
    )
    for (const doc of [noSuchJob, hidden]) assert.isTrue(OgcException.schema.safeParse(doc).success)
  })

  it("extra members follow the standard ones", () => {
    const e = OgcException.make({
      type: OgcException.types.invalidParameter,
      title: "Invalid input",
      status: 400,
      detail: "bad",
      extra: { input: "seconds" }
    })
    assert.strictEqual(e.input, "seconds")
  })
})

describe("OgcProcess and OgcDocument", () => {
  it("qualified values and links are told apart from plain object values", () => {
    assert.isTrue(OgcProcess.isQualifiedValue({ value: 1, mediaType: "application/json" }))
    assert.isFalse(OgcProcess.isQualifiedValue({ distance: 1, units: "esriMeters" }))
    assert.isFalse(OgcProcess.isQualifiedValue({ value: 1, other: 2 }))
    assert.isTrue(OgcProcess.isLink({ href: "https://x/y", type: "application/json" }))
    assert.isFalse(OgcProcess.isLink({ type: "FeatureCollection", features: [] }))
  })

  it("the execute request: response raw or document, transmission modes, any inputs", () => {
    assert.isTrue(OgcProcess.executeSchema.safeParse({ inputs: { a: 1 }, response: "document" }).success)
    assert.isFalse(OgcProcess.executeSchema.safeParse({ response: "everything" }).success)
    assert.isFalse(OgcProcess.executeSchema.safeParse({ outputs: { a: { transmissionMode: "post" } } }).success)
  })

  it("the conformance classes are those of 1.0, callback included", () => {
    assert.lengthOf(OgcDocument.conformanceClasses, 8)
    assert.isTrue(
      OgcDocument.conformanceClasses.every((c) =>
        c.startsWith("http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/")
      )
    )
    assert.isTrue(OgcDocument.conformanceClasses.some((c) => c.endsWith("/callback")))
  })

  it("statusInfo takes a job summary, its status from the status table", () => {
    const base = {
      id: "j0550714f334d4114af9f7a5d05cb145e",
      messages: [],
      progress: null,
      created: 0,
      started: 1000,
      ended: null
    }
    const running = OgcStatusInfo.fromJob(
      { ...base, status: "Executing" },
      { jobUrl: "https://h/ogcapi/jobs/x", processId: "A.B" }
    )
    assert.strictEqual(running.status, "running")
    assert.lengthOf(running.links ?? [], 1)
    const deleted = OgcStatusInfo.fromJob({ ...base, status: "Deleted" }, { jobUrl: "u", processId: "A.B" })
    assert.strictEqual(deleted.status, "dismissed")
    assert.isTrue(OgcDocument.jobListSchema.safeParse({ jobs: [running, deleted], links: [] }).success)
  })
})
