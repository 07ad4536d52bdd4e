/**
 * Core's `SecurityStore` on PostgreSQL, so that every node on one database shares users, roles, tokens and which
 * services are stopped (a service stopped through one node takes no new jobs on any): a token
 * issued by one node works on all, and a change to a user revokes their tokens everywhere at once. It keeps what it
 * is given — password hashes, token digests — and passes the SecurityStore contract suite. The token lookup, run on
 * every authenticated request, is one indexed read.
 *
 * @module
 */
import { SecurityStore } from "@geojobs/core"
import { Effect, Layer } from "effect"
import * as PgDatabase from "./PgDatabase.ts"

/**
 * Where the database is, and the schema of the tables.
 *
 * @category models
 */
export type Options = PgDatabase.Options

/**
 * The migrations, in order (a schema made by an earlier GeoJobs is brought up to date at start).
 *
 * @category models
 */
export const migrations: PgDatabase.Migrations = {
  component: "security",
  steps: [
    `CREATE TABLE roles (name text PRIMARY KEY, privileges text[] NOT NULL);
     CREATE TABLE users (username text CONSTRAINT users_username_unique PRIMARY KEY, password text NOT NULL,
       role text NOT NULL, full_name text NOT NULL DEFAULT '', created bigint NOT NULL);
     CREATE TABLE tokens (digest text PRIMARY KEY, username text NOT NULL, expires bigint NOT NULL, referer text,
       ip text, created bigint NOT NULL);
     CREATE INDEX tokens_user ON tokens (username);
     CREATE INDEX tokens_expires ON tokens (expires);`,
    // Disabled users (issue 10): kept with their jobs, unable to sign in.
    `ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;`,
    // Services an administrator started or stopped (issue 14): every node on the database sees the same.
    `CREATE TABLE service_status (service text PRIMARY KEY, status text NOT NULL CHECK (status IN ('STARTED', 'STOPPED')),
       changed bigint NOT NULL, changed_by text NOT NULL);`
  ]
}

const storeError = (operation: string, cause: unknown) => new SecurityStore.SecurityStoreError({ operation, cause })

interface UserRow {
  readonly username: string
  readonly password: string
  readonly role: string
  readonly full_name: string
  readonly created: number
  readonly disabled: boolean
}

interface StatusRow {
  readonly service: string
  readonly status: SecurityStore.ServiceStatus
  readonly changed: number
  readonly changed_by: string
}

const statusOf = (row: StatusRow): SecurityStore.ServiceStatusRecord => ({
  service: row.service,
  status: row.status,
  changed: Number(row.changed),
  changedBy: row.changed_by
})

const make = (db: PgDatabase.Database<SecurityStore.SecurityStoreError>): SecurityStore.SecurityStoreShape => {
  const users = db.table("users")
  const roles = db.table("roles")
  const tokens = db.table("tokens")
  const statuses = db.table("service_status")
  const noSuchUser = (username: string) => Effect.fail(new SecurityStore.NoSuchUser({ username }))
  const count = (effect: Effect.Effect<{ readonly rowCount: number | null }, SecurityStore.SecurityStoreError>) =>
    Effect.map(effect, (result) => result.rowCount ?? 0)

  return {
    getUser: (username) =>
      Effect.flatMap(
        db.query<UserRow>(
          "get user",
          `SELECT username, password, role, full_name, created, disabled FROM ${users} WHERE username = $1`,
          [username]
        ),
        (result) => {
          const row = result.rows[0]
          return row === undefined
            ? noSuchUser(username)
            : Effect.succeed({
                username: row.username,
                passwordHash: row.password,
                role: row.role,
                fullName: row.full_name,
                created: row.created,
                disabled: row.disabled
              })
        }
      ),
    createUser: (user) =>
      db
        .query(
          "create user",
          `INSERT INTO ${users} (username, password, role, full_name, created, disabled) VALUES ($1, $2, $3, $4, $5, $6)`,
          [user.username, user.passwordHash, user.role, user.fullName, user.created, user.disabled]
        )
        .pipe(
          Effect.asVoid,
          Effect.catchIf(
            (e): e is SecurityStore.SecurityStoreError =>
              PgDatabase.isUniqueViolation(e.cause, "users_username_unique"),
            () => Effect.fail(new SecurityStore.UserExists({ username: user.username }))
          )
        ),
    updateUser: (username, change) =>
      // Two statements in one transaction: the UPDATE waits for a token being issued to this user (it holds the row
      // FOR SHARE) to commit, and the DELETE, a later statement, then sees that token and revokes it too.
      db.transaction("update user", (tx) =>
        Effect.gen(function* () {
          const updated = yield* tx.query(
            "update user",
            `UPDATE ${users} SET password = coalesce($2, password), role = coalesce($3, role),
               disabled = coalesce($4, disabled) WHERE username = $1`,
            [username, change.passwordHash ?? null, change.role ?? null, change.disabled ?? null]
          )
          if (updated.rowCount !== 1) return yield* noSuchUser(username)
          yield* tx.query("update user", `DELETE FROM ${tokens} WHERE username = $1`, [username])
        })
      ),
    deleteUser: (username) =>
      // The user first (waiting, as in updateUser, for a token being issued), then every token of theirs.
      db.transaction("delete user", (tx) =>
        Effect.gen(function* () {
          const deleted = yield* tx.query("delete user", `DELETE FROM ${users} WHERE username = $1`, [username])
          if (deleted.rowCount !== 1) return yield* noSuchUser(username)
          yield* tx.query("delete user", `DELETE FROM ${tokens} WHERE username = $1`, [username])
        })
      ),
    listUsers: Effect.map(
      db.query<Omit<UserRow, "password">>(
        "list users",
        `SELECT username, role, full_name, created, disabled FROM ${users} ORDER BY username COLLATE "C"`
      ),
      (result) =>
        result.rows.map((r) => ({
          username: r.username,
          role: r.role,
          fullName: r.full_name,
          created: r.created,
          disabled: r.disabled
        }))
    ),
    countUsers: (role) =>
      Effect.map(
        role === undefined
          ? db.query<{ n: number }>("count users", `SELECT count(*) AS n FROM ${users}`)
          : db.query<{ n: number }>("count users", `SELECT count(*) AS n FROM ${users} WHERE role = $1`, [role]),
        (result) => result.rows[0]?.n ?? 0
      ),
    getRole: (name) =>
      Effect.flatMap(
        db.query<{ privileges: Array<string> }>("get role", `SELECT privileges FROM ${roles} WHERE name = $1`, [name]),
        (result) => {
          const row = result.rows[0]
          return row === undefined
            ? Effect.fail(new SecurityStore.UnknownRole({ role: name }))
            : Effect.succeed({ name, privileges: row.privileges })
        }
      ),
    putRole: (role) =>
      Effect.asVoid(
        db.query(
          "put role",
          `INSERT INTO ${roles} (name, privileges) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET privileges = excluded.privileges`,
          [role.name, role.privileges]
        )
      ),
    deleteRole: (name) =>
      Effect.flatMap(count(db.query("delete role", `DELETE FROM ${roles} WHERE name = $1`, [name])), (n) =>
        n === 1 ? Effect.void : Effect.fail(new SecurityStore.UnknownRole({ role: name }))
      ),
    listRoles: Effect.map(
      db.query<{ name: string; privileges: Array<string> }>(
        "list roles",
        `SELECT name, privileges FROM ${roles} ORDER BY name COLLATE "C"`
      ),
      (result) => result.rows.map((r) => ({ name: r.name, privileges: r.privileges }))
    ),
    insertToken: (token) =>
      // One statement: the user is checked and the token kept atomically. FOR SHARE makes it wait for a change or
      // removal of the user in progress and then see its outcome (a disabled or removed user gets no token), and
      // makes such a change wait for this token, which it then revokes.
      Effect.flatMap(
        count(
          db.query(
            "issue token",
            `INSERT INTO ${tokens} (digest, username, expires, referer, ip, created)
             SELECT $1, username, $3, $4, $5, $6 FROM ${users} WHERE username = $2 AND NOT disabled FOR SHARE`,
            [token.digest, token.username, token.expires, token.referer, token.ip, token.created]
          )
        ),
        (n) => (n === 1 ? Effect.void : noSuchUser(token.username))
      ),
    findToken: (digest) =>
      Effect.flatMap(
        db.query<{ username: string; expires: number; referer: string | null; ip: string | null; role: string }>(
          "verify token",
          `SELECT t.username, t.expires, t.referer, t.ip, u.role FROM ${tokens} t
           JOIN ${users} u ON u.username = t.username WHERE t.digest = $1`,
          [digest]
        ),
        (result) => {
          const row = result.rows[0]
          // A token whose user is gone is no token (the join finds no user).
          return row === undefined
            ? Effect.fail(new SecurityStore.NoSuchToken())
            : Effect.succeed({
                username: row.username,
                role: row.role,
                expires: row.expires,
                referer: row.referer,
                ip: row.ip
              })
        }
      ),
    deleteToken: (digest) =>
      Effect.asVoid(db.query("revoke token", `DELETE FROM ${tokens} WHERE digest = $1`, [digest])),
    deleteUserTokens: (username) =>
      count(db.query("revoke tokens", `DELETE FROM ${tokens} WHERE username = $1`, [username])),
    purgeExpiredTokens: (now) => count(db.query("purge tokens", `DELETE FROM ${tokens} WHERE expires <= $1`, [now])),
    putServiceStatus: (record) =>
      Effect.asVoid(
        db.query(
          "put service status",
          `INSERT INTO ${statuses} (service, status, changed, changed_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT (service) DO UPDATE SET status = excluded.status, changed = excluded.changed,
             changed_by = excluded.changed_by`,
          [record.service, record.status, record.changed, record.changedBy]
        )
      ),
    getServiceStatus: (service) =>
      Effect.map(
        db.query<StatusRow>(
          "get service status",
          `SELECT service, status, changed, changed_by FROM ${statuses} WHERE service = $1`,
          [service]
        ),
        (result) => {
          const row = result.rows[0]
          return row === undefined ? undefined : statusOf(row)
        }
      ),
    listServiceStatuses: Effect.map(
      db.query<StatusRow>(
        "list service statuses",
        `SELECT service, status, changed, changed_by FROM ${statuses} ORDER BY service COLLATE "C"`
      ),
      (result) => result.rows.map(statusOf)
    )
  }
}

/**
 * The security store on one PostgreSQL schema (migrated at start); the pool ends when the layer is released.
 *
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<SecurityStore.SecurityStore, SecurityStore.SecurityStoreError> =>
  Layer.effect(SecurityStore.SecurityStore, Effect.map(PgDatabase.acquire(options, migrations, storeError), make))
