import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { JobFiles } from "../src/index.ts"
import { JobFilesSuite } from "../src/testing/index.ts"

// The contract every files adapter runs; here on the memory layer, fresh per case.
describe("JobFiles.layerMemory passes the JobFiles contract", () => {
  for (const [name, test] of Object.entries(JobFilesSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(JobFiles.JobFiles.layerMemory)))
  }
})

describe("JobFiles.segments", () => {
  it("splits a relative path and refuses every escape", () => {
    assert.deepStrictEqual(JobFiles.segments("a/b c/Ü.txt"), ["a", "b c", "Ü.txt"])
    assert.deepStrictEqual(JobFiles.segments("..a"), ["..a"])
    for (const path of JobFilesSuite.escapes) assert.isUndefined(JobFiles.segments(path), JSON.stringify(path))
  })
})
