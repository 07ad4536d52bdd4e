import { describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Entropy, JobQueue, JobStore } from "../src/index.ts"
import { JobQueueSuite, QueueSignalsSuite } from "../src/testing/index.ts"

// The queue contract on the in-memory layers, a fresh store and queue per case.
describe("JobQueue.layerMemory passes the JobQueue contract", () => {
  for (const [name, test] of Object.entries(JobQueueSuite.cases)) {
    it.effect(name, () =>
      test.pipe(
        Effect.provide(
          Layer.mergeAll(
            JobQueue.JobQueue.layerMemory.pipe(Layer.provideMerge(JobStore.JobStore.layerMemory)),
            Entropy.Entropy.layerSeeded(7)
          )
        )
      )
    )
  }
})

// The signals contract on the in-process signals over the in-memory layers.
describe("QueueSignals.layerInProcess passes the QueueSignals contract", () => {
  for (const [name, test] of Object.entries(QueueSignalsSuite.cases)) {
    it.live(name, () =>
      test.pipe(
        Effect.provide(
          Layer.mergeAll(
            JobQueue.QueueSignals.layerInProcess.pipe(
              Layer.provide(JobQueue.JobQueue.layerMemory.pipe(Layer.provideMerge(JobStore.JobStore.layerMemory)))
            ),
            Entropy.Entropy.layerSeeded(7)
          )
        )
      )
    )
  }
})
