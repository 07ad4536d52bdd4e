/**
 * The PostgreSQL the server tests run against, and a fresh schema per test run. The database is
 * `postgres://postgres@127.0.0.1:5432/test` unless `GEOJOBS_TEST_DATABASE_URL` says otherwise. When it cannot be
 * reached the PostgreSQL tests are skipped with a warning saying why — or, with `GEOJOBS_REQUIRE_PG=1` (CI), every
 * test file that loads this module fails with that reason. (The pattern of `@geojobs/store-postgres`'s tests.)
 */
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

/** Runs one statement on a connection of its own (schema clean-up, inspection). */
export const admin = async <R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values?: ReadonlyArray<unknown>
): Promise<ReadonlyArray<R>> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text, values as Array<unknown> | undefined)).rows
  } finally {
    await client.end()
  }
}

let n = 0

/** A schema name no other test uses, not yet created (the store creates it); drop it with {@link dropSchema}. */
export const freshSchema = (): string =>
  `geojobs_server_test_${process.pid}_${++n}_${Math.random().toString(36).slice(2, 8)}`

/** Drops a schema and everything in it. */
export const dropSchema = async (schema: string): Promise<void> => {
  await admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
}
