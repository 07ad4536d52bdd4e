import { describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Entropy, JobStore } from "../src/index.ts"
import { JobStoreSuite } from "../src/testing/index.ts"

// The contract every store adapter runs; here on the in-memory layer, a fresh store per case.
describe("JobStore.layerMemory passes the JobStore contract", () => {
  for (const [name, test] of Object.entries(JobStoreSuite.cases)) {
    it.effect(name, () =>
      test.pipe(Effect.provide(Layer.mergeAll(JobStore.JobStore.layerMemory, Entropy.Entropy.layerSeeded(7))))
    )
  }
})
