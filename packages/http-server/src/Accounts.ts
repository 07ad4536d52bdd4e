/**
 * Accounts: signing in, tokens, users and roles, as the server's routes use them — over core's `SecurityStore` port,
 * whichever adapter the app chose. Passwords are hashed here with scrypt (Node's built-in, a memory-hard KDF) and
 * compared in constant time; tokens are opaque random values of which only a SHA-256 digest reaches the store, bound
 * to a Referer or an IP address when asked, expiring, revocable, and checked against the user's current role on every
 * use. The rules for names, passwords and built-in roles live here too, so every store stays a plain keeper of records.
 *
 * @module
 */
import { hash, randomBytes, scrypt, timingSafeEqual } from "node:crypto"
import { SecurityStore } from "@geojobs/core"
import { Clock, Context, Data, Effect, Layer } from "effect"
import { builtinRoles, isPrivilege, type Principal, type Privilege } from "./Security.ts"
import * as SignInThrottle from "./SignInThrottle.ts"

/** @category errors */
export const { NoSuchUser, UnknownRole, UserExists, SecurityStoreError } = SecurityStore
type NoSuchUser = SecurityStore.NoSuchUser
type UnknownRole = SecurityStore.UnknownRole
type UserExists = SecurityStore.UserExists
type SecurityStoreError = SecurityStore.SecurityStoreError

/** Wrong username or password. @category errors */
export class InvalidCredentials extends Data.TaggedError("InvalidCredentials") {
  override get message(): string {
    return "Invalid username or password."
  }
}

/** The request needs a token and carries none (ArcGIS code 499). @category errors */
export class TokenRequired extends Data.TaggedError("TokenRequired") {
  readonly code = 499
  override get message(): string {
    return "Token Required"
  }
}

/** The token is unknown, expired or revoked (ArcGIS code 498). @category errors */
export class InvalidToken extends Data.TaggedError("InvalidToken") {
  readonly code = 498
  override get message(): string {
    return "Invalid token."
  }
}

/** The token is bound to another Referer or address (ArcGIS code 498). @category errors */
export class RefererMismatch extends Data.TaggedError("RefererMismatch")<{ readonly bound: "referer" | "ip" }> {
  readonly code = 498
  override get message(): string {
    return this.bound === "referer"
      ? "The token was generated for another referer: send the Referer it was generated for."
      : "The token was generated for another IP address."
  }
}

/** A user, role or password that breaks the rules (the message says which). @category errors */
export class InvalidAccount extends Data.TaggedError("InvalidAccount")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

/** @category errors */
export const { TooManyAttempts } = SignInThrottle
type TooManyAttempts = SignInThrottle.TooManyAttempts

/** A user as listed (never with the password hash). @category models */
export type User = SecurityStore.UserSummary

/** What `generateToken` answers. @category models */
export interface IssuedToken {
  readonly token: string
  /** Milliseconds since the epoch. */
  readonly expires: number
  readonly ssl: boolean
}

/** How a token is bound. @category models */
export interface Binding {
  readonly client: "referer" | "ip" | "requestip"
  readonly referer?: string | undefined
  readonly ip?: string | undefined
}

/** Account operations. @category services */
export interface AccountsShape {
  /**
   * Checks a password; `from` is the client's address, for throttling (failed sign-ins are counted per username and
   * per address, and a blocked attempt fails with `TooManyAttempts` before its password is checked). A disabled user
   * fails like a wrong password.
   */
  readonly authenticate: (
    username: string,
    password: string,
    from: string
  ) => Effect.Effect<Principal, InvalidCredentials | TooManyAttempts | SecurityStoreError>
  readonly issueToken: (
    request: Binding & { readonly username: string; readonly expirationMinutes?: number | undefined }
  ) => Effect.Effect<IssuedToken, NoSuchUser | SecurityStoreError>
  readonly verifyToken: (
    token: string,
    request: { readonly referer?: string | undefined; readonly ip?: string | undefined }
  ) => Effect.Effect<Principal, InvalidToken | RefererMismatch | SecurityStoreError>
  readonly exchangeToken: (
    token: string,
    serverUrl: string,
    request: { readonly referer?: string | undefined; readonly ip?: string | undefined }
  ) => Effect.Effect<IssuedToken, InvalidToken | RefererMismatch | SecurityStoreError>
  readonly revokeToken: (token: string) => Effect.Effect<void, SecurityStoreError>
  readonly revokeUserTokens: (username: string) => Effect.Effect<void, SecurityStoreError>
  readonly createUser: (user: {
    readonly username: string
    readonly password: string
    readonly role: string
    readonly fullName?: string | undefined
  }) => Effect.Effect<User, UserExists | UnknownRole | InvalidAccount | SecurityStoreError>
  /** Removes a user and their tokens; the last enabled administrator cannot be removed. */
  readonly deleteUser: (username: string) => Effect.Effect<void, NoSuchUser | InvalidAccount | SecurityStoreError>
  /** Sets a user's password and revokes every token of theirs. */
  readonly setPassword: (
    username: string,
    password: string
  ) => Effect.Effect<void, NoSuchUser | InvalidAccount | SecurityStoreError>
  /** Changes a user's role; the last enabled administrator keeps theirs. Revokes the user's tokens. */
  readonly setRole: (
    username: string,
    role: string
  ) => Effect.Effect<void, NoSuchUser | UnknownRole | InvalidAccount | SecurityStoreError>
  /** Disables or enables a user; the last enabled administrator cannot be disabled. Disabling revokes their tokens. */
  readonly setDisabled: (
    username: string,
    disabled: boolean
  ) => Effect.Effect<void, NoSuchUser | InvalidAccount | SecurityStoreError>
  readonly getUser: (username: string) => Effect.Effect<User, NoSuchUser | SecurityStoreError>
  readonly listUsers: () => Effect.Effect<ReadonlyArray<User>, SecurityStoreError>
  readonly createRole: (role: {
    readonly name: string
    readonly privileges: ReadonlyArray<string>
  }) => Effect.Effect<void, InvalidAccount | SecurityStoreError>
  readonly deleteRole: (name: string) => Effect.Effect<void, UnknownRole | InvalidAccount | SecurityStoreError>
  readonly listRoles: () => Effect.Effect<
    ReadonlyArray<{ readonly name: string; readonly privileges: ReadonlyArray<Privilege>; readonly builtin: boolean }>,
    SecurityStoreError
  >
  /**
   * On a store without users, creates `admin` (administrator) with `password`, or a generated one returned once.
   * Safe when several nodes bootstrap one fresh store at once: every one succeeds, one of them with `created: true`.
   */
  readonly bootstrapAdmin: (
    password: string | undefined
  ) => Effect.Effect<{ readonly created: boolean; readonly password?: string }, InvalidAccount | SecurityStoreError>
  readonly purgeExpiredTokens: () => Effect.Effect<number, SecurityStoreError>
}

const scryptParams = { N: 16_384, r: 8, p: 1, keylen: 32 } as const

interface ScryptParams {
  readonly N: number
  readonly r: number
  readonly p: number
  readonly keylen: number
}

const hashPassword = (
  password: string,
  salt: Buffer,
  params: ScryptParams = scryptParams
): Effect.Effect<Buffer, SecurityStoreError> =>
  Effect.callback<Buffer, SecurityStoreError>((resume) => {
    scrypt(
      password,
      salt,
      params.keylen,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) =>
        resume(error ? Effect.fail(new SecurityStoreError({ operation: "hash", cause: error })) : Effect.succeed(key))
    )
  })

const encodePassword = (password: string) => {
  const salt = randomBytes(16)
  return Effect.map(
    hashPassword(password, salt),
    (key) =>
      `scrypt$${scryptParams.N}$${scryptParams.r}$${scryptParams.p}$${salt.toString("base64")}$${key.toString("base64")}`
  )
}

// A stored hash to compare against when the user is unknown, so that both cases cost the same.
const decoy = `scrypt$${scryptParams.N}$${scryptParams.r}$${scryptParams.p}$${randomBytes(16).toString("base64")}$${randomBytes(32).toString("base64")}`

/** Checks a password against a stored hash with the parameters it was made with, so they can be raised later. */
const checkPassword = (password: string, stored: string) => {
  const [, n, r, p, salt, hash] = stored.split("$")
  const expected = Buffer.from(hash ?? "", "base64")
  const params = { N: Number(n), r: Number(r), p: Number(p), keylen: expected.length || scryptParams.keylen }
  return Effect.map(
    hashPassword(password, Buffer.from(salt ?? "", "base64"), params),
    (key) => expected.length === key.length && timingSafeEqual(expected, key)
  )
}

// One-shot hashing: no Hash object per request.
const digest = (token: string) => hash("sha256", token, "hex")

/** Origins compare case-insensitively and without trailing slashes or paths. */
const origin = (url: string): string => {
  try {
    return new URL(url).origin.toLowerCase()
  } catch {
    return url.trim().replace(/\/+$/, "").toLowerCase()
  }
}

const passwordProblem = (password: string) =>
  password.length < 8 ? new InvalidAccount({ detail: "A password needs at least 8 characters." }) : undefined

// Names a role may not have: the keys every plain object answers (`constructor`, `__proto__`, `toString`, …), so that
// no lookup anywhere can mistake one for a role.
const prototypeKeys = new Set(Object.getOwnPropertyNames(Object.prototype))

const make = (
  db: SecurityStore.SecurityStoreShape,
  maxTokenMinutes: number,
  throttle: SignInThrottle.SignInThrottle
): AccountsShape => {
  /** A role's privileges: built-in roles by an own-key lookup (never `constructor` or `__proto__`), custom ones stored. */
  const privilegesOf = (role: string): Effect.Effect<ReadonlyArray<Privilege> | undefined, SecurityStoreError> =>
    Object.hasOwn(builtinRoles, role)
      ? Effect.succeed(builtinRoles[role])
      : db.getRole(role).pipe(
          Effect.map((r): ReadonlyArray<Privilege> | undefined => r.privileges.filter(isPrivilege)),
          Effect.catchTag("UnknownRole", () => Effect.succeed(undefined))
        )
  const principalOf = (username: string, role: string) =>
    Effect.map(
      privilegesOf(role),
      (privileges): Principal => ({ username, role, privileges: new Set(privileges ?? []) })
    )
  const roleExists = (role: string) => Effect.map(privilegesOf(role), (p) => p !== undefined)

  /** Refuses a change that would leave no enabled administrator (nobody could manage the server any more). */
  const keepsAnAdministrator = Effect.fnUntraced(function* (username: string, change: string) {
    const target = yield* db.getUser(username)
    if (target.role !== "administrator" || target.disabled) return
    const others = (yield* db.listUsers).filter(
      (u) => u.role === "administrator" && !u.disabled && u.username !== username
    )
    if (others.length === 0) {
      return yield* new InvalidAccount({
        detail: `${username} is the last administrator and cannot be ${change}; make another user an administrator first.`
      })
    }
  })

  const issue = (username: string, binding: Binding, expires: number) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const token = randomBytes(32).toString("base64url")
      yield* db.insertToken({
        digest: digest(token),
        username,
        expires,
        referer: binding.client === "referer" ? (binding.referer ?? null) : null,
        ip: binding.client === "referer" ? null : (binding.ip ?? null),
        created: now
      })
      return { token, expires, ssl: false }
    })

  // The exchanged token's user was removed or disabled between the check and the new token: the old one is dead too.
  const issueFor = (username: string, binding: Binding, expires: number) =>
    issue(username, binding, expires).pipe(Effect.catchTag("NoSuchUser", () => Effect.fail(new InvalidToken())))

  // Every check reads the store: a revocation, a role change or a deleted user takes effect at once in every
  // process sharing it (a cache here measured ~30 µs faster per request, not worth a stale revocation).
  const verify = Effect.fnUntraced(function* (
    token: string,
    request: { readonly referer?: string | undefined; readonly ip?: string | undefined }
  ) {
    const now = yield* Clock.currentTimeMillis
    const row = yield* db.findToken(digest(token)).pipe(Effect.catchTag("NoSuchToken", () => Effect.succeed(undefined)))
    if (row === undefined || row.expires <= now) return yield* new InvalidToken()
    if (row.referer !== null && (request.referer === undefined || origin(request.referer) !== origin(row.referer))) {
      return yield* new RefererMismatch({ bound: "referer" })
    }
    if (row.ip !== null && request.ip !== row.ip) return yield* new RefererMismatch({ bound: "ip" })
    return { principal: yield* principalOf(row.username, row.role), row }
  })

  const accounts: AccountsShape = {
    authenticate: Effect.fnUntraced(function* (username: string, password: string, from: string) {
      yield* throttle.check(username, from)
      const row = yield* db.getUser(username).pipe(Effect.catchTag("NoSuchUser", () => Effect.succeed(undefined)))
      const ok = yield* checkPassword(password, row?.passwordHash ?? decoy)
      if (row === undefined || row.disabled || !ok) {
        yield* throttle.failed(username, from)
        return yield* new InvalidCredentials()
      }
      yield* throttle.succeeded(username, from)
      return yield* principalOf(username, row.role)
    }),
    issueToken: Effect.fnUntraced(function* (request: Parameters<AccountsShape["issueToken"]>[0]) {
      yield* db.getUser(request.username)
      const now = yield* Clock.currentTimeMillis
      const minutes = Math.min(maxTokenMinutes, Math.max(1, request.expirationMinutes ?? 60))
      return yield* issue(request.username, request, now + minutes * 60_000)
    }),
    verifyToken: (token, request) => Effect.map(verify(token, request), (v) => v.principal),
    exchangeToken: (token, _serverUrl, request) =>
      Effect.flatMap(verify(token, request), ({ row }) =>
        issueFor(
          row.username,
          row.referer !== null
            ? { client: "referer", referer: row.referer }
            : row.ip !== null
              ? { client: "ip", ip: row.ip }
              : { client: "requestip" },
          row.expires
        )
      ),
    revokeToken: (token) => db.deleteToken(digest(token)),
    revokeUserTokens: (username) => Effect.asVoid(db.deleteUserTokens(username)),
    createUser: Effect.fnUntraced(function* (user: Parameters<AccountsShape["createUser"]>[0]) {
      if (!/^[\w.@+-]{1,128}$/.test(user.username)) {
        return yield* new InvalidAccount({ detail: "A username is 1–128 letters, digits, or . _ @ + -" })
      }
      const weak = passwordProblem(user.password)
      if (weak !== undefined) return yield* weak
      if (!(yield* roleExists(user.role))) return yield* new UnknownRole({ role: user.role })
      const exists = yield* db.getUser(user.username).pipe(
        Effect.as(true),
        Effect.catchTag("NoSuchUser", () => Effect.succeed(false))
      )
      if (exists) return yield* new UserExists({ username: user.username })
      const passwordHash = yield* encodePassword(user.password)
      const created = yield* Clock.currentTimeMillis
      const record = {
        username: user.username,
        passwordHash,
        role: user.role,
        fullName: user.fullName ?? "",
        created,
        disabled: false
      }
      yield* db.createUser(record)
      return { username: record.username, role: record.role, fullName: record.fullName, created, disabled: false }
    }),
    deleteUser: Effect.fnUntraced(function* (username: string) {
      yield* keepsAnAdministrator(username, "removed")
      yield* db.deleteUser(username)
    }),
    setPassword: Effect.fnUntraced(function* (username: string, password: string) {
      yield* db.getUser(username)
      const weak = passwordProblem(password)
      if (weak !== undefined) return yield* weak
      yield* db.updateUser(username, { passwordHash: yield* encodePassword(password) })
    }),
    setRole: Effect.fnUntraced(function* (username: string, role: string) {
      yield* db.getUser(username)
      if (!(yield* roleExists(role))) return yield* new UnknownRole({ role })
      if (role !== "administrator") yield* keepsAnAdministrator(username, "given another role")
      yield* db.updateUser(username, { role })
    }),
    setDisabled: Effect.fnUntraced(function* (username: string, disabled: boolean) {
      if (disabled) yield* keepsAnAdministrator(username, "disabled")
      yield* db.updateUser(username, { disabled })
    }),
    getUser: (username) =>
      Effect.map(db.getUser(username), (u) => ({
        username: u.username,
        role: u.role,
        fullName: u.fullName,
        created: u.created,
        disabled: u.disabled
      })),
    listUsers: () => db.listUsers,
    createRole: Effect.fnUntraced(function* (role: Parameters<AccountsShape["createRole"]>[0]) {
      if (!/^[\w.-]{1,64}$/.test(role.name))
        return yield* new InvalidAccount({ detail: "A role name is 1–64 letters, digits, or . _ -" })
      if (prototypeKeys.has(role.name)) return yield* new InvalidAccount({ detail: `${role.name} cannot name a role.` })
      if (Object.hasOwn(builtinRoles, role.name))
        return yield* new InvalidAccount({ detail: `${role.name} is a built-in role.` })
      const unknown = role.privileges.find((p) => !isPrivilege(p))
      if (unknown !== undefined) return yield* new InvalidAccount({ detail: `There is no privilege ${unknown}.` })
      yield* db.putRole({ name: role.name, privileges: [...new Set(role.privileges)] })
    }),
    deleteRole: Effect.fnUntraced(function* (name: string) {
      if (Object.hasOwn(builtinRoles, name)) return yield* new InvalidAccount({ detail: `${name} is a built-in role.` })
      const used = yield* db.countUsers(name)
      if (used > 0) return yield* new InvalidAccount({ detail: `${used} users have the role ${name}.` })
      yield* db.deleteRole(name)
    }),
    listRoles: () =>
      Effect.map(db.listRoles, (custom) => [
        ...Object.entries(builtinRoles).map(([name, privileges]) => ({ name, privileges, builtin: true })),
        ...custom.map((r) => ({ name: r.name, privileges: r.privileges.filter(isPrivilege), builtin: false }))
      ]),
    bootstrapAdmin: Effect.fnUntraced(function* (password: string | undefined) {
      if ((yield* db.countUsers()) > 0) return { created: false }
      const chosen = password ?? randomBytes(18).toString("base64url")
      // Nodes starting together on a fresh store all find it empty: one insert wins, and for the others admin already
      // being there is the bootstrap done — by another node, so they report nothing created (and no password, which
      // would not be admin's). A store that reports the lost insert as a plain failure counts too, once admin is seen.
      const adminExists = db.getUser("admin").pipe(
        Effect.as(true),
        Effect.catchTag("NoSuchUser", () => Effect.succeed(false))
      )
      const created = yield* accounts
        .createUser({ username: "admin", password: chosen, role: "administrator", fullName: "Administrator" })
        .pipe(
          Effect.as(true),
          Effect.catchTags({
            UserExists: () => Effect.succeed(false),
            SecurityStoreError: (error) =>
              Effect.flatMap(adminExists, (exists) => (exists ? Effect.succeed(false) : Effect.fail(error))),
            UnknownRole: (e) => Effect.die(e)
          })
        )
      if (!created) return { created: false }
      return password === undefined ? { created: true, password: chosen } : { created: true }
    }),
    purgeExpiredTokens: () => Effect.flatMap(Clock.currentTimeMillis, (now) => db.purgeExpiredTokens(now))
  }
  return accounts
}

/**
 * The accounts service.
 *
 * @category services
 */
export class Accounts extends Context.Service<Accounts, AccountsShape>()("@geojobs/http-server/Accounts") {
  /**
   * Accounts over the security store; `maxTokenMinutes` caps token lifetimes (default 20160, ArcGIS's 14 days).
   *
   * @category layers
   */
  static readonly layer = (
    options: {
      readonly maxTokenMinutes?: number | undefined
      /** Failed sign-in limits (see `SignInThrottle.defaults`). */
      readonly signInThrottle?: SignInThrottle.Options | undefined
    } = {}
  ): Layer.Layer<Accounts, never, SecurityStore.SecurityStore> =>
    Layer.effect(
      Accounts,
      Effect.gen(function* () {
        return make(
          yield* SecurityStore.SecurityStore,
          options.maxTokenMinutes ?? 20_160,
          SignInThrottle.make(options.signInThrottle)
        )
      })
    )
}
