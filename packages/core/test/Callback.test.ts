import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Callback, CallbackOutbox, Entropy, JobQueue, JobStatus, JobStore } from "../src/index.ts"
import { CallbackOutboxSuite } from "../src/testing/index.ts"

describe("the memory store passes the CallbackOutbox contract", () => {
  for (const [name, test] of Object.entries(CallbackOutboxSuite.cases)) {
    const storage = Layer.mergeAll(JobQueue.JobQueue.layerMemory, CallbackOutbox.CallbackOutbox.layerMemory).pipe(
      Layer.provideMerge(JobStore.JobStore.layerMemory)
    )
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(storage, Entropy.Entropy.layerSeeded(7)))))
  }
})

describe("Callback", () => {
  it("sends inProgress on Executing, success on Succeeded, failed on every failed or dismissed end, else none", () => {
    const sent = Object.fromEntries(JobStatus.all.map((s) => [s, Callback.eventOf(s)]))
    assert.deepStrictEqual(sent, {
      New: null,
      Submitted: null,
      Waiting: null,
      Executing: "inProgress",
      Succeeded: "success",
      Failed: "failed",
      TimedOut: "failed",
      Cancelling: null,
      Cancelled: "failed",
      Deleting: null,
      Deleted: "failed"
    })
    // Every terminal status tells the subscriber something; no queued one does.
    for (const s of JobStatus.terminal) assert.notStrictEqual(Callback.eventOf(s), null, s)
    for (const s of JobStatus.queued) assert.strictEqual(Callback.eventOf(s), null, s)
  })

  it("takes absolute http(s) URIs only, without credentials", () => {
    assert.strictEqual(Callback.uriProblem("https://hooks.example.com/x?y=1"), undefined)
    assert.strictEqual(Callback.uriProblem("http://10.0.0.1:8080/x"), undefined)
    for (const bad of [
      "ftp://hooks.example.com/x",
      "/relative",
      "hooks.example.com",
      "mailto:a@b.c",
      "https://u:p@h/x"
    ])
      assert.isString(Callback.uriProblem(bad), bad)
  })

  it("makes a subscriber only when a URI is given", () => {
    assert.strictEqual(Callback.make({}, "https://h/ogcapi/jobs"), undefined)
    assert.strictEqual(Callback.make({ successUri: "" }, "https://h/ogcapi/jobs"), undefined)
    assert.deepStrictEqual(Callback.make({ failedUri: "https://r/f" }, "https://h/ogcapi/jobs"), {
      jobsUrl: "https://h/ogcapi/jobs",
      failedUri: "https://r/f"
    })
  })

  it("backs off exponentially from the initial delay up to the cap, then gives up", () => {
    const b = { initialMs: 1000, maxMs: 600_000, maxAttempts: 12 }
    const delays = [1, 2, 3, 4, 10, 11].map((n) => (Callback.nextAttempt(b, n, 0) ?? -1) - 0)
    assert.deepStrictEqual(delays, [1000, 2000, 4000, 8000, 512_000, 600_000])
    assert.strictEqual(Callback.nextAttempt(b, 12, 0), null)
    assert.strictEqual(Callback.nextAttempt({ ...b, maxAttempts: 1 }, 1, 0), null)
  })
})
