import { assert, describe, it } from "@effect/vitest"
import { SecurityStore } from "@geojobs/core"
import { SecurityStoreSuite } from "@geojobs/core/testing"
import { Context, Effect, Layer } from "effect"
import * as PgDatabase from "../src/PgDatabase.ts"
import * as PgSecurityStore from "../src/PgSecurityStore.ts"
import { admin, freshSchema, onFreshSchema, unavailable, unreachable, url } from "../src/testing/TestDatabase.ts"

const fresh = () => onFreshSchema((schema) => PgSecurityStore.layer({ connectionString: url, schema, max: 4 }))

describe.skipIf(unavailable)("PgSecurityStore passes the SecurityStore contract (a fresh schema per case)", () => {
  for (const [name, test] of Object.entries(SecurityStoreSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(fresh())))
  }
})

describe.skipIf(unavailable)("PgSecurityStore", () => {
  it.effect("a schema made before users could be disabled opens with every user enabled", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const onlyFirst = { ...PgSecurityStore.migrations, steps: PgSecurityStore.migrations.steps.slice(0, 1) }
      yield* Effect.scoped(
        PgDatabase.acquire({ connectionString: url, schema }, onlyFirst, (operation, cause) => ({ operation, cause }))
      ).pipe(Effect.orDie)
      yield* admin(
        `INSERT INTO "${schema}".users (username, password, role, full_name, created) VALUES ($1, $2, $3, $4, $5)`,
        ["old", "h", "administrator", "", 5]
      )
      const [user, after, versions] = yield* SecurityStore.SecurityStore.use((s) =>
        Effect.gen(function* () {
          const before = yield* s.getUser("old")
          yield* s.insertToken({ digest: "d", username: "old", expires: 99, referer: null, ip: null, created: 1 })
          yield* s.updateUser("old", { disabled: true })
          const rows = yield* admin<{ version: number }>(
            `SELECT version FROM "${schema}".geojobs_migrations WHERE component = 'security' ORDER BY version`
          )
          return [before, yield* s.getUser("old"), rows.map((r) => r.version)] as const
        })
      ).pipe(Effect.provide(PgSecurityStore.layer({ connectionString: url, schema })))
      assert.deepStrictEqual(user, {
        username: "old",
        passwordHash: "h",
        role: "administrator",
        fullName: "",
        created: 5,
        disabled: false
      })
      assert.strictEqual(after.disabled, true)
      assert.deepStrictEqual(versions, [1, 2, 3])
    }).pipe(Effect.scoped)
  )

  it.effect("a token issued while its user is being disabled is refused or revoked, never kept", () =>
    Effect.gen(function* () {
      const store = yield* SecurityStore.SecurityStore
      const user = { username: "ann", passwordHash: "h", role: "user", fullName: "", created: 1, disabled: false }
      for (let round = 0; round < 20; round++) {
        yield* store.createUser(user)
        yield* Effect.all(
          [
            Effect.ignore(
              store.insertToken({
                digest: `t${round}`,
                username: "ann",
                expires: 99,
                referer: null,
                ip: null,
                created: 1
              })
            ),
            store.updateUser("ann", { disabled: true })
          ],
          { concurrency: "unbounded" }
        )
        const found = yield* Effect.result(store.findToken(`t${round}`))
        assert.strictEqual(found._tag, "Failure", `round ${round}: a disabled user kept a token`)
        yield* store.deleteUser("ann")
      }
    }).pipe(Effect.provide(fresh()))
  )

  it.effect("a schema made before services could be stopped opens with every service started", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const firstTwo = { ...PgSecurityStore.migrations, steps: PgSecurityStore.migrations.steps.slice(0, 2) }
      yield* Effect.scoped(
        PgDatabase.acquire({ connectionString: url, schema }, firstTwo, (operation, cause) => ({ operation, cause }))
      ).pipe(Effect.orDie)
      const [before, after] = yield* SecurityStore.SecurityStore.use((s) =>
        Effect.gen(function* () {
          const first = yield* s.getServiceStatus("System/Utilities")
          yield* s.putServiceStatus({ service: "System/Utilities", status: "STOPPED", changed: 7, changedBy: "admin" })
          return [first, yield* s.getServiceStatus("System/Utilities")] as const
        })
      ).pipe(Effect.provide(PgSecurityStore.layer({ connectionString: url, schema })))
      assert.strictEqual(before, undefined)
      assert.deepStrictEqual(after, { service: "System/Utilities", status: "STOPPED", changed: 7, changedBy: "admin" })
    }).pipe(Effect.scoped)
  )

  it.effect(
    "a service stopped through one node is stopped on another node of the same database, and after a restart",
    () =>
      Effect.gen(function* () {
        const schema = yield* freshSchema
        yield* SecurityStoreSuite.sharedBetweenOpenings(
          Effect.map(Layer.build(PgSecurityStore.layer({ connectionString: url, schema, max: 2 })), (c) =>
            Context.get(c, SecurityStore.SecurityStore)
          )
        )
      }).pipe(Effect.scoped)
  )

  it.effect("an unreachable database fails the layer with a SecurityStoreError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        SecurityStore.SecurityStore.use((s) => s.countUsers()).pipe(Effect.provide(PgSecurityStore.layer(unreachable)))
      )
      assert.strictEqual(error._tag, "SecurityStoreError")
      assert.include(error.message, "migrate security")
    })
  )
})
