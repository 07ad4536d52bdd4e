/**
 * Core's `SecurityStore` on its own node:sqlite file (`security.sqlite`), so that several server processes on one
 * data folder share users, roles, tokens and which services are stopped. It keeps what it is given — password hashes, token digests — and passes
 * the SecurityStore contract suite. The token lookup, run on every authenticated request, is one prepared statement.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite"
import { SecurityStore } from "@geojobs/core"
import { Effect, Layer } from "effect"
import * as SqliteDatabase from "./SqliteDatabase.ts"

/**
 * Where and how to open the database.
 *
 * @category models
 */
export type Options = SqliteDatabase.Options

/**
 * The migrations, in order (files made by earlier GeoJobs versions open unchanged).
 *
 * @category models
 */
export const migrations: ReadonlyArray<string> = [
  `CREATE TABLE roles (name TEXT PRIMARY KEY, privileges TEXT NOT NULL);
   CREATE TABLE users (username TEXT PRIMARY KEY, password TEXT NOT NULL, role TEXT NOT NULL,
     full_name TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL);
   CREATE TABLE tokens (digest TEXT PRIMARY KEY, username TEXT NOT NULL, expires INTEGER NOT NULL, referer TEXT, ip TEXT,
     created INTEGER NOT NULL);
   CREATE INDEX tokens_user ON tokens (username);
   CREATE INDEX tokens_expires ON tokens (expires);`,
  // Disabled users (issue 10): kept with their jobs, unable to sign in.
  `ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;`,
  // Services an administrator started or stopped (issue 14): every process on the data folder sees the same.
  `CREATE TABLE service_status (service TEXT PRIMARY KEY, status TEXT NOT NULL CHECK (status IN ('STARTED', 'STOPPED')),
     changed INTEGER NOT NULL, changed_by TEXT NOT NULL);`
]

const storeError = (operation: string, cause: unknown) => new SecurityStore.SecurityStoreError({ operation, cause })
const { ok, err } = SqliteDatabase

interface UserRow {
  readonly username: string
  readonly password: string
  readonly role: string
  readonly full_name: string
  readonly created: number
  readonly disabled: number
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
  changed: row.changed,
  changedBy: row.changed_by
})

/** Token lookups kept in memory at most (a flood of forged tokens empties the memo, it does not grow it). */
const maxRemembered = 10_000

const make = (db: DatabaseSync): SecurityStore.SecurityStoreShape => {
  const run = SqliteDatabase.runner(storeError)
  // Token lookups (one per signed-in request) answered from memory while nothing has changed anywhere
  // (`SqliteDatabase.memo`: a write through this connection or another process's commit forgets them), so a
  // revocation anywhere is seen by the next lookup. (The 2026-12-03 status read profile: the lookup was 11% of the
  // server's time.)
  const tokens = SqliteDatabase.memo<string, SecurityStore.TokenGrant | undefined>(db, maxRemembered)
  const sql = SqliteDatabase.statements(db)
  const userRow = sql("SELECT username, password, role, full_name, created, disabled FROM users WHERE username = ?")
  // One indexed read per check (tokens by digest, the user's role by username). Written as a subquery, not a JOIN:
  // SQLite marks a JOIN's bound parameter as one the plan depends on, so every new binding expired the statement and
  // each check compiled it again (≈ 10 µs, half of a check); this form stays prepared. Its row comes back as an array:
  // node:sqlite builds a named-property row object slowly (about a quarter of the read's time).
  const tokenRow = db.prepare(`SELECT username, expires, referer, ip,
    (SELECT role FROM users WHERE users.username = tokens.username) AS role FROM tokens WHERE digest = ?`)
  tokenRow.setReturnArrays(true)
  const noSuchUser = (username: string) => err(new SecurityStore.NoSuchUser({ username }))

  return {
    getUser: (username) =>
      run("get user", () => {
        const row = userRow.get(username) as UserRow | undefined
        return row === undefined
          ? noSuchUser(username)
          : ok({
              username: row.username,
              passwordHash: row.password,
              role: row.role,
              fullName: row.full_name,
              created: row.created,
              disabled: row.disabled !== 0
            })
      }),
    createUser: (user) =>
      run("create user", () => {
        try {
          sql(
            "INSERT INTO users (username, password, role, full_name, created, disabled) VALUES (?, ?, ?, ?, ?, ?)"
          ).run(user.username, user.passwordHash, user.role, user.fullName, user.created, user.disabled ? 1 : 0)
        } catch (error) {
          // SQLITE_CONSTRAINT_PRIMARYKEY
          if ((error as { errcode?: number }).errcode === 1555)
            return err(new SecurityStore.UserExists({ username: user.username }))
          throw error
        }
        return ok(undefined)
      }),
    updateUser: (username, change) =>
      run("update user", () =>
        SqliteDatabase.transaction(db, () => {
          const changes = sql(
            "UPDATE users SET password = coalesce(?, password), role = coalesce(?, role), disabled = coalesce(?, disabled) WHERE username = ?"
          ).run(
            change.passwordHash ?? null,
            change.role ?? null,
            change.disabled === undefined ? null : change.disabled ? 1 : 0,
            username
          ).changes
          if (changes !== 1) return noSuchUser(username)
          sql("DELETE FROM tokens WHERE username = ?").run(username)
          return ok(undefined)
        })
      ),
    deleteUser: (username) =>
      run("delete user", () =>
        SqliteDatabase.transaction(db, () => {
          sql("DELETE FROM tokens WHERE username = ?").run(username)
          return sql("DELETE FROM users WHERE username = ?").run(username).changes === 1
            ? ok(undefined)
            : noSuchUser(username)
        })
      ),
    listUsers: run("list users", () =>
      ok(
        (
          sql(
            "SELECT username, role, full_name, created, disabled FROM users ORDER BY username"
          ).all() as unknown as ReadonlyArray<Omit<UserRow, "password">>
        ).map((r) => ({
          username: r.username,
          role: r.role,
          fullName: r.full_name,
          created: r.created,
          disabled: r.disabled !== 0
        }))
      )
    ),
    countUsers: (role) =>
      run("count users", () =>
        ok(
          (
            (role === undefined
              ? sql("SELECT count(*) AS n FROM users").get()
              : sql("SELECT count(*) AS n FROM users WHERE role = ?").get(role)) as { n: number }
          ).n
        )
      ),
    getRole: (name) =>
      run("get role", () => {
        const row = sql("SELECT privileges FROM roles WHERE name = ?").get(name) as { privileges: string } | undefined
        return row === undefined
          ? err(new SecurityStore.UnknownRole({ role: name }))
          : ok({ name, privileges: JSON.parse(row.privileges) as Array<string> })
      }),
    putRole: (role) =>
      run("put role", () => {
        sql(
          "INSERT INTO roles (name, privileges) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET privileges = excluded.privileges"
        ).run(role.name, JSON.stringify(role.privileges))
        return ok(undefined)
      }),
    deleteRole: (name) =>
      run("delete role", () =>
        sql("DELETE FROM roles WHERE name = ?").run(name).changes === 1
          ? ok(undefined)
          : err(new SecurityStore.UnknownRole({ role: name }))
      ),
    listRoles: run("list roles", () =>
      ok(
        (
          sql("SELECT name, privileges FROM roles ORDER BY name").all() as unknown as ReadonlyArray<{
            name: string
            privileges: string
          }>
        ).map((r) => ({ name: r.name, privileges: JSON.parse(r.privileges) as Array<string> }))
      )
    ),
    insertToken: (token) =>
      run("issue token", () => {
        // One statement: the user is checked and the token kept atomically (a concurrent disable or removal wins).
        const changes = sql(
          `INSERT INTO tokens (digest, username, expires, referer, ip, created)
           SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE username = ? AND disabled = 0)`
        ).run(
          token.digest,
          token.username,
          token.expires,
          token.referer,
          token.ip,
          token.created,
          token.username
        ).changes
        return changes === 1 ? ok(undefined) : noSuchUser(token.username)
      }),
    findToken: (digest) =>
      run("verify token", () => {
        const grant = tokens(digest, () => {
          const row = tokenRow.get(digest) as unknown as
            | readonly [
                username: string,
                expires: number,
                referer: string | null,
                ip: string | null,
                role: string | null
              ]
            | undefined
          // A token whose user is gone is no token.
          return row === undefined || row[4] === null
            ? undefined
            : { username: row[0], expires: row[1], referer: row[2], ip: row[3], role: row[4] }
        })
        return grant === undefined ? err(new SecurityStore.NoSuchToken()) : ok(grant)
      }),
    deleteToken: (digest) =>
      run("revoke token", () => {
        sql("DELETE FROM tokens WHERE digest = ?").run(digest)
        return ok(undefined)
      }),
    deleteUserTokens: (username) =>
      run("revoke tokens", () => ok(Number(sql("DELETE FROM tokens WHERE username = ?").run(username).changes))),
    purgeExpiredTokens: (now) =>
      run("purge tokens", () => ok(Number(sql("DELETE FROM tokens WHERE expires <= ?").run(now).changes))),
    putServiceStatus: (record) =>
      run("put service status", () => {
        sql(
          `INSERT INTO service_status (service, status, changed, changed_by) VALUES (?, ?, ?, ?)
           ON CONFLICT (service) DO UPDATE SET status = excluded.status, changed = excluded.changed,
             changed_by = excluded.changed_by`
        ).run(record.service, record.status, record.changed, record.changedBy)
        return ok(undefined)
      }),
    getServiceStatus: (service) =>
      run("get service status", () => {
        const row = sql("SELECT service, status, changed, changed_by FROM service_status WHERE service = ?").get(
          service
        ) as StatusRow | undefined
        return ok(row === undefined ? undefined : statusOf(row))
      }),
    listServiceStatuses: run("list service statuses", () =>
      ok(
        (
          sql(
            "SELECT service, status, changed, changed_by FROM service_status ORDER BY service"
          ).all() as unknown as ReadonlyArray<StatusRow>
        ).map(statusOf)
      )
    )
  }
}

/**
 * The security store on an SQLite file of its own; the connection closes when the layer is released.
 *
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<SecurityStore.SecurityStore, SecurityStore.SecurityStoreError> =>
  Layer.effect(SecurityStore.SecurityStore, Effect.map(SqliteDatabase.acquire(options, migrations, storeError), make))
