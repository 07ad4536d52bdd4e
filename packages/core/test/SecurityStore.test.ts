import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { SecurityStore } from "../src/index.ts"
import { SecurityStoreSuite } from "../src/testing/index.ts"

// The security store contract on the in-memory layer, a fresh store per case.
describe("SecurityStore.layerMemory passes the SecurityStore contract", () => {
  for (const [name, test] of Object.entries(SecurityStoreSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(SecurityStore.SecurityStore.layerMemory)))
  }
})
