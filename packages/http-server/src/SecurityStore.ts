/**
 * Users, roles and tokens, kept in their own SQLite file so that several server processes on one data folder share
 * them. Passwords are hashed with scrypt (Node's built-in, a memory-hard KDF), compared in constant time; tokens are
 * opaque random values of which only a SHA-256 digest is stored, bound to a Referer or an IP address when asked,
 * expiring, revocable, and checked against the user's current role on every use.
 *
 * @module
 */
import { hash, randomBytes, scrypt, timingSafeEqual } from "node:crypto"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Clock, Context, Data, Effect, Layer } from "effect"
import { builtinRoles, isPrivilege, type Principal, type Privilege } from "./Security.ts"

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

/** No such role. @category errors */
export class UnknownRole extends Data.TaggedError("UnknownRole")<{ readonly role: string }> {
  override get message(): string {
    return `There is no role ${this.role}.`
  }
}

/** A user of this name exists. @category errors */
export class UserExists extends Data.TaggedError("UserExists")<{ readonly username: string }> {
  override get message(): string {
    return `User ${this.username} already exists.`
  }
}

/** No user of this name. @category errors */
export class NoSuchUser extends Data.TaggedError("NoSuchUser")<{ readonly username: string }> {
  override get message(): string {
    return `User ${this.username} does not exist.`
  }
}

/** A user, role or password that breaks the rules (the message says which). @category errors */
export class InvalidAccount extends Data.TaggedError("InvalidAccount")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

/** The security database failed. @category errors */
export class SecurityStoreError extends Data.TaggedError("SecurityStoreError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  readonly code = 500
  override get message(): string {
    return `Security store ${this.operation} failed: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** A user as listed (never with the password hash). @category models */
export interface User {
  readonly username: string
  readonly role: string
  readonly fullName: string
  readonly created: number
}

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

/** Security operations. @category services */
export interface SecurityStoreShape {
  readonly authenticate: (
    username: string,
    password: string
  ) => Effect.Effect<Principal, InvalidCredentials | SecurityStoreError>
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
  readonly deleteUser: (username: string) => Effect.Effect<void, NoSuchUser | SecurityStoreError>
  readonly setPassword: (
    username: string,
    password: string
  ) => Effect.Effect<void, NoSuchUser | InvalidAccount | SecurityStoreError>
  readonly setRole: (
    username: string,
    role: string
  ) => Effect.Effect<void, NoSuchUser | UnknownRole | SecurityStoreError>
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
  /** On a store without users, creates `admin` (administrator) with `password`, or a generated one returned once. */
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

const migrations = [
  `CREATE TABLE roles (name TEXT PRIMARY KEY, privileges TEXT NOT NULL);
   CREATE TABLE users (username TEXT PRIMARY KEY, password TEXT NOT NULL, role TEXT NOT NULL,
     full_name TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL);
   CREATE TABLE tokens (digest TEXT PRIMARY KEY, username TEXT NOT NULL, expires INTEGER NOT NULL, referer TEXT, ip TEXT,
     created INTEGER NOT NULL);
   CREATE INDEX tokens_user ON tokens (username);
   CREATE INDEX tokens_expires ON tokens (expires);`
]

const open = (filename: string): DatabaseSync => {
  if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true })
  const db = new DatabaseSync(filename)
  db.exec("PRAGMA busy_timeout = 5000")
  db.exec("PRAGMA journal_mode = WAL")
  db.exec("PRAGMA synchronous = NORMAL")
  db.exec("BEGIN IMMEDIATE")
  try {
    const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version
    for (const [i, sql] of migrations.entries()) if (i >= version) db.exec(sql)
    if (version < migrations.length) db.exec(`PRAGMA user_version = ${migrations.length}`)
    db.exec("COMMIT")
  } catch (error) {
    db.exec("ROLLBACK")
    throw error
  }
  return db
}

const make = (db: DatabaseSync, maxTokenMinutes: number): SecurityStoreShape => {
  const sql = <A>(operation: string, f: () => A) =>
    Effect.try({ try: f, catch: (cause) => new SecurityStoreError({ operation, cause }) })
  const userRow = db.prepare("SELECT username, password, role, full_name, created FROM users WHERE username = ?")
  const roleRow = db.prepare("SELECT privileges FROM roles WHERE name = ?")
  // One indexed read per check (tokens by digest, the user's role by username). Written as a subquery, not a JOIN:
  // SQLite marks a JOIN's bound parameter as one the plan depends on, so every new binding expired the statement and
  // each check compiled it again (≈ 10 µs, half of a check); this form stays prepared. Its row comes back as an array:
  // node:sqlite builds a named-property row object slowly (about a quarter of the read's time).
  const tokenRow = db.prepare(`SELECT username, expires, referer, ip,
    (SELECT role FROM users WHERE users.username = tokens.username) AS role FROM tokens WHERE digest = ?`)
  tokenRow.setReturnArrays(true)
  const insertToken = db.prepare(
    "INSERT INTO tokens (digest, username, expires, referer, ip, created) VALUES (?, ?, ?, ?, ?, ?)"
  )

  const privilegesOf = (role: string): ReadonlyArray<Privilege> | undefined => {
    const builtin = builtinRoles[role]
    if (builtin !== undefined) return builtin
    const row = roleRow.get(role) as { privileges: string } | undefined
    return row === undefined ? undefined : (JSON.parse(row.privileges) as Array<Privilege>)
  }
  const principalOf = (username: string, role: string): Principal => ({
    username,
    role,
    privileges: new Set(privilegesOf(role) ?? [])
  })
  const roleExists = (role: string) => privilegesOf(role) !== undefined

  const issue = (username: string, binding: Binding, expires: number) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      sql("issue token", () => {
        const token = randomBytes(32).toString("base64url")
        insertToken.run(
          digest(token),
          username,
          expires,
          binding.client === "referer" ? (binding.referer ?? null) : null,
          binding.client === "referer" ? null : (binding.ip ?? null),
          now
        )
        return { token, expires, ssl: false }
      })
    )

  type TokenRow = { username: string; expires: number; referer: string | null; ip: string | null; role: string }
  // Every check reads the database: a revocation, a role change or a deleted user takes effect at once in every
  // process sharing it (a cache here measured ~30 µs faster per request, not worth a stale revocation).
  const lookup = (key: string): TokenRow | undefined => {
    const row = tokenRow.get(key) as unknown as
      | readonly [username: string, expires: number, referer: string | null, ip: string | null, role: string | null]
      | undefined
    // A token whose user is gone is no token (as the JOIN this replaced had it).
    if (row === undefined || row[4] === null) return undefined
    return { username: row[0], expires: row[1], referer: row[2], ip: row[3], role: row[4] }
  }
  const verify = Effect.fnUntraced(function* (
    token: string,
    request: { readonly referer?: string | undefined; readonly ip?: string | undefined }
  ) {
    const now = yield* Clock.currentTimeMillis
    const row = yield* sql("verify token", () => lookup(digest(token)))
    if (row === undefined || row.expires <= now) return yield* new InvalidToken()
    if (row.referer !== null && (request.referer === undefined || origin(request.referer) !== origin(row.referer))) {
      return yield* new RefererMismatch({ bound: "referer" })
    }
    if (row.ip !== null && request.ip !== row.ip) return yield* new RefererMismatch({ bound: "ip" })
    return { principal: principalOf(row.username, row.role), row }
  })

  const mustExist = (username: string) =>
    Effect.flatMap(
      sql("get user", () => userRow.get(username) as { username: string } | undefined),
      (row) => (row === undefined ? Effect.fail(new NoSuchUser({ username })) : Effect.succeed(row))
    )

  const store: SecurityStoreShape = {
    authenticate: Effect.fnUntraced(function* (username: string, password: string) {
      const row = yield* sql(
        "authenticate",
        () => userRow.get(username) as { password: string; role: string } | undefined
      )
      const ok = yield* checkPassword(password, row?.password ?? decoy)
      if (row === undefined || !ok) return yield* new InvalidCredentials()
      return principalOf(username, row.role)
    }),
    issueToken: Effect.fnUntraced(function* (request: Parameters<SecurityStoreShape["issueToken"]>[0]) {
      yield* mustExist(request.username)
      const now = yield* Clock.currentTimeMillis
      const minutes = Math.min(maxTokenMinutes, Math.max(1, request.expirationMinutes ?? 60))
      return yield* issue(request.username, request, now + minutes * 60_000)
    }),
    verifyToken: (token, request) => Effect.map(verify(token, request), (v) => v.principal),
    exchangeToken: (token, _serverUrl, request) =>
      Effect.flatMap(verify(token, request), ({ row }) =>
        issue(
          row.username,
          row.referer !== null
            ? { client: "referer", referer: row.referer }
            : row.ip !== null
              ? { client: "ip", ip: row.ip }
              : { client: "requestip" },
          row.expires
        )
      ),
    revokeToken: (token) =>
      sql("revoke token", () => void db.prepare("DELETE FROM tokens WHERE digest = ?").run(digest(token))),
    revokeUserTokens: (username) =>
      sql("revoke tokens", () => void db.prepare("DELETE FROM tokens WHERE username = ?").run(username)),
    createUser: Effect.fnUntraced(function* (user: Parameters<SecurityStoreShape["createUser"]>[0]) {
      if (!/^[\w.@+-]{1,128}$/.test(user.username)) {
        return yield* new InvalidAccount({ detail: "A username is 1–128 letters, digits, or . _ @ + -" })
      }
      const weak = passwordProblem(user.password)
      if (weak !== undefined) return yield* weak
      if (!roleExists(user.role)) return yield* new UnknownRole({ role: user.role })
      if ((yield* sql("get user", () => userRow.get(user.username))) !== undefined) {
        return yield* new UserExists({ username: user.username })
      }
      const encoded = yield* encodePassword(user.password)
      const created = yield* Clock.currentTimeMillis
      yield* sql("create user", () =>
        db
          .prepare("INSERT INTO users (username, password, role, full_name, created) VALUES (?, ?, ?, ?, ?)")
          .run(user.username, encoded, user.role, user.fullName ?? "", created)
      )
      return { username: user.username, role: user.role, fullName: user.fullName ?? "", created }
    }),
    deleteUser: (username) =>
      Effect.andThen(
        mustExist(username),
        sql("delete user", () => {
          db.prepare("DELETE FROM tokens WHERE username = ?").run(username)
          db.prepare("DELETE FROM users WHERE username = ?").run(username)
        })
      ),
    setPassword: Effect.fnUntraced(function* (username: string, password: string) {
      yield* mustExist(username)
      const weak = passwordProblem(password)
      if (weak !== undefined) return yield* weak
      const encoded = yield* encodePassword(password)
      yield* sql("set password", () =>
        db.prepare("UPDATE users SET password = ? WHERE username = ?").run(encoded, username)
      )
    }),
    setRole: Effect.fnUntraced(function* (username: string, role: string) {
      yield* mustExist(username)
      if (!roleExists(role)) return yield* new UnknownRole({ role })
      yield* sql("set role", () => db.prepare("UPDATE users SET role = ? WHERE username = ?").run(role, username))
    }),
    getUser: (username) =>
      Effect.flatMap(
        sql(
          "get user",
          () =>
            userRow.get(username) as { username: string; role: string; full_name: string; created: number } | undefined
        ),
        (row) =>
          row === undefined
            ? Effect.fail(new NoSuchUser({ username }))
            : Effect.succeed({ username: row.username, role: row.role, fullName: row.full_name, created: row.created })
      ),
    listUsers: () =>
      sql("list users", () =>
        (
          db
            .prepare("SELECT username, role, full_name, created FROM users ORDER BY username")
            .all() as unknown as ReadonlyArray<{
            username: string
            role: string
            full_name: string
            created: number
          }>
        ).map((r) => ({ username: r.username, role: r.role, fullName: r.full_name, created: r.created }))
      ),
    createRole: Effect.fnUntraced(function* (role: Parameters<SecurityStoreShape["createRole"]>[0]) {
      if (!/^[\w.-]{1,64}$/.test(role.name))
        return yield* new InvalidAccount({ detail: "A role name is 1–64 letters, digits, or . _ -" })
      if (builtinRoles[role.name] !== undefined)
        return yield* new InvalidAccount({ detail: `${role.name} is a built-in role.` })
      const unknown = role.privileges.find((p) => !isPrivilege(p))
      if (unknown !== undefined) return yield* new InvalidAccount({ detail: `There is no privilege ${unknown}.` })
      yield* sql("create role", () =>
        db
          .prepare(
            "INSERT INTO roles (name, privileges) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET privileges = excluded.privileges"
          )
          .run(role.name, JSON.stringify([...new Set(role.privileges)]))
      )
    }),
    deleteRole: Effect.fnUntraced(function* (name: string) {
      if (builtinRoles[name] !== undefined) return yield* new InvalidAccount({ detail: `${name} is a built-in role.` })
      const used = yield* sql(
        "delete role",
        () => (db.prepare("SELECT count(*) AS n FROM users WHERE role = ?").get(name) as { n: number }).n
      )
      if (used > 0) return yield* new InvalidAccount({ detail: `${used} users have the role ${name}.` })
      const removed = yield* sql("delete role", () => db.prepare("DELETE FROM roles WHERE name = ?").run(name).changes)
      if (removed === 0) return yield* new UnknownRole({ role: name })
    }),
    listRoles: () =>
      sql("list roles", () => [
        ...Object.entries(builtinRoles).map(([name, privileges]) => ({ name, privileges, builtin: true })),
        ...(
          db.prepare("SELECT name, privileges FROM roles ORDER BY name").all() as unknown as ReadonlyArray<{
            name: string
            privileges: string
          }>
        ).map((r) => ({ name: r.name, privileges: JSON.parse(r.privileges) as Array<Privilege>, builtin: false }))
      ]),
    bootstrapAdmin: Effect.fnUntraced(function* (password: string | undefined) {
      const count = yield* sql(
        "count users",
        () => (db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n
      )
      if (count > 0) return { created: false }
      const chosen = password ?? randomBytes(18).toString("base64url")
      yield* store
        .createUser({ username: "admin", password: chosen, role: "administrator", fullName: "Administrator" })
        .pipe(
          Effect.catchTags({
            UserExists: () => Effect.void,
            UnknownRole: (e) => Effect.die(e)
          })
        )
      return password === undefined ? { created: true, password: chosen } : { created: true }
    }),
    purgeExpiredTokens: () =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sql("purge tokens", () => Number(db.prepare("DELETE FROM tokens WHERE expires <= ?").run(now).changes))
      )
  }
  return store
}

/**
 * The security store service.
 *
 * @category services
 */
export class SecurityStore extends Context.Service<SecurityStore, SecurityStoreShape>()(
  "@geojobs/http-server/SecurityStore"
) {
  /**
   * On an SQLite file of its own; `maxTokenMinutes` caps token lifetimes (default 20160, ArcGIS's 14 days).
   *
   * @category layers
   */
  static readonly layer = (options: {
    readonly filename: string
    readonly maxTokenMinutes?: number | undefined
  }): Layer.Layer<SecurityStore, SecurityStoreError> =>
    Layer.effect(
      SecurityStore,
      Effect.map(
        Effect.acquireRelease(
          Effect.try({
            try: () => open(options.filename),
            catch: (cause) => new SecurityStoreError({ operation: `open ${options.filename}`, cause })
          }),
          (db) => Effect.sync(() => db.isOpen && db.close())
        ),
        (db) => make(db, options.maxTokenMinutes ?? 20_160)
      )
    )
}
