/**
 * One node:sqlite database as the stores use it: opened in WAL mode with a busy timeout (several processes share a
 * file), migrated under the write lock (`PRAGMA user_version` counts the migrations run), closed with its layer;
 * synchronous work run as Effects whose domain outcomes stay typed while anything thrown becomes the store's own
 * error; and group commit for writes. The job store and the security store are built on it.
 *
 * @module
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync, type StatementSync } from "node:sqlite"
import { Effect } from "effect"
import * as SqliteCheckpointer from "./SqliteCheckpointer.ts"

/**
 * Where and how to open a database.
 *
 * @category models
 */
export interface Options {
  /** A file path, or `:memory:` for a private in-memory database. */
  readonly filename: string
  /**
   * `normal` (the default): a committed write survives a process crash; an OS crash may lose the last commits.
   * `full` closes that gap at the cost of an fsync per commit.
   */
  readonly synchronous?: "normal" | "full" | undefined
  /** How long a writer waits for another process's transaction, in milliseconds (default 5000). */
  readonly busyTimeoutMs?: number | undefined
  /**
   * `inline` (the default): SQLite checkpoints the write-ahead log inside the commit that crosses 1,000 pages.
   * `background`: a worker thread does it (`SqliteCheckpointer`), for databases that hold big values.
   */
  readonly checkpoint?: "inline" | "background" | undefined
}

/**
 * Opens the database and applies the migrations not yet run, in order. Throws what node:sqlite throws; callers wrap
 * it in their error (see {@link acquire}).
 *
 * @category constructors
 */
export const open = (options: Options, migrations: ReadonlyArray<string>): DatabaseSync => {
  if (options.filename !== ":memory:") mkdirSync(dirname(options.filename), { recursive: true })
  const db = new DatabaseSync(options.filename)
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`)
    db.exec("PRAGMA journal_mode = WAL")
    db.exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
    db.exec("PRAGMA foreign_keys = ON")
    if (options.checkpoint === "background" && options.filename !== ":memory:") db.exec("PRAGMA wal_autocheckpoint = 0")
    // Two processes may start at once on a new file: the write lock makes exactly one of them migrate.
    transaction(db, () => {
      const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version
      for (const [i, sql] of migrations.entries()) if (i >= version) db.exec(sql)
      if (version < migrations.length) db.exec(`PRAGMA user_version = ${migrations.length}`)
    })
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

/**
 * The database as a scoped resource: opened (failing with `onError`) and closed when the scope ends.
 *
 * @category constructors
 */
export const acquire = <E>(
  options: Options,
  migrations: ReadonlyArray<string>,
  onError: (operation: string, cause: unknown) => E
) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const db = open(options, migrations)
        const background = options.checkpoint === "background" && options.filename !== ":memory:"
        return { db, checkpointer: background ? SqliteCheckpointer.start(options.filename) : undefined }
      },
      catch: (cause) => onError(`open ${options.filename}`, cause)
    }),
    ({ db, checkpointer }) =>
      Effect.promise(async () => {
        await checkpointer?.stop()
        // The close checkpoints what is left of the log.
        if (db.isOpen) db.close()
      })
  ).pipe(Effect.map(({ db }) => db))

/**
 * Runs `f` in a write transaction (BEGIN IMMEDIATE takes the write lock at once, so reads inside are current).
 *
 * @category combinators
 */
export const transaction = <A>(db: DatabaseSync, f: () => A): A => {
  db.exec("BEGIN IMMEDIATE")
  try {
    const result = f()
    db.exec("COMMIT")
    return result
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK")
    throw error
  }
}

/**
 * What synchronous database work answers: a value, or a domain error (anything thrown is an infrastructure error).
 *
 * @category models
 */
export type Outcome<A, E> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: E }

/** @category constructors */
export const ok = <A>(value: A): Outcome<A, never> => ({ ok: true, value })
/** @category constructors */
export const err = <E>(error: E): Outcome<never, E> => ({ ok: false, error })

/**
 * Runs synchronous database work as an Effect: domain outcomes stay typed, anything thrown becomes `onError`'s error.
 *
 * @category constructors
 */
export const runner =
  <F>(onError: (operation: string, cause: unknown) => F) =>
  <A, E>(operation: string, f: () => Outcome<A, E>): Effect.Effect<A, E | F> =>
    Effect.suspend((): Effect.Effect<A, E | F> => {
      let outcome: Outcome<A, E>
      try {
        outcome = f()
      } catch (cause) {
        return Effect.fail(onError(operation, cause))
      }
      return outcome.ok ? Effect.succeed(outcome.value) : Effect.fail(outcome.error)
    })

/**
 * Group commit: writes requested in the same turn of the event loop run in one transaction (as many as fit in a
 * `sliceMs` time slice, default 10 ms; the rest in the next turn), and each is acknowledged
 * once that transaction has committed. Under concurrent submitters this turns many commits (each a WAL append) into
 * one; a lone write waits only for the next turn. A write that fails (a duplicate id, say) fails alone: it runs in a
 * savepoint of its own, so it leaves nothing behind.
 *
 * @category constructors
 */
export const groupCommit = <F>(db: DatabaseSync, onError: (operation: string, cause: unknown) => F, sliceMs = 10) => {
  interface Pending {
    readonly operation: string
    readonly work: () => Outcome<unknown, unknown>
    readonly resume: (effect: Effect.Effect<unknown, unknown>) => void
  }
  const pending: Array<Pending> = []
  const flush = () => {
    const items: Array<Pending> = []
    const outcomes: Array<{ readonly outcome?: Outcome<unknown, unknown>; readonly thrown?: unknown }> = []
    const started = performance.now()
    try {
      db.exec("BEGIN IMMEDIATE")
      // A turn's writes share one commit, but a transaction of many big writes (a burst of multi-MB submissions) is one
      // long step of the event loop: past the time slice, commit what is done and leave the rest for the next turn.
      while (pending.length > 0 && (items.length === 0 || performance.now() - started < sliceMs)) {
        const item = pending.shift() as Pending
        items.push(item)
        db.exec("SAVEPOINT item")
        try {
          outcomes.push({ outcome: item.work() })
          db.exec("RELEASE item")
        } catch (thrown) {
          db.exec("ROLLBACK TO item")
          db.exec("RELEASE item")
          outcomes.push({ thrown })
        }
      }
      db.exec("COMMIT")
    } catch (cause) {
      if (db.isOpen && db.isTransaction) db.exec("ROLLBACK")
      for (const item of items) item.resume(Effect.fail(onError(item.operation, cause)))
      if (pending.length > 0) setImmediate(flush)
      return
    }
    if (pending.length > 0) setImmediate(flush)
    items.forEach((item, i) => {
      const { outcome, thrown } = outcomes[i] ?? {}
      if (outcome === undefined) item.resume(Effect.fail(onError(item.operation, thrown)))
      else item.resume(outcome.ok ? Effect.succeed(outcome.value) : Effect.fail(outcome.error))
    })
  }
  return <A, E>(operation: string, work: () => Outcome<A, E>): Effect.Effect<A, E | F> =>
    Effect.callback<A, E | F>((resume) => {
      pending.push({ operation, work, resume: resume as Pending["resume"] })
      if (pending.length === 1) setImmediate(flush)
    })
}

/**
 * Prepared statements by their text, each compiled once (a dynamic query's few shapes included).
 *
 * @category constructors
 */
export const statements = (db: DatabaseSync): ((text: string) => StatementSync) => {
  const cache = new Map<string, StatementSync>()
  return (text) => {
    let statement = cache.get(text)
    if (statement === undefined) {
      statement = db.prepare(text)
      cache.set(text, statement)
    }
    return statement
  }
}

/**
 * A memo of reads on `db` by key, good while the database is as it was when they were read: `total_changes()` moves
 * with every row written through this connection, `data_version` when any other connection — another process on the
 * data folder — commits; both are checked before every answer, and any change anywhere forgets every remembered read.
 * Two statements rather than one `SELECT total_changes(), (SELECT data_version FROM pragma_data_version)`: the
 * pragma's table form plans a statement of its own on every call. Measured inside the server under `pnpm bench:http`
 * (2026-12-07, 2 cores): 13.0 µs a check as one statement, 9.6 µs as two (2.8 of it `total_changes()`), at ~1.9
 * checks per status read (the token's memo and the job's) — alone in a loop the same checks take 3.7 and 2.5 µs.
 * `read` may answer undefined (nothing there), which is remembered too. At most `max` reads are kept: past that the
 * memo starts over, so keys an attacker makes up (forged tokens) empty it rather than grow it.
 *
 * @category constructors
 */
export const memo = <K, V>(db: DatabaseSync, max: number): ((key: K, read: () => V) => V) => {
  const changesNow = db.prepare("SELECT total_changes()")
  const versionNow = db.prepare("PRAGMA data_version")
  changesNow.setReturnArrays(true)
  versionNow.setReturnArrays(true)
  const remembered = new Map<K, V>()
  let changesAt = -1
  let versionAt = -1
  return (key, read) => {
    const [changes] = changesNow.get() as unknown as readonly [number]
    const [version] = versionNow.get() as unknown as readonly [number]
    if (changes !== changesAt || version !== versionAt || remembered.size >= max) {
      remembered.clear()
      changesAt = changes
      versionAt = version
    }
    if (remembered.has(key)) return remembered.get(key) as V
    const value = read()
    remembered.set(key, value)
    return value
  }
}

/**
 * A status (or any text) list as SQL literals for `IN (…)`. Only for values from core's tables, never user input.
 *
 * @category constructors
 */
export const literals = (values: ReadonlyArray<string>): string =>
  values.map((v) => `'${v.replaceAll("'", "''")}'`).join(", ")
