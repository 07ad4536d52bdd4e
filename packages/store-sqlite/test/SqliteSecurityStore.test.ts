import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { SecurityStore } from "@geojobs/core"
import { SecurityStoreSuite } from "@geojobs/core/testing"
import { Effect } from "effect"
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
