import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { SecurityStore } from "@geojobs/core"
import { SecurityStoreSuite } from "@geojobs/core/testing"
import { Context, Effect, Layer } from "effect"
import * as SqliteDatabase from "../src/SqliteDatabase.ts"
import * as SqliteSecurityStore from "../src/SqliteSecurityStore.ts"

const dir = mkdtempSync(join(tmpdir(), "geojobs-security-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = () => SqliteSecurityStore.layer({ filename: join(dir, `security-${++n}.sqlite`) })

describe("SqliteSecurityStore passes the SecurityStore contract (a real database file per case)", () => {
  for (const [name, test] of Object.entries(SecurityStoreSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(fresh())))
  }
})

describe("SqliteSecurityStore", () => {
  it.effect("keeps users and tokens across a close and reopen, and shares them between connections", () =>
    Effect.gen(function* () {
      const filename = join(dir, "reopen.sqlite")
      const user = { username: "ann", passwordHash: "h", role: "user", fullName: "Ann", created: 1, disabled: false }
      const token = { digest: "d", username: "ann", expires: 99, referer: null, ip: "10.0.0.1", created: 1 }
      yield* SecurityStore.SecurityStore.use((s) => Effect.andThen(s.createUser(user), s.insertToken(token))).pipe(
        Effect.provide(SqliteSecurityStore.layer({ filename }))
      )
      const [again, grant] = yield* SecurityStore.SecurityStore.use((s) =>
        Effect.all([s.getUser("ann"), s.findToken("d")])
      ).pipe(Effect.provide(SqliteSecurityStore.layer({ filename })))
      assert.deepStrictEqual(again, user)
      assert.deepStrictEqual(grant, { username: "ann", role: "user", expires: 99, referer: null, ip: "10.0.0.1" })
    })
  )

  it.effect("a token looked up again answers from memory only while no connection has changed the file", () =>
    Effect.gen(function* () {
      const filename = join(dir, "remembered.sqlite")
      const user = { username: "ann", passwordHash: "h", role: "user", fullName: "Ann", created: 1, disabled: false }
      const token = { digest: "d", username: "ann", expires: 99, referer: null, ip: null, created: 1 }
      const one = yield* Layer.build(SqliteSecurityStore.layer({ filename }))
      const two = yield* Layer.build(SqliteSecurityStore.layer({ filename }))
      const a = Context.get(one, SecurityStore.SecurityStore)
      const b = Context.get(two, SecurityStore.SecurityStore)
      yield* a.createUser(user)
      // Unknown to B, remembered so; then A inserts it: B sees it (another connection committed).
      assert.strictEqual((yield* Effect.flip(b.findToken("d")))._tag, "NoSuchToken")
      yield* a.insertToken(token)
      assert.strictEqual((yield* b.findToken("d")).role, "user")
      assert.strictEqual((yield* b.findToken("d")).role, "user")
      // A role change revokes the user's tokens: through A, seen by B at its next lookup.
      yield* a.updateUser("ann", { role: "publisher" })
      assert.strictEqual((yield* Effect.flip(b.findToken("d")))._tag, "NoSuchToken")
      // A new token through B, which A remembered as unknown: A sees it.
      assert.strictEqual((yield* Effect.flip(a.findToken("d")))._tag, "NoSuchToken")
      yield* b.insertToken(token)
      assert.strictEqual((yield* a.findToken("d")).role, "publisher")
      assert.strictEqual((yield* b.findToken("d")).role, "publisher")
      // Revoked through B: both see it gone.
      yield* b.deleteUserTokens("ann")
      assert.strictEqual((yield* Effect.flip(a.findToken("d")))._tag, "NoSuchToken")
      assert.strictEqual((yield* Effect.flip(b.findToken("d")))._tag, "NoSuchToken")
      // Changed behind both stores' backs (a raw connection): still seen.
      yield* a.insertToken(token)
      assert.strictEqual((yield* b.findToken("d")).username, "ann")
      const raw = new DatabaseSync(filename)
      raw.prepare("DELETE FROM tokens WHERE digest = ?").run("d")
      raw.close()
      assert.strictEqual((yield* Effect.flip(b.findToken("d")))._tag, "NoSuchToken")
    }).pipe(Effect.scoped)
  )

  it.effect("a file made before users could be disabled opens with every user enabled", () =>
    Effect.gen(function* () {
      const filename = join(dir, "before-disabled.sqlite")
      const old = SqliteDatabase.open({ filename }, SqliteSecurityStore.migrations.slice(0, 1))
      old
        .prepare("INSERT INTO users (username, password, role, full_name, created) VALUES (?, ?, ?, ?, ?)")
        .run("old", "h", "administrator", "", 5)
      old.close()
      const [user, after] = yield* SecurityStore.SecurityStore.use((s) =>
        Effect.gen(function* () {
          const before = yield* s.getUser("old")
          yield* s.insertToken({ digest: "d", username: "old", expires: 99, referer: null, ip: null, created: 1 })
          yield* s.updateUser("old", { disabled: true })
          return [before, yield* s.getUser("old")] as const
        })
      ).pipe(Effect.provide(SqliteSecurityStore.layer({ filename })))
      assert.deepStrictEqual(user, {
        username: "old",
        passwordHash: "h",
        role: "administrator",
        fullName: "",
        created: 5,
        disabled: false
      })
      assert.strictEqual(after.disabled, true)
    })
  )

  it.effect("a file made before services could be stopped opens with its users, and every service started", () =>
    Effect.gen(function* () {
      const filename = join(dir, "before-service-status.sqlite")
      const old = SqliteDatabase.open({ filename }, SqliteSecurityStore.migrations.slice(0, 2))
      old
        .prepare("INSERT INTO users (username, password, role, full_name, created, disabled) VALUES (?, ?, ?, ?, ?, ?)")
        .run("old", "h", "administrator", "", 5, 0)
      old.close()
      const [user, before, after] = yield* SecurityStore.SecurityStore.use((s) =>
        Effect.gen(function* () {
          const first = yield* s.getServiceStatus("System/Utilities")
          yield* s.putServiceStatus({ service: "System/Utilities", status: "STOPPED", changed: 7, changedBy: "old" })
          return [yield* s.getUser("old"), first, yield* s.getServiceStatus("System/Utilities")] as const
        })
      ).pipe(Effect.provide(SqliteSecurityStore.layer({ filename })))
      assert.strictEqual(user.role, "administrator")
      assert.strictEqual(before, undefined)
      assert.deepStrictEqual(after, { service: "System/Utilities", status: "STOPPED", changed: 7, changedBy: "old" })
    })
  )

  it.effect(
    "a service stopped through one connection is stopped for another open on the same file, and after a reopen",
    () =>
      Effect.gen(function* () {
        const filename = join(dir, "shared-status.sqlite")
        // Two connections open at once, as two server processes on one data folder have them.
        yield* SecurityStoreSuite.sharedBetweenOpenings(
          Effect.map(Layer.build(SqliteSecurityStore.layer({ filename })), (c) =>
            Context.get(c, SecurityStore.SecurityStore)
          )
        )
      })
  )

  it.effect("opening a path it cannot create fails with a SecurityStoreError naming the file", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        SecurityStore.SecurityStore.use((s) => s.countUsers()).pipe(
          Effect.provide(SqliteSecurityStore.layer({ filename: "/etc/hostname/sub/x.sqlite" }))
        )
      )
      assert.strictEqual(error._tag, "SecurityStoreError")
      assert.include(error.message, "/etc/hostname/sub/x.sqlite")
    })
  )
})
