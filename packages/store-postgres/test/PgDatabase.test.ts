import { assert, describe, it } from "@effect/vitest"
import { JobQueue, JobStore, SecurityStore } from "@geojobs/core"
import * as TcpProxy from "@geojobs/fixtures/TcpProxy"
import { Context, Effect, Exit, Layer } from "effect"
import * as PgJobStore from "../src/PgJobStore.ts"
import * as PgNotifications from "../src/PgNotifications.ts"
import * as PgSecurityStore from "../src/PgSecurityStore.ts"
import * as PgStorage from "../src/PgStorage.ts"
import { admin, freshSchema, unavailable, url } from "../src/testing/TestDatabase.ts"

describe.skipIf(unavailable)("PgDatabase", () => {
  it.live("layers migrating one fresh schema at the same time all start, and each migration is recorded once", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      // Six nodes starting together: each opens the job store and the security store (two components).
      const nodes = yield* Effect.all(
        Array.from({ length: 6 }, () => Layer.build(PgStorage.layer({ connectionString: url, schema, max: 2 }))),
        { concurrency: "unbounded" }
      )
      const records = yield* admin<{ component: string; version: number; n: number }>(
        `SELECT component, version, count(*)::int AS n FROM "${schema}".geojobs_migrations
         GROUP BY component, version ORDER BY component, version`
      )
      assert.deepStrictEqual(records, [
        ...PgJobStore.migrations.steps.map((_, i) => ({ component: "jobs", version: i + 1, n: 1 })),
        ...PgNotifications.migrations.steps.map((_, i) => ({ component: "notifications", version: i + 1, n: 1 })),
        ...PgSecurityStore.migrations.steps.map((_, i) => ({ component: "security", version: i + 1, n: 1 }))
      ])
      // Every node works on the one schema: what one writes, the others read.
      const first = nodes[0]
      if (first === undefined) return assert.fail("no node started")
      yield* Context.get(first, SecurityStore.SecurityStore).createUser({
        username: "admin",
        passwordHash: "h",
        role: "administrator",
        fullName: "",
        created: 1,
        disabled: false
      })
      for (const node of nodes) {
        assert.strictEqual(yield* Context.get(node, SecurityStore.SecurityStore).countUsers(), 1)
        assert.deepStrictEqual(yield* Context.get(node, JobQueue.JobQueue).countByStatus(), {})
        assert.strictEqual((yield* Context.get(node, JobStore.JobStore).query({})).total, 0)
      }
    }).pipe(Effect.scoped)
  )

  it.live("a node started on an up-to-date schema runs no migration", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      yield* Layer.build(PgJobStore.layer({ connectionString: url, schema }))
      const before = yield* admin<{ applied: string }>(`SELECT applied::text FROM "${schema}".geojobs_migrations`)
      yield* Layer.build(PgJobStore.layer({ connectionString: url, schema }))
      const after = yield* admin<{ applied: string }>(`SELECT applied::text FROM "${schema}".geojobs_migrations`)
      assert.deepStrictEqual(after, before)
    }).pipe(Effect.scoped)
  )

  it.live("a store whose database the network stops answering fails in seconds: its start, and its statements", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const gate = yield* Effect.acquireRelease(
        Effect.promise(() => TcpProxy.make(0, new URL(url))),
        (g) => Effect.promise(() => g.close())
      )
      const options = { connectionString: gate.url, schema, connectTimeoutMs: 300, statementTimeoutMs: 300 }
      const store = Context.get(yield* Layer.build(PgJobStore.layer(options)), JobStore.JobStore)
      gate.freeze()
      // A statement on a connection the pool holds, then one that needs a new connection: each fails, in time.
      const times: Array<number> = []
      for (let i = 0; i < 2; i++) {
        const t0 = Date.now()
        const read = yield* Effect.flip(store.getSummary("j-none"))
        times.push(Date.now() - t0)
        assert.strictEqual(read._tag, "JobStoreError")
      }
      // A node starting meanwhile stops, instead of waiting for the network.
      const t0 = Date.now()
      const started = yield* Effect.exit(Layer.build(PgJobStore.layer(options)))
      times.push(Date.now() - t0)
      assert.isTrue(Exit.isFailure(started), "the start failed")
      console.log(`frozen network: statement failed after ${times[0]} and ${times[1]} ms, a start after ${times[2]} ms`)
      // Bounds for a loaded machine; unbounded, each of these waited for good.
      for (const ms of times) assert.isBelow(ms, 10_000)
      gate.thaw()
      const back = yield* Effect.flip(store.getSummary("j-none"))
      assert.strictEqual(back._tag, "NoSuchJob", "answered again once the network carries bytes")
    }).pipe(Effect.scoped)
  )
})
