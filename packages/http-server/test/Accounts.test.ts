import { createHash } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { SecurityStore } from "@geojobs/core"
import { SqliteDatabase, SqliteSecurityStore } from "@geojobs/store-sqlite"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Accounts, type AccountsShape, InvalidToken, TokenRequired } from "../src/Accounts.ts"
import { privileges } from "../src/Security.ts"
import type * as SignInThrottle from "../src/SignInThrottle.ts"

const dir = mkdtempSync(join(tmpdir(), "geojobs-security-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const newFile = () => join(dir, `security-${++n}.sqlite`)

/** Builds a store on `filename` in the test's scope; two calls on one file stand for two server processes. */
const open = (filename: string, maxTokenMinutes?: number, signInThrottle?: SignInThrottle.Options) =>
  Effect.map(
    Layer.build(
      Accounts.layer({ maxTokenMinutes, signInThrottle }).pipe(Layer.provide(SqliteSecurityStore.layer({ filename })))
    ),
    (context) => Context.get(context, Accounts)
  )

const password = "correct horse battery"
const t0 = Date.UTC(2026, 0, 1)
const minute = 60_000

/** A fresh store at a known time, with an `analyst` (user role) and a `boss` (publisher). */
const setup = (maxTokenMinutes?: number) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(t0)
    const filename = newFile()
    const store = yield* open(filename, maxTokenMinutes)
    yield* store.createUser({ username: "analyst", password, role: "user", fullName: "An Analyst" })
    yield* store.createUser({ username: "boss", password, role: "publisher" })
    return { store, filename }
  })

/** Every text value in every table of the file, to look for secrets that must not be there. */
const dump = (filename: string): string => {
  const db = SqliteDatabase.open({ filename }, [])
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>
    return JSON.stringify(tables.map((t) => db.prepare(`SELECT * FROM "${t.name}"`).all()))
  } finally {
    db.close()
  }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

describe("errors", () => {
  it("carry the ArcGIS codes and messages", () => {
    assert.strictEqual(new InvalidToken().code, 498)
    assert.strictEqual(new InvalidToken().message, "Invalid token.")
    assert.strictEqual(new TokenRequired().code, 499)
    assert.strictEqual(new TokenRequired().message, "Token Required")
  })
})

describe("authenticate", () => {
  it.effect("the right password gives the user's principal", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const principal = yield* store.authenticate("boss", password, "192.0.2.1")
      assert.strictEqual(principal.username, "boss")
      assert.strictEqual(principal.role, "publisher")
      assert.sameMembers([...principal.privileges], ["geoprocessing", "featureLayer", "viewJobs", "publish"])
    })
  )

  it.effect("a wrong password, an unknown user and a wrong-case username are all InvalidCredentials", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      for (const [username, pw] of [
        ["boss", "wrong password"],
        ["boss", password.toUpperCase()],
        ["nobody", password],
        ["BOSS", password]
      ] as const) {
        const error = yield* Effect.flip(store.authenticate(username, pw, "192.0.2.1"))
        assert.strictEqual(error._tag, "InvalidCredentials", `${username}/${pw}`)
        assert.strictEqual(error.message, "Invalid username or password.")
      }
    })
  )

  it.effect("an unknown user costs a password hash, like a wrong password", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const time = (username: string) =>
        Effect.gen(function* () {
          const start = performance.now()
          yield* Effect.flip(store.authenticate(username, "wrong password", "192.0.2.1"))
          return performance.now() - start
        })
      const wrong: Array<number> = []
      const unknown: Array<number> = []
      for (let i = 0; i < 5; i++) {
        wrong.push(yield* time("boss"))
        unknown.push(yield* time("nobody"))
      }
      // Without a decoy hash the unknown user answers in microseconds, against tens of milliseconds for scrypt.
      assert.isAbove(median(unknown), median(wrong) * 0.4, `unknown ${median(unknown)} ms, wrong ${median(wrong)} ms`)
    })
  )
})

describe("users", () => {
  it.effect("createUser refuses duplicates, unknown roles, short passwords and odd names", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const exists = yield* Effect.flip(store.createUser({ username: "boss", password, role: "user" }))
      assert.strictEqual(exists._tag, "UserExists")
      assert.include(exists.message, "boss")
      const role = yield* Effect.flip(store.createUser({ username: "x", password, role: "superuser" }))
      assert.strictEqual(role._tag, "UnknownRole")
      assert.include(role.message, "superuser")
      const short = yield* Effect.flip(store.createUser({ username: "x", password: "1234567", role: "user" }))
      assert.strictEqual(short._tag, "InvalidAccount")
      assert.include(short.message, "8")
      const name = yield* Effect.flip(store.createUser({ username: "a b", password, role: "user" }))
      assert.strictEqual(name._tag, "InvalidAccount")
      assert.strictEqual((yield* store.listUsers()).length, 2)
    })
  )

  it.effect("listUsers and getUser never show password hashes", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const users = yield* store.listUsers()
      assert.deepStrictEqual(users, [
        { username: "analyst", role: "user", fullName: "An Analyst", created: t0, disabled: false },
        { username: "boss", role: "publisher", fullName: "", created: t0, disabled: false }
      ])
      assert.deepStrictEqual(yield* store.getUser("analyst"), users[0])
      assert.notInclude(JSON.stringify(users), "scrypt")
      assert.strictEqual((yield* Effect.flip(store.getUser("nobody")))._tag, "NoSuchUser")
    })
  )

  it.effect("stores passwords as salted scrypt hashes, never the password", () =>
    Effect.gen(function* () {
      const { store, filename } = yield* setup()
      const text = dump(filename)
      assert.notInclude(text, password)
      const db = SqliteDatabase.open({ filename }, [])
      const rows = db.prepare("SELECT password FROM users ORDER BY username").all() as Array<{ password: string }>
      db.close()
      assert.lengthOf(rows, 2)
      for (const row of rows) assert.match(row.password, /^scrypt\$/)
      // Same password, different salts: different stored values.
      assert.notStrictEqual(rows[0]?.password, rows[1]?.password)
      yield* store.authenticate("analyst", password, "192.0.2.1")
    })
  )

  it.effect("setPassword replaces the password; setRole and setPassword check their arguments", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      yield* store.setPassword("analyst", "a new long password")
      assert.strictEqual(
        (yield* Effect.flip(store.authenticate("analyst", password, "192.0.2.1")))._tag,
        "InvalidCredentials"
      )
      assert.strictEqual((yield* store.authenticate("analyst", "a new long password", "192.0.2.1")).username, "analyst")
      assert.strictEqual((yield* Effect.flip(store.setPassword("analyst", "short")))._tag, "InvalidAccount")
      assert.strictEqual((yield* Effect.flip(store.setPassword("nobody", "long enough")))._tag, "NoSuchUser")
      assert.strictEqual((yield* Effect.flip(store.setRole("analyst", "superuser")))._tag, "UnknownRole")
      assert.strictEqual((yield* Effect.flip(store.setRole("nobody", "user")))._tag, "NoSuchUser")
      assert.strictEqual((yield* store.getUser("analyst")).role, "user")
    })
  )

  it.effect("deleteUser removes the user; an unknown user is NoSuchUser", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      yield* store.deleteUser("analyst")
      assert.deepStrictEqual(
        (yield* store.listUsers()).map((u) => u.username),
        ["boss"]
      )
      assert.strictEqual(
        (yield* Effect.flip(store.authenticate("analyst", password, "192.0.2.1")))._tag,
        "InvalidCredentials"
      )
      assert.strictEqual((yield* Effect.flip(store.deleteUser("analyst")))._tag, "NoSuchUser")
    })
  )
})

describe("roles", () => {
  it.effect("listRoles: the four built-in roles and the custom ones, with their privileges", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      yield* store.createRole({ name: "jobWatcher", privileges: ["viewJobs", "geoprocessing", "viewJobs"] })
      const roles = yield* store.listRoles()
      assert.deepStrictEqual(
        roles.map((r) => [r.name, r.builtin]),
        [
          ["administrator", true],
          ["publisher", true],
          ["user", true],
          ["viewer", true],
          ["jobWatcher", false]
        ]
      )
      assert.sameMembers([...(roles.find((r) => r.name === "administrator")?.privileges ?? [])], [...privileges])
      assert.sameMembers(
        [...(roles.find((r) => r.name === "jobWatcher")?.privileges ?? [])],
        ["viewJobs", "geoprocessing"]
      )
    })
  )

  it.effect("a custom role gives its users exactly its privileges", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      yield* store.createRole({ name: "jobManager", privileges: ["manageJobs", "viewJobs"] })
      yield* store.createUser({ username: "ops", password, role: "jobManager" })
      const principal = yield* store.authenticate("ops", password, "192.0.2.1")
      assert.strictEqual(principal.role, "jobManager")
      assert.sameMembers([...principal.privileges], ["manageJobs", "viewJobs"])
    })
  )

  it.effect("createRole refuses unknown privileges (naming them) and built-in names", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const unknown = yield* Effect.flip(store.createRole({ name: "odd", privileges: ["viewJobs", "rootAccess"] }))
      assert.strictEqual(unknown._tag, "InvalidAccount")
      assert.include(unknown.message, "rootAccess")
      const builtin = yield* Effect.flip(store.createRole({ name: "publisher", privileges: ["viewJobs"] }))
      assert.strictEqual(builtin._tag, "InvalidAccount")
      assert.include(builtin.message, "publisher")
      assert.lengthOf(yield* store.listRoles(), 4)
    })
  )

  it.effect("deleteRole: not built-in ones, not one in use, UnknownRole for none", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      yield* store.createRole({ name: "jobWatcher", privileges: ["viewJobs"] })
      yield* store.createRole({ name: "spare", privileges: [] })
      yield* store.createUser({ username: "watcher", password, role: "jobWatcher" })
      assert.strictEqual((yield* Effect.flip(store.deleteRole("administrator")))._tag, "InvalidAccount")
      const inUse = yield* Effect.flip(store.deleteRole("jobWatcher"))
      assert.strictEqual(inUse._tag, "InvalidAccount")
      assert.include(inUse.message, "jobWatcher")
      yield* store.deleteRole("spare")
      assert.strictEqual((yield* Effect.flip(store.deleteRole("spare")))._tag, "UnknownRole")
      assert.deepStrictEqual(
        (yield* store.listRoles()).filter((r) => !r.builtin).map((r) => r.name),
        ["jobWatcher"]
      )
      assert.strictEqual(
        (yield* Effect.flip(store.createUser({ username: "y", password, role: "spare" })))._tag,
        "UnknownRole"
      )
    })
  )
})

describe("tokens", () => {
  it.effect("issue → verify gives the user's principal; the token is 32 random bytes in base64url", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const issued = yield* store.issueToken({ username: "boss", client: "requestip", ip: "10.0.0.1" })
      assert.match(issued.token, /^[A-Za-z0-9_-]{43}$/)
      assert.strictEqual(issued.expires, t0 + 60 * minute)
      assert.isFalse(issued.ssl)
      const principal = yield* store.verifyToken(issued.token, { ip: "10.0.0.1" })
      assert.strictEqual(principal.username, "boss")
      assert.strictEqual(principal.role, "publisher")
      assert.isTrue(principal.privileges.has("publish"))
      const again = yield* store.issueToken({ username: "boss", client: "requestip", ip: "10.0.0.1" })
      assert.notStrictEqual(again.token, issued.token)
      assert.strictEqual(
        (yield* Effect.flip(store.issueToken({ username: "nobody", client: "requestip" })))._tag,
        "NoSuchUser"
      )
    })
  )

  it.effect("an unknown or malformed token is InvalidToken (498)", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      for (const token of ["", "forged", "A".repeat(43)]) {
        const error = yield* Effect.flip(store.verifyToken(token, {}))
        assert.strictEqual(error._tag, "InvalidToken", token)
        assert.strictEqual("code" in error ? error.code : undefined, 498)
      }
    })
  )

  it.effect("a token expires after expirationMinutes", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const { token, expires } = yield* store.issueToken({
        username: "analyst",
        client: "requestip",
        expirationMinutes: 5
      })
      assert.strictEqual(expires, t0 + 5 * minute)
      yield* TestClock.adjust(5 * minute - 1000)
      assert.strictEqual((yield* store.verifyToken(token, {})).username, "analyst")
      yield* TestClock.adjust(1000)
      const error = yield* Effect.flip(store.verifyToken(token, {}))
      assert.strictEqual(error._tag, "InvalidToken")
    })
  )

  it.effect("expiration defaults to 60, is capped at maxTokenMinutes (default 14 days), and is at least 1", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const expires = (expirationMinutes?: number) =>
        Effect.map(
          store.issueToken(
            expirationMinutes === undefined
              ? { username: "analyst", client: "requestip" }
              : { username: "analyst", client: "requestip", expirationMinutes }
          ),
          (t) => (t.expires - t0) / minute
        )
      assert.strictEqual(yield* expires(), 60)
      assert.strictEqual(yield* expires(90), 90)
      assert.strictEqual(yield* expires(1_000_000), 20_160)
      assert.strictEqual(yield* expires(0), 1)
      assert.strictEqual(yield* expires(-30), 1)
      const capped = (yield* setup(120)).store
      const long = yield* capped.issueToken({ username: "analyst", client: "requestip", expirationMinutes: 10_000 })
      assert.strictEqual(long.expires, t0 + 120 * minute)
    })
  )

  it.effect("a referer-bound token needs a matching Referer (origin compared leniently)", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const { token } = yield* store.issueToken({
        username: "boss",
        client: "referer",
        referer: "https://app.example.com/"
      })
      for (const referer of [
        "https://app.example.com",
        "https://app.example.com/",
        "HTTPS://App.Example.COM",
        "https://app.example.com/viewer/index.html?x=1"
      ]) {
        assert.strictEqual((yield* store.verifyToken(token, { referer })).username, "boss", referer)
      }
      for (const request of [
        { referer: "https://evil.example.com/" },
        { referer: "https://app.example.com.evil.net/" },
        { referer: "http://app.example.com/" },
        { referer: "https://app.example.com:8443/" },
        {},
        { ip: "10.0.0.1" }
      ]) {
        const error = yield* Effect.flip(store.verifyToken(token, request))
        assert.strictEqual(error._tag, "RefererMismatch", JSON.stringify(request))
        assert.strictEqual("code" in error ? error.code : undefined, 498)
        assert.include(error.message.toLowerCase(), "referer")
      }
    })
  )

  it.effect("an ip-bound token (client ip or requestip) needs the same address", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      for (const client of ["ip", "requestip"] as const) {
        const { token } = yield* store.issueToken({ username: "analyst", client, ip: "192.0.2.7" })
        assert.strictEqual((yield* store.verifyToken(token, { ip: "192.0.2.7" })).username, "analyst")
        for (const request of [{ ip: "192.0.2.8" }, {}, { referer: "https://app.example.com" }]) {
          const error = yield* Effect.flip(store.verifyToken(token, request))
          assert.strictEqual(error._tag, "RefererMismatch", `${client} ${JSON.stringify(request)}`)
          assert.strictEqual("code" in error ? error.code : undefined, 498)
        }
      }
    })
  )

  it.effect("revokeToken invalidates that token at once, even one just used", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const a = yield* store.issueToken({ username: "analyst", client: "requestip" })
      const b = yield* store.issueToken({ username: "analyst", client: "requestip" })
      yield* store.verifyToken(a.token, {})
      yield* store.revokeToken(a.token)
      assert.strictEqual((yield* Effect.flip(store.verifyToken(a.token, {})))._tag, "InvalidToken")
      assert.strictEqual((yield* store.verifyToken(b.token, {})).username, "analyst")
    })
  )

  it.effect("revokeUserTokens invalidates all of one user's tokens and no one else's", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const a = yield* store.issueToken({ username: "analyst", client: "requestip" })
      const b = yield* store.issueToken({ username: "analyst", client: "referer", referer: "https://a.example" })
      const other = yield* store.issueToken({ username: "boss", client: "requestip" })
      yield* store.verifyToken(a.token, {})
      yield* store.revokeUserTokens("analyst")
      assert.strictEqual((yield* Effect.flip(store.verifyToken(a.token, {})))._tag, "InvalidToken")
      const bError = yield* Effect.flip(store.verifyToken(b.token, { referer: "https://a.example" }))
      assert.strictEqual(bError._tag, "InvalidToken")
      assert.strictEqual((yield* store.verifyToken(other.token, {})).username, "boss")
    })
  )

  it.effect("deleting the user invalidates their tokens, also after a user of that name is created again", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const { token } = yield* store.issueToken({ username: "analyst", client: "requestip" })
      yield* store.verifyToken(token, {})
      yield* store.deleteUser("analyst")
      assert.strictEqual((yield* Effect.flip(store.verifyToken(token, {})))._tag, "InvalidToken")
      yield* store.createUser({ username: "analyst", password, role: "administrator" })
      assert.strictEqual((yield* Effect.flip(store.verifyToken(token, {})))._tag, "InvalidToken")
    })
  )

  it.effect("a role change revokes the user's tokens; a new token carries the new role", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const { token } = yield* store.issueToken({ username: "analyst", client: "requestip" })
      const before = yield* store.verifyToken(token, {})
      assert.strictEqual(before.role, "user")
      assert.isFalse(before.privileges.has("publish"))
      yield* store.setRole("analyst", "publisher")
      assert.strictEqual((yield* Effect.flip(store.verifyToken(token, {})))._tag, "InvalidToken")
      const again = yield* store.issueToken({ username: "analyst", client: "requestip" })
      const after = yield* store.verifyToken(again.token, {})
      assert.strictEqual(after.role, "publisher")
      assert.isTrue(after.privileges.has("publish"))
    })
  )

  it.effect("a custom role's changed privileges show on the next verify of its users' tokens", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      yield* store.createRole({ name: "reviewers", privileges: ["viewJobs"] })
      yield* store.createUser({ username: "rita", password, role: "reviewers" })
      const { token } = yield* store.issueToken({ username: "rita", client: "requestip" })
      assert.sameMembers([...(yield* store.verifyToken(token, {})).privileges], ["viewJobs"])
      yield* store.createRole({ name: "reviewers", privileges: ["viewJobs", "manageJobs"] })
      assert.sameMembers([...(yield* store.verifyToken(token, {})).privileges], ["viewJobs", "manageJobs"])
    })
  )

  it.effect("only a SHA-256 digest of a token is stored", () =>
    Effect.gen(function* () {
      const { store, filename } = yield* setup()
      const { token } = yield* store.issueToken({ username: "boss", client: "referer", referer: "https://a.example" })
      const text = dump(filename)
      assert.notInclude(text, token)
      assert.notInclude(text, Buffer.from(token, "base64url").toString("hex"))
      const db = SqliteDatabase.open({ filename }, [])
      const rows = db.prepare("SELECT * FROM tokens").all() as Array<Record<string, unknown>>
      db.close()
      assert.lengthOf(rows, 1)
      assert.include(Object.values(rows[0] ?? {}), createHash("sha256").update(token).digest("hex"))
      assert.strictEqual(rows[0]?.username, "boss")
      assert.strictEqual(rows[0]?.expires, t0 + 60 * minute)
    })
  )

  it.effect("purgeExpiredTokens deletes only expired rows", () =>
    Effect.gen(function* () {
      const { store, filename } = yield* setup()
      yield* store.issueToken({ username: "analyst", client: "requestip", expirationMinutes: 1 })
      const kept = yield* store.issueToken({ username: "analyst", client: "requestip", expirationMinutes: 60 })
      yield* TestClock.adjust(2 * minute)
      assert.strictEqual(yield* store.purgeExpiredTokens(), 1)
      const db = SqliteDatabase.open({ filename }, [])
      const count = (db.prepare("SELECT count(*) AS n FROM tokens").get() as { n: number }).n
      db.close()
      assert.strictEqual(count, 1)
      assert.strictEqual((yield* store.verifyToken(kept.token, {})).username, "analyst")
      assert.strictEqual(yield* store.purgeExpiredTokens(), 0)
    })
  )
})

describe("exchangeToken (token + serverUrl)", () => {
  it.effect("a valid token gives a new one with the same binding and remaining lifetime", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const referer = "https://app.example.com"
      const first = yield* store.issueToken({ username: "boss", client: "referer", referer, expirationMinutes: 30 })
      yield* TestClock.adjust(10 * minute)
      const second = yield* store.exchangeToken(first.token, "https://geo.example.com/arcgis/rest/services", {
        referer
      })
      assert.notStrictEqual(second.token, first.token)
      assert.strictEqual(second.expires, first.expires)
      assert.isFalse(second.ssl)
      assert.strictEqual((yield* store.verifyToken(second.token, { referer })).username, "boss")
      const unbound = yield* Effect.flip(store.verifyToken(second.token, { referer: "https://evil.example.com" }))
      assert.strictEqual(unbound._tag, "RefererMismatch")
      yield* TestClock.adjust(20 * minute)
      assert.strictEqual((yield* Effect.flip(store.verifyToken(second.token, { referer })))._tag, "InvalidToken")
    })
  )

  it.effect("an invalid, revoked or expired token cannot be exchanged", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const url = "https://geo.example.com/arcgis"
      assert.strictEqual((yield* Effect.flip(store.exchangeToken("forged", url, {})))._tag, "InvalidToken")
      const revoked = yield* store.issueToken({ username: "analyst", client: "requestip" })
      yield* store.revokeToken(revoked.token)
      assert.strictEqual((yield* Effect.flip(store.exchangeToken(revoked.token, url, {})))._tag, "InvalidToken")
      const short = yield* store.issueToken({ username: "analyst", client: "requestip", expirationMinutes: 1 })
      yield* TestClock.adjust(2 * minute)
      assert.strictEqual((yield* Effect.flip(store.exchangeToken(short.token, url, {})))._tag, "InvalidToken")
    })
  )
})

describe("bootstrapAdmin", () => {
  it.effect("with a given password creates admin (administrator) once and returns no password", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(t0)
      const store = yield* open(newFile())
      const first = yield* store.bootstrapAdmin("the admin password")
      assert.deepStrictEqual(first, { created: true })
      const admin = yield* store.authenticate("admin", "the admin password", "192.0.2.1")
      assert.strictEqual(admin.role, "administrator")
      assert.deepStrictEqual(yield* store.bootstrapAdmin("another password"), { created: false })
      yield* store.authenticate("admin", "the admin password", "192.0.2.1")
      assert.lengthOf(yield* store.listUsers(), 1)
    })
  )

  it.effect("without a password generates a strong one, returned only the first time", () =>
    Effect.gen(function* () {
      const store = yield* open(newFile())
      const first = yield* store.bootstrapAdmin(undefined)
      assert.isTrue(first.created)
      const generated = first.password ?? ""
      assert.isAtLeast(generated.length, 16)
      assert.strictEqual((yield* store.authenticate("admin", generated, "192.0.2.1")).role, "administrator")
      const second = yield* store.bootstrapAdmin(undefined)
      assert.deepStrictEqual(second, { created: false })
      assert.isUndefined(second.password)
      // A second fresh store gets a different password.
      const other = yield* (yield* open(newFile())).bootstrapAdmin(undefined)
      assert.notStrictEqual(other.password, generated)
    })
  )

  it.effect("does nothing when any user exists, and refuses a short password", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      assert.deepStrictEqual(yield* store.bootstrapAdmin(undefined), { created: false })
      assert.strictEqual((yield* Effect.flip(store.getUser("admin")))._tag, "NoSuchUser")
      const empty = yield* open(newFile())
      assert.strictEqual((yield* Effect.flip(empty.bootstrapAdmin("short")))._tag, "InvalidAccount")
      assert.lengthOf(yield* empty.listUsers(), 0)
    })
  )
})

describe("bootstrapAdmin on several nodes starting at once", () => {
  // Each store has its own connection to one file, as nodes started together on a fresh data folder do.
  const nodes = 8

  it.effect("with a given password: every bootstrap succeeds, one creates admin, the password works", () =>
    Effect.gen(function* () {
      const filename = newFile()
      const stores = yield* Effect.all(
        Array.from({ length: nodes }, () => open(filename)),
        { concurrency: "unbounded" }
      )
      const results = yield* Effect.all(
        stores.map((store) => store.bootstrapAdmin("the admin password")),
        { concurrency: "unbounded" }
      )
      assert.lengthOf(results, nodes)
      assert.strictEqual(results.filter((r) => r.created).length, 1)
      for (const store of stores) {
        assert.strictEqual(
          (yield* store.authenticate("admin", "the admin password", "192.0.2.1")).role,
          "administrator"
        )
      }
      assert.deepStrictEqual(
        (yield* stores[0]!.listUsers()).map((u) => u.username),
        ["admin"]
      )
    })
  )

  it.effect("generated passwords: only the node that created admin prints one, and it is the one that works", () =>
    Effect.gen(function* () {
      const filename = newFile()
      const stores = yield* Effect.all(
        Array.from({ length: nodes }, () => open(filename)),
        { concurrency: "unbounded" }
      )
      const results = yield* Effect.all(
        stores.map((store) => store.bootstrapAdmin(undefined)),
        { concurrency: "unbounded" }
      )
      const winners = results.filter((r) => r.created)
      assert.lengthOf(winners, 1)
      assert.isTrue(results.every((r) => r.created || r.password === undefined))
      const generated = winners[0]?.password ?? ""
      assert.isAtLeast(generated.length, 16)
      assert.strictEqual(
        (yield* stores[nodes - 1]!.authenticate("admin", generated, "192.0.2.1")).role,
        "administrator"
      )
    })
  )

  /** Accounts over a SQLite store whose `createUser` is replaced. */
  const withCreateUser = (filename: string, createUser: SecurityStore.SecurityStoreShape["createUser"]) =>
    Effect.map(
      Layer.build(
        Accounts.layer().pipe(
          Layer.provide(
            Layer.effect(
              SecurityStore.SecurityStore,
              Effect.map(SecurityStore.SecurityStore, (store) => ({ ...store, createUser }))
            ).pipe(Layer.provide(SqliteSecurityStore.layer({ filename })))
          )
        )
      ),
      (context) => Context.get(context, Accounts)
    )

  it.effect("a store that reports the lost insert as a plain store failure: done too, when admin is there", () =>
    Effect.gen(function* () {
      // What SQLite nodes in separate processes were measured to see: "UNIQUE constraint failed: users.username".
      const filename = newFile()
      const winner = yield* open(filename)
      const loser = yield* withCreateUser(filename, (user) =>
        Effect.andThen(
          Effect.orDie(winner.bootstrapAdmin("the admin password")),
          Effect.fail(
            new SecurityStore.SecurityStoreError({
              operation: "create user",
              cause: new Error(`UNIQUE constraint failed: users.username (${user.username})`)
            })
          )
        )
      )
      assert.deepStrictEqual(yield* loser.bootstrapAdmin("the admin password"), { created: false })
      yield* loser.authenticate("admin", "the admin password", "192.0.2.1")
      // Without admin in the store, the failure is a failure.
      const broken = yield* withCreateUser(newFile(), () =>
        Effect.fail(new SecurityStore.SecurityStoreError({ operation: "create user", cause: new Error("disk full") }))
      )
      assert.strictEqual((yield* Effect.flip(broken.bootstrapAdmin("the admin password")))._tag, "SecurityStoreError")
    })
  )
})

describe("several processes on one file", () => {
  it.effect("two stores on one file see each other's users, roles and tokens", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(t0)
      const filename = newFile()
      const a = yield* open(filename)
      const b = yield* open(filename)
      yield* a.createRole({ name: "jobWatcher", privileges: ["viewJobs"] })
      yield* a.createUser({ username: "watcher", password, role: "jobWatcher" })
      const principal = yield* b.authenticate("watcher", password, "192.0.2.1")
      assert.sameMembers([...principal.privileges], ["viewJobs"])
      const issued = yield* b.issueToken({ username: "watcher", client: "requestip" })
      assert.strictEqual((yield* a.verifyToken(issued.token, {})).username, "watcher")
      // A role change or a revocation in one process applies in the other at once.
      yield* b.setRole("watcher", "publisher")
      assert.strictEqual((yield* Effect.flip(a.verifyToken(issued.token, {})))._tag, "InvalidToken")
      const other = yield* b.issueToken({ username: "watcher", client: "requestip" })
      yield* a.revokeToken(other.token)
      assert.strictEqual((yield* Effect.flip(b.verifyToken(other.token, {})))._tag, "InvalidToken")
      assert.deepStrictEqual(
        (yield* b.listUsers()).map((u) => u.username),
        ["watcher"]
      )
    })
  )

  it.effect("a revocation, role change or deletion in another process applies at once, even to a token just used", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(t0)
      const filename = newFile()
      const a = yield* open(filename)
      const b = yield* open(filename)
      yield* a.createUser({ username: "u", password, role: "user" })
      yield* a.createUser({ username: "v", password, role: "user" })
      yield* a.createUser({ username: "w", password, role: "user" })
      const revoked = yield* a.issueToken({ username: "u", client: "requestip" })
      const kept = yield* a.issueToken({ username: "u", client: "requestip" })
      const deleted = yield* a.issueToken({ username: "v", client: "requestip" })
      const promoted = yield* a.issueToken({ username: "w", client: "requestip" })
      for (const t of [revoked, kept, deleted, promoted]) yield* b.verifyToken(t.token, {})
      yield* a.revokeToken(revoked.token)
      yield* a.setRole("w", "publisher")
      yield* a.deleteUser("v")
      assert.strictEqual((yield* Effect.flip(b.verifyToken(revoked.token, {})))._tag, "InvalidToken")
      assert.strictEqual((yield* b.verifyToken(kept.token, {})).username, "u")
      assert.strictEqual((yield* Effect.flip(b.verifyToken(deleted.token, {})))._tag, "InvalidToken")
      assert.strictEqual((yield* Effect.flip(b.verifyToken(promoted.token, {})))._tag, "InvalidToken")
    })
  )

  it.effect("a store reopened on its file keeps users and tokens", () =>
    Effect.gen(function* () {
      const { store, filename } = yield* setup()
      const { token } = yield* store.issueToken({ username: "boss", client: "requestip" })
      const reopened = yield* open(filename)
      assert.strictEqual((yield* reopened.verifyToken(token, {})).username, "boss")
      const db = SqliteDatabase.open({ filename }, [])
      const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version
      const mode = (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode
      db.close()
      assert.isAbove(version, 0)
      assert.strictEqual(mode, "wal")
    })
  )
})

describe("account changes revoke tokens at once", () => {
  it.effect("a password change, a role change and disabling each revoke every token of that user, no one else's", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const bosses = yield* store.issueToken({ username: "boss", client: "requestip" })
      const changes: ReadonlyArray<readonly [string, Effect.Effect<void, unknown>]> = [
        ["password", store.setPassword("analyst", "another long password")],
        ["role", store.setRole("analyst", "viewer")],
        ["disable", store.setDisabled("analyst", true)]
      ]
      for (const [what, change] of changes) {
        yield* store.setDisabled("analyst", false)
        const first = yield* store.issueToken({ username: "analyst", client: "requestip" })
        const second = yield* store.issueToken({ username: "analyst", client: "referer", referer: "https://a.example" })
        yield* store.verifyToken(first.token, {})
        yield* change
        for (const t of [first, second]) {
          const error = yield* Effect.flip(store.verifyToken(t.token, { referer: "https://a.example" }))
          assert.strictEqual(error._tag, "InvalidToken", what)
        }
      }
      assert.strictEqual((yield* store.verifyToken(bosses.token, {})).username, "boss")
    })
  )

  it.effect("a disabled user cannot sign in (like a wrong password) nor get a token; enabled again, they can", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      yield* store.setDisabled("analyst", true)
      assert.strictEqual((yield* store.getUser("analyst")).disabled, true)
      const error = yield* Effect.flip(store.authenticate("analyst", password, "192.0.2.1"))
      assert.strictEqual(error._tag, "InvalidCredentials")
      assert.strictEqual(
        (yield* Effect.flip(store.issueToken({ username: "analyst", client: "requestip" })))._tag,
        "NoSuchUser"
      )
      yield* store.setDisabled("analyst", false)
      assert.strictEqual((yield* store.authenticate("analyst", password, "192.0.2.1")).username, "analyst")
    })
  )

  it.effect("an exchanged token of a user disabled meanwhile is refused", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      const { token } = yield* store.issueToken({ username: "analyst", client: "requestip" })
      yield* store.setDisabled("analyst", true)
      const error = yield* Effect.flip(store.exchangeToken(token, "https://server.example/arcgis", {}))
      assert.strictEqual(error._tag, "InvalidToken")
    })
  )
})

describe("the last administrator", () => {
  it.effect("cannot be removed, demoted or disabled; with a second administrator, either can", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      yield* store.createUser({ username: "root", password, role: "administrator" })
      for (const attempt of [
        store.deleteUser("root"),
        store.setRole("root", "publisher"),
        store.setDisabled("root", true)
      ]) {
        const error = yield* Effect.flip(attempt)
        assert.strictEqual(error._tag, "InvalidAccount")
        assert.include(error.message, "last administrator")
      }
      assert.strictEqual((yield* store.getUser("root")).role, "administrator")
      assert.strictEqual((yield* store.getUser("root")).disabled, false)
      // A disabled administrator does not count as one who can manage the server.
      yield* store.createUser({ username: "second", password, role: "administrator" })
      yield* store.setDisabled("second", true)
      assert.strictEqual((yield* Effect.flip(store.setRole("root", "user")))._tag, "InvalidAccount")
      yield* store.setDisabled("second", false)
      yield* store.setRole("root", "publisher")
      assert.strictEqual((yield* Effect.flip(store.deleteUser("second")))._tag, "InvalidAccount")
      yield* store.setRole("root", "administrator")
      yield* store.deleteUser("second")
      yield* store.setRole("analyst", "viewer")
    })
  )

  it.effect("role names that are prototype keys are refused; such a role is never found", () =>
    Effect.gen(function* () {
      const { store } = yield* setup()
      for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
        const error = yield* Effect.flip(store.createRole({ name, privileges: ["viewJobs"] }))
        assert.strictEqual(error._tag, "InvalidAccount", name)
        const unknown = yield* Effect.flip(store.createUser({ username: `u${name.length}`, password, role: name }))
        assert.strictEqual(unknown._tag, "UnknownRole", name)
      }
      assert.deepStrictEqual(
        (yield* store.listRoles()).map((r) => r.name),
        ["administrator", "publisher", "user", "viewer"]
      )
    })
  )
})

describe("sign-in throttling", () => {
  const limits: SignInThrottle.Options = {
    perUserAndAddress: { failures: 3, windowSeconds: 600, blockSeconds: 600 },
    perUser: { failures: 6, windowSeconds: 600, blockSeconds: 600 },
    perAddress: { failures: 8, windowSeconds: 600, blockSeconds: 600 }
  }
  const throttled = () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(t0)
      const store = yield* open(newFile(), undefined, limits)
      for (const username of ["ann", "bob", "cat", "dan"]) yield* store.createUser({ username, password, role: "user" })
      return store
    })
  const attempt = (store: AccountsShape, username: string, pw: string, from: string) =>
    Effect.map(
      Effect.result(store.authenticate(username, pw, from)),
      (r) => (r._tag === "Success" ? "ok" : r.failure._tag) as string
    )

  it.effect("a user and address pair is blocked after its failures, even with the right password; others are not", () =>
    Effect.gen(function* () {
      const store = yield* throttled()
      for (let i = 0; i < 3; i++)
        assert.strictEqual(yield* attempt(store, "ann", "wrong", "10.0.0.1"), "InvalidCredentials")
      assert.strictEqual(yield* attempt(store, "ann", password, "10.0.0.1"), "TooManyAttempts")
      const error = yield* Effect.flip(store.authenticate("ann", password, "10.0.0.1"))
      assert.match(error.message, /Too many failed sign-in attempts\. Try again in \d+ seconds\./)
      assert.strictEqual(yield* attempt(store, "ann", password, "10.0.0.2"), "ok", "the same user elsewhere")
      assert.strictEqual(yield* attempt(store, "bob", password, "10.0.0.1"), "ok", "another user at that address")
    })
  )

  it.effect("a success clears the pair's failures", () =>
    Effect.gen(function* () {
      const store = yield* throttled()
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 2; i++) yield* attempt(store, "ann", "wrong", "10.0.0.1")
        assert.strictEqual(yield* attempt(store, "ann", password, "10.0.0.1"), "ok", `round ${round}`)
      }
    })
  )

  it.effect("guesses at one user spread over many addresses block that user, but not where they signed in before", () =>
    Effect.gen(function* () {
      const store = yield* throttled()
      assert.strictEqual(yield* attempt(store, "ann", password, "10.0.0.9"), "ok")
      for (let i = 0; i < 6; i++) yield* attempt(store, "ann", "wrong", `198.51.100.${i}`)
      assert.strictEqual(yield* attempt(store, "ann", password, "203.0.113.1"), "TooManyAttempts", "a new address")
      assert.strictEqual(yield* attempt(store, "ann", password, "10.0.0.9"), "ok", "ann's own address")
      assert.strictEqual(yield* attempt(store, "bob", password, "203.0.113.1"), "ok", "another user")
    })
  )

  it.effect("one address guessing many users is blocked, but its users who signed in there before are not", () =>
    Effect.gen(function* () {
      const store = yield* throttled()
      assert.strictEqual(yield* attempt(store, "cat", password, "10.0.0.1"), "ok")
      const names = ["ann", "bob", "dan", "eve", "fay", "gus", "hal", "ivy"]
      for (const name of names) yield* attempt(store, name, "wrong", "10.0.0.1")
      assert.strictEqual(yield* attempt(store, "dan", password, "10.0.0.1"), "TooManyAttempts", "a user new there")
      assert.strictEqual(yield* attempt(store, "cat", password, "10.0.0.1"), "ok", "a colleague behind the same NAT")
      assert.strictEqual(yield* attempt(store, "dan", password, "10.0.0.2"), "ok", "dan elsewhere")
    })
  )

  it.effect("a blocked attempt is refused before its password is checked and counts nothing more", () =>
    Effect.gen(function* () {
      const store = yield* throttled()
      for (let i = 0; i < 3; i++) yield* attempt(store, "ann", "wrong", "10.0.0.1")
      for (let i = 0; i < 5; i++) {
        assert.strictEqual(yield* attempt(store, "ann", "wrong", "10.0.0.1"), "TooManyAttempts")
      }
      // Blocked attempts did not count: ann's per-user count (6) is not reached from another address.
      assert.strictEqual(yield* attempt(store, "ann", password, "10.0.0.2"), "ok")
    })
  )
})
