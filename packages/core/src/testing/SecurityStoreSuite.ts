/**
 * The SecurityStore contract: named Effects that every security store adapter (memory, SQLite, PostgreSQL) runs
 * unchanged, each on a fresh, empty store. They need only `SecurityStore`:
 *
 * ```ts
 * for (const [name, test] of Object.entries(SecurityStoreSuite.cases)) {
 *   it.effect(name, () => test.pipe(Effect.provide(myStoreLayer)))
 * }
 * ```
 *
 * @module
 */
import { Effect, type Scope } from "effect"
import { SecurityStore, type TokenRecord, type UserRecord } from "../SecurityStore.ts"
import { type ContractViolation, expect, failsWith, same } from "./Contract.ts"

const base = 1_700_000_000_000

const user = (username: string, role = "user", fullName = ""): UserRecord => ({
  username,
  passwordHash: `scrypt$16384$8$1$salt-of-${username}$hash-of-${username}`,
  role,
  fullName,
  created: base,
  disabled: false
})

const token = (digest: string, username: string, expires = base + 60_000, binding: Partial<TokenRecord> = {}) => ({
  digest,
  username,
  expires,
  referer: null,
  ip: null,
  created: base,
  ...binding
})

/**
 * The contract cases, by name.
 *
 * @category suites
 */
export const cases: Readonly<Record<string, Effect.Effect<void, ContractViolation, SecurityStore>>> = {
  "a created user reads back whole; a second create of the name fails with UserExists": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      const jurgen = user("jürgen.weiß@example.com", "publisher", "Jürgen Weiß — 名前")
      yield* store.createUser(jurgen)
      yield* same(yield* store.getUser(jurgen.username), jurgen, "the user as read back")
      yield* failsWith(store.createUser(user(jurgen.username)), "UserExists", "a second user of the same name")
      yield* same((yield* store.getUser(jurgen.username)).role, "publisher", "the first user after a refused create")
      yield* failsWith(store.getUser("nobody"), "NoSuchUser", "get of an unknown user")
      yield* failsWith(store.getUser("__proto__"), "NoSuchUser", "get of a prototype key")
      yield* failsWith(store.getUser("JÜRGEN.WEISS@EXAMPLE.COM"), "NoSuchUser", "names are exact")
    })
  ),
  "users are listed by name without their hashes, and counted by role": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      for (const [name, role] of [
        ["carol", "user"],
        ["alice", "administrator"],
        ["bob", "user"]
      ] as const) {
        yield* store.createUser(user(name, role))
      }
      const listed = yield* store.listUsers
      yield* same(
        listed.map((u) => u.username),
        ["alice", "bob", "carol"],
        "users by name"
      )
      yield* expect(!JSON.stringify(listed).includes("hash-of"), "no password hash in a listing")
      yield* same(
        listed[1],
        { username: "bob", role: "user", fullName: "", created: base, disabled: false },
        "a listed user"
      )
      yield* same(
        [yield* store.countUsers(), yield* store.countUsers("user"), yield* store.countUsers("viewer")],
        [3, 2, 0],
        "counts: all, role user, role viewer"
      )
    })
  ),
  "updateUser changes the hash, the role or the standing, whichever is given": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* store.createUser(user("ann"))
      yield* store.updateUser("ann", { role: "publisher" })
      yield* same((yield* store.getUser("ann")).passwordHash, user("ann").passwordHash, "hash kept on a role change")
      yield* store.updateUser("ann", { passwordHash: "scrypt$new" })
      const now = yield* store.getUser("ann")
      yield* same([now.role, now.passwordHash], ["publisher", "scrypt$new"], "role kept on a password change")
      yield* store.updateUser("ann", { disabled: true })
      const disabled = yield* store.getUser("ann")
      yield* same(
        [disabled.disabled, disabled.role, disabled.passwordHash],
        [true, "publisher", "scrypt$new"],
        "disabled, role and hash kept"
      )
      yield* same((yield* store.listUsers)[0]?.disabled, true, "a disabled user is listed as disabled")
      yield* store.updateUser("ann", { disabled: false })
      yield* same((yield* store.getUser("ann")).disabled, false, "enabled again")
      yield* failsWith(store.updateUser("nobody", { role: "user" }), "NoSuchUser", "update of an unknown user")
    })
  ),
  "every change of a user revokes that user's tokens, and only theirs": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* store.createUser(user("ann"))
      yield* store.createUser(user("bob"))
      yield* store.insertToken(token("b1", "bob"))
      for (const [i, change] of [
        { passwordHash: "scrypt$changed" },
        { role: "publisher" },
        { disabled: false },
        { disabled: true }
      ].entries()) {
        yield* store.insertToken(token(`a${i}`, "ann"))
        yield* same((yield* store.findToken(`a${i}`)).username, "ann", `token ${i} before the change`)
        yield* store.updateUser("ann", change)
        yield* failsWith(store.findToken(`a${i}`), "NoSuchToken", `token ${i} after ${JSON.stringify(change)}`)
      }
      yield* same((yield* store.findToken("b1")).username, "bob", "another user's token survives")
    })
  ),
  "a token is kept only for an existing, enabled user": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* failsWith(store.insertToken(token("orphan", "never-created")), "NoSuchUser", "a token of no user")
      yield* failsWith(store.findToken("orphan"), "NoSuchToken", "the refused token is not kept")
      yield* store.createUser({ ...user("ann"), disabled: true })
      yield* failsWith(store.insertToken(token("a1", "ann")), "NoSuchUser", "a token of a disabled user")
      yield* failsWith(store.findToken("a1"), "NoSuchToken", "the disabled user's token is not kept")
      yield* store.updateUser("ann", { disabled: false })
      yield* store.insertToken(token("a2", "ann"))
      yield* same((yield* store.findToken("a2")).username, "ann", "a token of the user enabled again")
    })
  ),
  "a token is found by its digest with its user's role; bindings are kept": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* store.createUser(user("ann"))
      yield* store.insertToken(token("d-plain", "ann"))
      yield* store.insertToken(token("d-referer", "ann", base + 5, { referer: "https://app.example.com" }))
      yield* store.insertToken(token("d-ip", "ann", base + 6, { ip: "10.1.2.3" }))
      yield* same(
        yield* store.findToken("d-plain"),
        { username: "ann", role: "user", expires: base + 60_000, referer: null, ip: null },
        "a plain token"
      )
      yield* same((yield* store.findToken("d-referer")).referer, "https://app.example.com", "a referer binding")
      yield* same((yield* store.findToken("d-ip")).ip, "10.1.2.3", "an address binding")
      yield* failsWith(store.findToken("d-unknown"), "NoSuchToken", "an unknown digest")
    })
  ),
  "tokens are revoked one by one, by user, and when expired": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* store.createUser(user("ann"))
      yield* store.createUser(user("bob"))
      yield* store.insertToken(token("a1", "ann", base + 1000))
      yield* store.insertToken(token("a2", "ann", base + 2000))
      yield* store.insertToken(token("a3", "ann", base + 3000))
      yield* store.insertToken(token("b1", "bob", base + 1000))
      yield* store.deleteToken("a3")
      yield* failsWith(store.findToken("a3"), "NoSuchToken", "a revoked token")
      yield* store.deleteToken("a3")
      yield* same(yield* store.purgeExpiredTokens(base + 1000), 2, "tokens expiring at or before now are purged")
      yield* failsWith(store.findToken("b1"), "NoSuchToken", "an expired, purged token")
      yield* same((yield* store.findToken("a2")).username, "ann", "a token not yet expired")
      yield* store.insertToken(token("b2", "bob"))
      yield* same(yield* store.deleteUserTokens("ann"), 1, "ann's one remaining token revoked")
      yield* failsWith(store.findToken("a2"), "NoSuchToken", "a token of a user whose tokens were revoked")
      yield* same((yield* store.findToken("b2")).username, "bob", "another user's token survives")
    })
  ),
  "deleting a user removes their tokens": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* store.createUser(user("ann"))
      yield* store.insertToken(token("a1", "ann"))
      yield* store.deleteUser("ann")
      yield* failsWith(store.getUser("ann"), "NoSuchUser", "a deleted user")
      yield* failsWith(store.deleteUser("ann"), "NoSuchUser", "deleting twice")
      yield* store.createUser(user("ann"))
      yield* failsWith(store.findToken("a1"), "NoSuchToken", "an old token does not come back with a new namesake")
    })
  ),
  "custom roles are put, replaced, listed by name and deleted": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* store.putRole({ name: "reviewers", privileges: ["viewJobs"] })
      yield* store.putRole({ name: "analysts", privileges: ["geoprocessing", "viewJobs"] })
      yield* store.putRole({ name: "reviewers", privileges: ["viewJobs", "manageJobs"] })
      yield* same(
        yield* store.getRole("reviewers"),
        { name: "reviewers", privileges: ["viewJobs", "manageJobs"] },
        "a replaced role"
      )
      yield* same(
        (yield* store.listRoles).map((r) => r.name),
        ["analysts", "reviewers"],
        "roles by name"
      )
      yield* failsWith(store.getRole("constructor"), "UnknownRole", "a prototype key is no role")
      yield* store.deleteRole("analysts")
      yield* failsWith(store.getRole("analysts"), "UnknownRole", "a deleted role")
      yield* failsWith(store.deleteRole("analysts"), "UnknownRole", "deleting a role twice")
      yield* same((yield* store.listRoles).length, 1, "one role left")
    })
  ),
  "a service status is unset until put, replaced by the next put, and listed by service": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* same(yield* store.getServiceStatus("System/Utilities"), undefined, "a service never stopped or started")
      yield* same(yield* store.listServiceStatuses, [], "no statuses at first")
      const stopped = { service: "System/Utilities", status: "STOPPED", changed: base, changedBy: "admin" } as const
      yield* store.putServiceStatus(stopped)
      yield* same(yield* store.getServiceStatus("System/Utilities"), stopped, "the stopped status as read back")
      yield* store.putServiceStatus({
        service: "Projekte Süd/Straßen Puffer",
        status: "STOPPED",
        changed: base + 1,
        changedBy: "jürgen"
      })
      yield* store.putServiceStatus({ service: "Private", status: "STARTED", changed: base + 2, changedBy: "admin" })
      const started = { service: "System/Utilities", status: "STARTED", changed: base + 3, changedBy: "ops" } as const
      yield* store.putServiceStatus(started)
      yield* same(yield* store.getServiceStatus("System/Utilities"), started, "a second put replaces the first")
      yield* same(
        (yield* store.listServiceStatuses).map((r) => [r.service, r.status]),
        [
          ["Private", "STARTED"],
          ["Projekte Süd/Straßen Puffer", "STOPPED"],
          ["System/Utilities", "STARTED"]
        ],
        "statuses by service"
      )
      yield* same(yield* store.getServiceStatus("system/utilities"), undefined, "service paths are exact")
      yield* same(yield* store.getServiceStatus("__proto__"), undefined, "a prototype key is no service")
    })
  ),
  "service statuses are apart from users and roles: removing every user keeps them": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* store.createUser(user("admin", "administrator"))
      yield* store.putServiceStatus({
        service: "Analysis/Geometry",
        status: "STOPPED",
        changed: base,
        changedBy: "admin"
      })
      yield* store.deleteUser("admin")
      yield* same(
        (yield* store.getServiceStatus("Analysis/Geometry"))?.status,
        "STOPPED",
        "the status outlives the administrator who set it"
      )
    })
  )
}

/**
 * For durable adapters: a service status put through one store is seen by another store open on the same data at once
 * (two processes, two nodes), and by one opened after both are closed (a restart). `open` opens a store on the data
 * under test, closed with its scope.
 *
 * @category cases
 */
export const sharedBetweenOpenings = <E>(
  open: Effect.Effect<SecurityStore["Service"], E, Scope.Scope>
): Effect.Effect<void, ContractViolation> =>
  Effect.orDie(
    Effect.gen(function* () {
      const status = (s: SecurityStore["Service"]) =>
        Effect.map(s.getServiceStatus("Analysis/Geometry"), (r) => r?.status)
      const [before, after] = yield* Effect.scoped(
        Effect.gen(function* () {
          const one = yield* open
          const two = yield* open
          const seenBefore = yield* status(two)
          yield* one.putServiceStatus({
            service: "Analysis/Geometry",
            status: "STOPPED",
            changed: 1,
            changedBy: "admin"
          })
          return [seenBefore, yield* status(two)] as const
        })
      )
      yield* expect(before === undefined, "no status before the put")
      yield* expect(after === "STOPPED", "the other opening sees the put at once")
      const reopened = yield* Effect.scoped(Effect.flatMap(open, status))
      yield* expect(reopened === "STOPPED", "an opening after both closed sees it")
    })
  )
