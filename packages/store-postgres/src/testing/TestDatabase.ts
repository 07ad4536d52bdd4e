/**
 * For tests of this package and of whoever runs GeoJobs on PostgreSQL (the server app's cluster tests): the database
 * they run against, and a fresh schema per test. The database is `postgres://postgres@127.0.0.1:5432/test` unless
 * `GEOJOBS_TEST_DATABASE_URL` says otherwise. When it cannot be reached the suites are skipped with a warning saying
 * why — or, with `GEOJOBS_REQUIRE_PG=1` (CI), every test file that loads this module fails with that reason.
 *
 * @module
 */
import { Effect, Layer, type Scope } from "effect"
import pg from "pg"

export const url = process.env.GEOJOBS_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const required = process.env.GEOJOBS_REQUIRE_PG === "1"

const probe = async (): Promise<string | undefined> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
    await client.query("SELECT 1")
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error)
  } finally {
    await client.end().catch(() => undefined)
  }
}

const problem = await probe()
if (problem !== undefined) {
  const why = `PostgreSQL at ${url} cannot be reached (${problem})`
  if (required) throw new Error(`${why}, and GEOJOBS_REQUIRE_PG=1 requires it: start it (.ci/run does) or unset it.`)
  console.warn(`${why}: skipping the PostgreSQL tests (set GEOJOBS_REQUIRE_PG=1 to make this a failure).`)
}

/** Whether the database is missing (tests are then skipped: `describe.skipIf(unavailable)`). */
export const unavailable = problem !== undefined

/** Options of a database nobody listens at (a refused connection, at once). */
export const unreachable = {
  connectionString: "postgres://postgres@127.0.0.1:1/test",
  pool: { connectionTimeoutMillis: 2000 }
}

let n = 0

/** Runs one statement on a connection of its own (schema set-up and clean-up, inspection). */
export const admin = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values?: ReadonlyArray<unknown>
): Effect.Effect<ReadonlyArray<R>> =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      return (await client.query<R>(text, values as Array<unknown> | undefined)).rows
    } finally {
      await client.end()
    }
  })

/** A schema name no other test uses, not yet created (the store creates it). @category constructors */
export const schemaName = (): string => `geojobs_test_${process.pid}_${++n}_${Math.random().toString(36).slice(2, 8)}`

/** Drops a schema and everything in it. @category destructors */
export const dropSchema = (schema: string): Effect.Effect<void> =>
  Effect.asVoid(admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))

/**
 * A schema name no other test uses, not yet created (the store creates it), dropped with everything in it when the
 * scope ends.
 *
 * @category constructors
 */
export const freshSchema: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(schemaName),
  dropSchema
)

/**
 * A store layer on a fresh schema (see {@link freshSchema}): the schema is dropped after the layer's pool has ended.
 *
 * @category layers
 */
export const onFreshSchema = <A, E>(make: (schema: string) => Layer.Layer<A, E>): Layer.Layer<A, E> =>
  Layer.unwrap(Effect.map(freshSchema, make))
