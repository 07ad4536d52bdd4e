import { tmpdir } from "node:os"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Builtin from "../src/builtin/index.ts"
import { loadTool } from "../src/ToolModule.ts"

const context = (signal = new AbortController().signal) => {
  const progress: Array<[number | undefined, string | undefined]> = []
  return {
    progress,
    ctx: {
      jobId: "j0",
      signal,
      progress: (p: number | undefined, m?: string) => progress.push([p, m]),
      message: () => {},
      outputDir: tmpdir()
    }
  }
}

describe("built-in Echo and Sleep", () => {
  it.effect("every built-in name resolves to a module exporting a tool of that name", () =>
    Effect.gen(function* () {
      for (const name of ["Echo", "Sleep"] as const) {
        const tool = yield* loadTool(Builtin.modules[name])
        assert.strictEqual(tool.name, name)
      }
    })
  )

  it.effect("Echo answers its input", () =>
    Effect.gen(function* () {
      const echo = yield* loadTool(Builtin.modules.Echo)
      const out = yield* Effect.promise(async () => echo.execute({ input_string: "Grüße" }, context().ctx))
      assert.deepStrictEqual(out, { output_string: "Grüße" })
    })
  )

  it.live("Sleep reports progress every second and stops at once when cancelled", () =>
    Effect.gen(function* () {
      const sleep = yield* loadTool(Builtin.modules.Sleep)
      const run = context()
      const out = yield* Effect.promise(async () => sleep.execute({ seconds: 1.2 }, run.ctx))
      assert.deepStrictEqual(out, { slept: 1.2 })
      const percents = run.progress.map(([p]) => p ?? -1)
      assert.lengthOf(percents, 3, "progress at 0 s, 1 s and the end")
      assert.strictEqual(percents[0], 0)
      assert.closeTo(percents[1] ?? 0, 83, 5)
      assert.strictEqual(percents[2], 100)
      const controller = new AbortController()
      const cancelled = context(controller.signal)
      const started = Date.now()
      setTimeout(() => controller.abort(new Error("cancelled")), 100)
      const error = yield* Effect.promise(() =>
        Promise.resolve(sleep.execute({ seconds: 30 }, cancelled.ctx)).then(
          () => undefined,
          (e: unknown) => e
        )
      )
      assert.instanceOf(error, Error)
      // Ended by the cancel, long before its 30 s (the bound leaves room for a loaded machine).
      assert.isBelow(Date.now() - started, 10_000)
    })
  )
})
