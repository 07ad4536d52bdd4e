/**
 * One PostgreSQL database as the stores use it: a `pg.Pool` acquired with its layer and ended on release; each store's
 * migrations run at start in one transaction under a fixed advisory lock and are recorded in `geojobs_migrations`, so
 * several nodes starting together on a fresh database never race; every table lives in one configurable schema; and
 * every driver failure becomes the store's own tagged error (nothing is thrown across the module boundary). The job
 * store and the security store are built on it.
 *
 * @module
 */
import { Effect, Exit, type Scope } from "effect"
import pg from "pg"

/**
 * Where the database is and how to reach it.
 *
 * @category models
 */
export interface Options {
  /** `postgres://user@host:5432/database`; may be left out when `pool` (or the `PG*` variables) say where. */
  readonly connectionString?: string | undefined
  /** Anything else node-postgres takes (TLS, timeouts, application name); `connectionString` and `max` win. */
  readonly pool?: pg.PoolConfig | undefined
  /** The schema every table lives in (created when missing); default `public`. */
  readonly schema?: string | undefined
  /** The most connections this store's pool opens (default 10, node-postgres' own). */
  readonly max?: number | undefined
  /**
   * How long a statement waits for a connection from the pool, a new one included (default 5,000 ms). Unbounded
   * (node-postgres' default), a database the network stopped answering held every request for good.
   */
  readonly connectTimeoutMs?: number | undefined
  /**
   * How long a statement waits for its answer (default 10,000 ms); past it the statement fails and its connection is
   * closed rather than reused. Migrations have no such limit (a step may build an index over every job, or wait for
   * another node's migrations).
   */
  readonly statementTimeoutMs?: number | undefined
}

/**
 * The migrations of one store, in order. `component` names them in `geojobs_migrations`, so that stores sharing a
 * schema keep their own counts; a step, once released, is never edited (a change is a new step).
 *
 * @category models
 */
export interface Migrations {
  readonly component: string
  readonly steps: ReadonlyArray<string>
}

/**
 * Statements on one connection (a transaction's) or on the pool.
 *
 * @category models
 */
export interface Queryable<F> {
  readonly query: <R extends pg.QueryResultRow = pg.QueryResultRow>(
    operation: string,
    text: string,
    values?: ReadonlyArray<unknown>
  ) => Effect.Effect<pg.QueryResult<R>, F>
}

/**
 * The database as a store sees it.
 *
 * @category models
 */
export interface Database<F> extends Queryable<F> {
  readonly schema: string
  /** A table of the schema, quoted and qualified, to put in a statement's text. */
  readonly table: (name: string) => string
  /**
   * Runs `f` in a transaction on one connection: committed when `f` succeeds, rolled back when it fails. An
   * interrupted transaction's connection is destroyed rather than reused (its last statement may still be running).
   */
  readonly transaction: <A, E>(
    operation: string,
    f: (tx: Queryable<F>) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | F>
}

/**
 * The waits of `options` in node-postgres' terms, for a pool's or a lone client's config: a connection within
 * `connectTimeoutMs` (default 5 s), an answer within `statementTimeoutMs` (default 10 s). Unbounded (node-postgres'
 * default), a network that stopped answering held every statement for good: found by apps/server's Outage test with a
 * proxy that stopped carrying bytes — each /health probe left a statement unanswered on a connection, and once the
 * pool's connections were all held so, every request waited.
 *
 * @category constructors
 */
export const waits = (
  options: Options
): { readonly connectionTimeoutMillis: number; readonly query_timeout: number } => ({
  connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
  query_timeout: options.statementTimeoutMs ?? 10_000
})

/** The advisory lock every migration runs under, whatever the schema ("geojobs" in ASCII). */
export const migrationLock = 0x67656f6a6f6273n

/**
 * An identifier quoted for SQL text (a schema or table name from options, never a value: values are parameters).
 *
 * @category constructors
 */
export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`

/**
 * A list of SQL string literals, for `IN (…)`: the status lists from core's status table, written into a statement's
 * text. A named statement runs on a generic plan after five executions, and with `status = ANY($n)` that plan cannot
 * know the statuses: the claim's plan then walked a service's whole history by the service index and filtered it —
 * measured 2026-12-06 in `pnpm bench:cluster`, 2,963 rows read per claim in a schema of ~6,000 jobs, 6.6 ms a claim,
 * the PostgreSQL server's largest cost per job — where the status index reads only the queued jobs.
 *
 * @category constructors
 */
export const literals = (values: ReadonlyArray<string>): string =>
  values.map((v) => `'${v.replaceAll("'", "''")}'`).join(", ")

/**
 * Whether a driver failure is a unique violation (SQLSTATE 23505), optionally of one constraint.
 *
 * @category guards
 */
export const isUniqueViolation = (cause: unknown, constraint?: string): boolean =>
  cause instanceof pg.DatabaseError &&
  cause.code === "23505" &&
  (constraint === undefined || cause.constraint === constraint)

// bigint (int8) columns hold epoch milliseconds, counts and sequence numbers: all well within a double. The parser is
// this pool's own, so other users of `pg` in the process keep theirs.
const types = new pg.TypeOverrides()
types.setTypeParser(pg.types.builtins.INT8, Number)

/** The most statement texts given names (prepared once per connection); any further text is sent unnamed. */
const maxNamed = 500
const names = new Map<string, string>()

/**
 * The statement to send for `text`: with a name when it has parameters, so that each connection parses and plans it
 * once and later runs only bind and execute. Measured (node-postgres 8, loopback, 8 concurrent clients, 2 cores):
 * 40 µs of client CPU per named statement against 63 µs unnamed, and 21 k statements/s against 14 k. The stores'
 * texts are a small fixed set (the schema is part of the text, so a name never stands for two texts); the cap keeps
 * a store that built texts from data from growing every connection's statement cache without end. Texts without
 * parameters (migrations, several statements in one) go as simple queries.
 */
const statement = (text: string, values: ReadonlyArray<unknown> | undefined): pg.QueryConfig => {
  if (values === undefined) return { text }
  let name = names.get(text)
  if (name === undefined && names.size < maxNamed) {
    name = `geojobs_${names.size}`
    names.set(text, name)
  }
  return name === undefined ? { text, values: [...values] } : { name, text, values: [...values] }
}

/** node-postgres' error for a statement that got no answer within `query_timeout`. */
const isTimeout = (cause: unknown): boolean => cause instanceof Error && cause.message === "Query read timeout"

const queryable = <F>(
  client: pg.Pool | pg.PoolClient,
  onError: (operation: string, cause: unknown) => F,
  onTimeout: () => void = () => {}
): Queryable<F> => ({
  query: <R extends pg.QueryResultRow>(operation: string, text: string, values?: ReadonlyArray<unknown>) =>
    Effect.tryPromise({
      try: () => client.query<R>(statement(text, values)),
      catch: (cause) => {
        if (isTimeout(cause)) onTimeout()
        return onError(operation, cause)
      }
    })
})

const makeDatabase = <F>(
  pool: pg.Pool,
  schema: string,
  onError: (operation: string, cause: unknown) => F
): Database<F> => {
  const broken = new WeakSet<pg.PoolClient>()
  const transaction = <A, E>(operation: string, f: (tx: Queryable<F>) => Effect.Effect<A, E>) =>
    Effect.acquireUseRelease(
      Effect.tryPromise({ try: () => pool.connect(), catch: (cause) => onError(operation, cause) }),
      (client) => {
        // A statement left unanswered: its answer may still come, and would be read as the next statement's, so the
        // connection gets no ROLLBACK and is closed (the server then rolls the transaction back).
        const tx = queryable(client, onError, () => broken.add(client))
        return tx.query(operation, "BEGIN").pipe(
          Effect.andThen(f(tx)),
          Effect.tap(() => tx.query(operation, "COMMIT")),
          Effect.onError(() =>
            broken.has(client)
              ? Effect.void
              : tx.query(operation, "ROLLBACK").pipe(Effect.catch(() => Effect.sync(() => void broken.add(client))))
          )
        )
      },
      // A failed transaction was rolled back above. A connection whose rollback failed, or whose transaction was
      // interrupted (a statement may still be running on it), is closed instead of reused: the server then aborts
      // the transaction and frees its locks.
      (client, exit) => Effect.sync(() => client.release(broken.has(client) || Exit.hasInterrupts(exit)))
    )
  return {
    schema,
    table: (name) => `${ident(schema)}.${ident(name)}`,
    ...queryable(pool, onError),
    transaction
  }
}

/**
 * Brings a schema's `migrations` up to date: in one transaction holding {@link migrationLock}, creates the schema
 * and `geojobs_migrations` when missing, then runs (with the schema first on the search path) and records each step
 * not yet recorded. A node that waited for the lock finds the steps done and runs none.
 *
 * @category combinators
 */
export const migrate = <F>(db: Database<F>, migrations: Migrations): Effect.Effect<void, F> => {
  const operation = `migrate ${migrations.component} in schema ${db.schema}`
  return db.transaction(operation, (tx) =>
    Effect.gen(function* () {
      yield* tx.query(operation, `SELECT pg_advisory_xact_lock(${migrationLock})`)
      // Checked before creating: CREATE SCHEMA needs a privilege on the database that a user of an existing schema
      // may not have.
      const exists = yield* tx.query(operation, "SELECT 1 FROM pg_namespace WHERE nspname = $1", [db.schema])
      if (exists.rowCount === 0) yield* tx.query(operation, `CREATE SCHEMA ${ident(db.schema)}`)
      const record = db.table("geojobs_migrations")
      yield* tx.query(
        operation,
        `CREATE TABLE IF NOT EXISTS ${record} (component text NOT NULL, version integer NOT NULL,
           applied timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))`
      )
      const done = yield* tx.query<{ version: number }>(
        operation,
        `SELECT version FROM ${record} WHERE component = $1`,
        [migrations.component]
      )
      const applied = new Set(done.rows.map((r) => r.version))
      if (migrations.steps.every((_, i) => applied.has(i + 1))) return
      yield* tx.query(operation, `SET LOCAL search_path TO ${ident(db.schema)}`)
      for (const [i, step] of migrations.steps.entries()) {
        if (applied.has(i + 1)) continue
        yield* tx.query(operation, step)
        yield* tx.query(operation, `INSERT INTO ${record} (component, version) VALUES ($1, $2)`, [
          migrations.component,
          i + 1
        ])
      }
    })
  )
}

/** A pool on `options`' database with `config`, its connections' errors heard; ended when the scope ends. */
const open = (options: Options, config: pg.PoolConfig): Effect.Effect<pg.Pool, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const pool = new pg.Pool({
        ...config,
        ...(options.connectionString === undefined ? {} : { connectionString: options.connectionString }),
        types
      })
      // An idle connection that breaks (a server restart) is dropped by the pool; without a listener the pool's
      // `error` event would end the process. The next statement opens a fresh connection or fails with onError.
      pool.on("error", () => {})
      // A connection that breaks while checked out (mid-transaction when the database goes away) emits `error` on its
      // client, where the pool listens only while it is idle: unheard, that error ended the process (found by
      // apps/server's Outage test). The statement in flight fails with onError; the broken client is released with
      // its error and discarded.
      pool.on("connect", (client) => {
        client.on("error", () => {})
      })
      return pool
    }),
    (pool) => Effect.promise(() => pool.end().catch(() => undefined))
  )

/**
 * Brings the schema up to date with `migrations` on a connection of its own, closed afterwards (failing with
 * `onError`). Its connect waits as a pool's (a node that cannot reach its database stops its start in seconds); its
 * statements have no limit (a step may build an index over every job, or wait for another node's migrations).
 *
 * @category combinators
 */
export const migrateOn = <F>(
  options: Options,
  migrations: Migrations,
  onError: (operation: string, cause: unknown) => F
): Effect.Effect<void, F> =>
  Effect.scoped(
    Effect.flatMap(
      open(options, { connectionTimeoutMillis: waits(options).connectionTimeoutMillis, ...options.pool, max: 1 }),
      (pool) => migrate(makeDatabase(pool, options.schema ?? "public", onError), migrations)
    )
  )

/**
 * The database as a scoped resource: the migrations run first ({@link migrateOn}), then the store's pool is opened,
 * ended when the scope ends. A statement on the pool waits as {@link waits} says for a connection and for its answer
 * (a database the network stopped answering then fails requests within seconds instead of holding them), and its
 * connections send TCP keep-alives.
 *
 * @category constructors
 */
export const acquire = <F>(
  options: Options,
  migrations: Migrations,
  onError: (operation: string, cause: unknown) => F
): Effect.Effect<Database<F>, F, Scope.Scope> =>
  Effect.andThen(
    migrateOn(options, migrations, onError),
    open(options, {
      ...waits(options),
      keepAlive: true,
      ...options.pool,
      ...(options.max === undefined ? {} : { max: options.max })
    })
  ).pipe(Effect.map((pool) => makeDatabase(pool, options.schema ?? "public", onError)))
