/**
 * The port where users, custom roles and tokens are kept (memory here; SQLite in `@geojobs/store-sqlite`; PostgreSQL
 * in `@geojobs/store-postgres`), with the one piece of site configuration every node must share: which services an
 * administrator stopped (`ServiceStatusRecord`). It stores what it is given: password hashes already hashed, token digests already digested, role
 * privileges as names — hashing, token generation and the access rules are the server's concern, so every adapter
 * stays a plain keeper of records and passes the contract suite in `@geojobs/core/testing` unchanged.
 *
 * @module
 */
import { Context, Data, Effect, Layer } from "effect"

/** No user of this name. @category errors */
export class NoSuchUser extends Data.TaggedError("NoSuchUser")<{ readonly username: string }> {
  override get message(): string {
    return `User ${this.username} does not exist.`
  }
}

/** A user of this name exists. @category errors */
export class UserExists extends Data.TaggedError("UserExists")<{ readonly username: string }> {
  override get message(): string {
    return `User ${this.username} already exists.`
  }
}

/** No custom role of this name. @category errors */
export class UnknownRole extends Data.TaggedError("UnknownRole")<{ readonly role: string }> {
  override get message(): string {
    return `There is no role ${this.role}.`
  }
}

/** No live record for this token digest (never issued, revoked, or its user removed). @category errors */
export class NoSuchToken extends Data.TaggedError("NoSuchToken") {
  override get message(): string {
    return "No such token."
  }
}

/** The security store itself failed (disk, database connection). @category errors */
export class SecurityStoreError extends Data.TaggedError("SecurityStoreError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `Security store ${this.operation} failed: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/**
 * A stored user.
 *
 * @category models
 */
export interface UserRecord {
  readonly username: string
  /** The encoded hash (algorithm and parameters included), never the password. */
  readonly passwordHash: string
  readonly role: string
  readonly fullName: string
  /** Milliseconds since the epoch. */
  readonly created: number
  /** A disabled user cannot sign in and holds no tokens; the account and its jobs are kept. */
  readonly disabled: boolean
}

/** A user as listed: never with the hash. @category models */
export type UserSummary = Omit<UserRecord, "passwordHash">

/** A custom role. @category models */
export interface RoleRecord {
  readonly name: string
  readonly privileges: ReadonlyArray<string>
}

/**
 * A stored token: its digest, never the token.
 *
 * @category models
 */
export interface TokenRecord {
  readonly digest: string
  readonly username: string
  /** Milliseconds since the epoch. */
  readonly expires: number
  /** Bound to this Referer, or `null`. */
  readonly referer: string | null
  /** Bound to this address, or `null`. */
  readonly ip: string | null
  readonly created: number
}

/** A token found by its digest, with its user's role as it is now. @category models */
export interface TokenGrant {
  readonly username: string
  readonly role: string
  readonly expires: number
  readonly referer: string | null
  readonly ip: string | null
}

/**
 * A published service's administrative status, as ArcGIS's `configuredState`: a `STOPPED` service takes no new jobs
 * (jobs already submitted run to completion). A service with no record is `STARTED`.
 *
 * @category models
 */
export type ServiceStatus = "STARTED" | "STOPPED"

/**
 * A service's stored status: who set it, and when. Kept in this store (the configuration every node shares), so
 * that it survives a restart and holds on every node at once.
 *
 * @category models
 */
export interface ServiceStatusRecord {
  /** The service as its path names it (`ServiceRef.path`: `System/Utilities`, or `Private` without a folder). */
  readonly service: string
  readonly status: ServiceStatus
  /** Milliseconds since the epoch. */
  readonly changed: number
  /** The administrator who changed it. */
  readonly changedBy: string
}

/**
 * Store operations.
 *
 * @category services
 */
export interface SecurityStoreShape {
  readonly getUser: (username: string) => Effect.Effect<UserRecord, NoSuchUser | SecurityStoreError>
  readonly createUser: (user: UserRecord) => Effect.Effect<void, UserExists | SecurityStoreError>
  /**
   * Changes a user's hash, role or standing (whichever are given) and revokes every token of theirs in the same step,
   * so no request is ever served with a credential or role the user no longer has.
   */
  readonly updateUser: (
    username: string,
    change: {
      readonly passwordHash?: string | undefined
      readonly role?: string | undefined
      readonly disabled?: boolean | undefined
    }
  ) => Effect.Effect<void, NoSuchUser | SecurityStoreError>
  /** Removes a user and every token of theirs, in one step. */
  readonly deleteUser: (username: string) => Effect.Effect<void, NoSuchUser | SecurityStoreError>
  /** Every user, by username. */
  readonly listUsers: Effect.Effect<ReadonlyArray<UserSummary>, SecurityStoreError>
  /** How many users there are, or how many have `role`. */
  readonly countUsers: (role?: string) => Effect.Effect<number, SecurityStoreError>
  readonly getRole: (name: string) => Effect.Effect<RoleRecord, UnknownRole | SecurityStoreError>
  /** Creates a custom role, or replaces its privileges. */
  readonly putRole: (role: RoleRecord) => Effect.Effect<void, SecurityStoreError>
  readonly deleteRole: (name: string) => Effect.Effect<void, UnknownRole | SecurityStoreError>
  /** Every custom role, by name. */
  readonly listRoles: Effect.Effect<ReadonlyArray<RoleRecord>, SecurityStoreError>
  /**
   * Keeps a token, only while its user exists and is enabled (checked in the same step: a token issued while the user
   * is being removed or disabled is refused, not kept).
   */
  readonly insertToken: (token: TokenRecord) => Effect.Effect<void, NoSuchUser | SecurityStoreError>
  /** The hot path (every authenticated request): one read of the token and its user's current role. */
  readonly findToken: (digest: string) => Effect.Effect<TokenGrant, NoSuchToken | SecurityStoreError>
  readonly deleteToken: (digest: string) => Effect.Effect<void, SecurityStoreError>
  /** Revokes every token of a user; answers how many. */
  readonly deleteUserTokens: (username: string) => Effect.Effect<number, SecurityStoreError>
  /** Removes tokens whose expiry is at or before `now`; answers how many. */
  readonly purgeExpiredTokens: (now: number) => Effect.Effect<number, SecurityStoreError>
  /** Keeps a service's status (replacing the one it had). */
  readonly putServiceStatus: (record: ServiceStatusRecord) => Effect.Effect<void, SecurityStoreError>
  /** A service's stored status, or `undefined` when it was never set (the service is then `STARTED`). */
  readonly getServiceStatus: (service: string) => Effect.Effect<ServiceStatusRecord | undefined, SecurityStoreError>
  /** Every stored service status, by service. */
  readonly listServiceStatuses: Effect.Effect<ReadonlyArray<ServiceStatusRecord>, SecurityStoreError>
}

/**
 * The security store service.
 *
 * @category services
 */
export class SecurityStore extends Context.Service<SecurityStore, SecurityStoreShape>()("@geojobs/core/SecurityStore") {
  /**
   * A store in memory, empty at start; for tests and throwaway servers.
   *
   * @category layers
   */
  static readonly layerMemory: Layer.Layer<SecurityStore> = Layer.sync(SecurityStore, () => makeMemory())
}

const byKey =
  <A>(key: (a: A) => string) =>
  (a: A, b: A) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0

const makeMemory = (): SecurityStoreShape => {
  // Maps, not objects: no name (`__proto__`, `constructor`) means anything but itself.
  const users = new Map<string, UserRecord>()
  const roles = new Map<string, RoleRecord>()
  const tokens = new Map<string, TokenRecord>()
  const statuses = new Map<string, ServiceStatusRecord>()
  const user = (username: string) => {
    const found = users.get(username)
    return found === undefined ? Effect.fail(new NoSuchUser({ username })) : Effect.succeed(found)
  }
  const dropTokens = (f: (t: TokenRecord) => boolean) => {
    let n = 0
    for (const [digest, token] of tokens) {
      if (f(token)) {
        tokens.delete(digest)
        n++
      }
    }
    return n
  }
  return {
    getUser: (username) => Effect.suspend(() => user(username)),
    createUser: (record) =>
      Effect.suspend(() => {
        if (users.has(record.username)) return Effect.fail(new UserExists({ username: record.username }))
        users.set(record.username, { ...record })
        return Effect.void
      }),
    updateUser: (username, change) =>
      Effect.flatMap(
        Effect.suspend(() => user(username)),
        (found) =>
          Effect.sync(() => {
            users.set(username, {
              ...found,
              ...(change.passwordHash === undefined ? {} : { passwordHash: change.passwordHash }),
              ...(change.role === undefined ? {} : { role: change.role }),
              ...(change.disabled === undefined ? {} : { disabled: change.disabled })
            })
            dropTokens((t) => t.username === username)
          })
      ),
    deleteUser: (username) =>
      Effect.flatMap(
        Effect.suspend(() => user(username)),
        () =>
          Effect.sync(() => {
            dropTokens((t) => t.username === username)
            users.delete(username)
          })
      ),
    listUsers: Effect.sync(() =>
      [...users.values()].map(({ passwordHash: _, ...summary }) => summary).sort(byKey((u: UserSummary) => u.username))
    ),
    countUsers: (role) =>
      Effect.sync(() => [...users.values()].filter((u) => role === undefined || u.role === role).length),
    getRole: (name) =>
      Effect.suspend(() => {
        const found = roles.get(name)
        return found === undefined ? Effect.fail(new UnknownRole({ role: name })) : Effect.succeed(found)
      }),
    putRole: (role) =>
      Effect.sync(() => void roles.set(role.name, { name: role.name, privileges: [...role.privileges] })),
    deleteRole: (name) =>
      Effect.suspend(() => (roles.delete(name) ? Effect.void : Effect.fail(new UnknownRole({ role: name })))),
    listRoles: Effect.sync(() => [...roles.values()].sort(byKey((r: RoleRecord) => r.name))),
    insertToken: (token) =>
      Effect.suspend(() => {
        const owner = users.get(token.username)
        if (owner === undefined || owner.disabled) return Effect.fail(new NoSuchUser({ username: token.username }))
        tokens.set(token.digest, { ...token })
        return Effect.void
      }),
    findToken: (digest) =>
      Effect.suspend(() => {
        const token = tokens.get(digest)
        const owner = token === undefined ? undefined : users.get(token.username)
        if (token === undefined || owner === undefined) return Effect.fail(new NoSuchToken())
        return Effect.succeed({
          username: token.username,
          role: owner.role,
          expires: token.expires,
          referer: token.referer,
          ip: token.ip
        })
      }),
    deleteToken: (digest) => Effect.sync(() => void tokens.delete(digest)),
    deleteUserTokens: (username) => Effect.sync(() => dropTokens((t) => t.username === username)),
    purgeExpiredTokens: (now) => Effect.sync(() => dropTokens((t) => t.expires <= now)),
    putServiceStatus: (record) => Effect.sync(() => void statuses.set(record.service, { ...record })),
    getServiceStatus: (service) => Effect.sync(() => statuses.get(service)),
    listServiceStatuses: Effect.sync(() => [...statuses.values()].sort(byKey((r: ServiceStatusRecord) => r.service)))
  }
}
