import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { EncodedValue, type Job, ServiceRef, type Uploads } from "@geojobs/core"
import { UploadsSuite } from "@geojobs/core/testing"
import { Effect } from "effect"
import * as InputStaging from "../src/InputStaging.ts"
import * as LocalUploads from "../src/LocalUploads.ts"

const ref = { folder: "Analysis", name: "DataConversion", type: "GPServer", serviceId: "a".repeat(21) } as const
const service = { ref, uploads: { maxBytes: 1024 * 1024, retentionMs: 60_000 } }
const limits: Uploads.Limits = service.uploads

const setup = Effect.gen(function* () {
  const uploads = yield* LocalUploads.make(mkdtempSync(join(tmpdir(), "geojobs-uploads-")))
  const item = yield* uploads.upload(
    UploadsSuite.chunked(new TextEncoder().encode("x,y\n1,2\n")),
    limits,
    Effect.succeed({ itemName: "points.csv", description: "", service: ServiceRef.path(ref), owner: "alice" })
  )
  return { uploads, item }
})

// As the store hands inputs back: lazy values of their text.
const stored = (inputs: Record<string, unknown>): Readonly<Record<string, Job.JobValue>> =>
  Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [
      name,
      EncodedValue.lazy({
        dataType: typeof value === "string" ? "GPString" : "GPDataFile",
        json: JSON.stringify(value)
      })
    ])
  )

describe("InputStaging", () => {
  it.effect(
    "check: a committed item of the service the submitter may use passes; anything else names the parameter",
    () =>
      Effect.gen(function* () {
        const { uploads, item } = yield* setup
        const inputs = stored({ Input_File: { itemID: item.itemID }, Output_Name: "x" })
        assert.strictEqual(yield* InputStaging.check(uploads, service, "alice", inputs), inputs)
        for (const [user, svc, adapter] of [
          ["bob", service, uploads],
          [null, service, uploads],
          ["alice", { ref: { ...ref, name: "Other" }, uploads: service.uploads }, uploads],
          ["alice", { ref }, uploads],
          ["alice", service, undefined]
        ] as const) {
          const error = yield* Effect.flip(InputStaging.check(adapter, svc, user, inputs))
          assert.strictEqual(error.parameter, "Input_File")
        }
        const pending = yield* uploads.register(
          { itemName: "big.zip", description: "", service: ServiceRef.path(ref), owner: "alice" },
          limits
        )
        const error = yield* Effect.flip(
          InputStaging.check(uploads, service, "alice", stored({ Input_File: { itemID: pending.itemID } }))
        )
        assert.match(error.message, /committed/)
      })
  )

  it.effect("stage: the item's file is copied into the job's folder and the tool gets its path", () =>
    Effect.gen(function* () {
      const { uploads, item } = yield* setup
      const folder = mkdtempSync(join(tmpdir(), "geojobs-job-"))
      const job = {
        service: ref,
        user: "alice",
        inputs: stored({ Input_File: { itemID: item.itemID }, Output_Name: "x" })
      }
      const staged = yield* InputStaging.stage(uploads, job, folder)
      assert.isTrue(staged.ok)
      if (!staged.ok) return
      assert.deepStrictEqual(staged.inputs.Input_File?.value, {
        itemID: item.itemID,
        itemName: "points.csv",
        path: "inputs/Input_File/points.csv"
      })
      assert.strictEqual(staged.inputs.Output_Name, job.inputs.Output_Name)
      assert.strictEqual(readFileSync(join(folder, "inputs", "Input_File", "points.csv"), "utf8"), "x,y\n1,2\n")
      // A second run (after an interruption) replaces the copy.
      assert.isTrue((yield* InputStaging.stage(uploads, job, folder)).ok)
    })
  )

  it.effect("stage: an item deleted after the submission fails the run with a message naming the parameter", () =>
    Effect.gen(function* () {
      const { uploads, item } = yield* setup
      yield* uploads.remove({ service: ServiceRef.path(ref), owner: "alice" }, item.itemID)
      const staged = yield* InputStaging.stage(
        uploads,
        { service: ref, user: "alice", inputs: stored({ Input_File: { itemID: item.itemID } }) },
        mkdtempSync(join(tmpdir(), "geojobs-job-"))
      )
      assert.deepStrictEqual(staged, {
        ok: false,
        error: `Input_File: the uploaded item ${item.itemID} no longer exists (it expired or was deleted)`
      })
    })
  )

  it("itemOf reads only small file values", () => {
    assert.strictEqual(InputStaging.itemOf({ dataType: "GPDataFile", value: { itemID: "i1" } }), "i1")
    assert.isUndefined(InputStaging.itemOf({ dataType: "GPString", value: '{"itemID":"i1"}' }))
    assert.isUndefined(InputStaging.itemOf({ dataType: "GPDataFile", value: { url: "https://x/y.zip" } }))
  })
})
