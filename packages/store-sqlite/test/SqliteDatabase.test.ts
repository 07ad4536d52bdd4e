import { DatabaseSync } from "node:sqlite"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqliteDatabase from "../src/SqliteDatabase.ts"

const setup = () => {
  const db = new DatabaseSync(":memory:")
  db.exec("CREATE TABLE t (n INTEGER)")
  return db
}

/** Five writes requested in one turn; the first queues a marker callback for the next turn: when does it run? */
const interleaving = (sliceMs: number | undefined) =>
  Effect.gen(function* () {
    const db = setup()
    const write = SqliteDatabase.groupCommit(db, (operation, cause) => ({ operation, cause }), sliceMs)
    const log: Array<string> = []
    const writes = Array.from({ length: 5 }, (_, i) =>
      write(`w${i}`, () => {
        if (i === 0) setImmediate(() => log.push("marker"))
        db.prepare("INSERT INTO t (n) VALUES (?)").run(i)
        log.push(`w${i}`)
        return SqliteDatabase.ok(i)
      })
    )
    const results = yield* Effect.all(writes, { concurrency: "unbounded" })
    yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
    const count = (db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n
    db.close()
    return { log, results, count }
  })

describe("SqliteDatabase.groupCommit", () => {
  it.effect("writes of one turn share a transaction within the time slice", () =>
    Effect.gen(function* () {
      // A slice no machine exceeds: the test must not depend on how fast this one is.
      const { log, results, count } = yield* interleaving(60_000)
      assert.deepStrictEqual(results, [0, 1, 2, 3, 4])
      assert.strictEqual(count, 5)
      assert.deepStrictEqual(log, ["w0", "w1", "w2", "w3", "w4", "marker"])
    })
  )

  it.effect("past the slice the rest waits for the next turn, so other work runs between big writes", () =>
    Effect.gen(function* () {
      const { log, results, count } = yield* interleaving(0)
      assert.deepStrictEqual(results, [0, 1, 2, 3, 4], "every write still acknowledged, in order")
      assert.strictEqual(count, 5)
      assert.isBelow(log.indexOf("marker"), log.indexOf("w4"), `the marker ran between writes: ${log.join(" ")}`)
    })
  )
})
