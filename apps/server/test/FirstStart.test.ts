/**
 * First start of several nodes at once on a fresh store: every node's admin bootstrap succeeds (one of them creates
 * `admin`), on SQLite files and on PostgreSQL, through the storage the app picks from its settings. Each node here has
 * stores of its own (its own connections or pool), as separate server processes do; the Cluster test starts real
 * processes.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Accounts } from "@geojobs/http-server"
import * as TestDatabase from "@geojobs/store-postgres/testing/TestDatabase"
import { Context, Effect, Layer } from "effect"
import { fromEnv, type ServerConfig } from "../src/ServerConfig.ts"
import * as Storage from "../src/Storage.ts"

const dir = mkdtempSync(join(tmpdir(), "geojobs-first-start-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const configOf = (env: Record<string, string>): ServerConfig => {
  const read = fromEnv(env)
  if (!read.ok) throw new Error(read.problems.join("\n"))
  return read.config
}

const nodes = 6

/** `nodes` nodes on the store `env` names, each bootstrapping admin at the same moment. */
const startTogether = (env: Record<string, string>, password: string | undefined) =>
  Effect.gen(function* () {
    const node = (i: number) =>
      Effect.map(
        Layer.build(
          Accounts.Accounts.layer().pipe(
            Layer.provide(Storage.layer(configOf({ ...env, GEOJOBS_NODE_NAME: `node-${i}` })))
          )
        ),
        (context) => Context.get(context, Accounts.Accounts)
      )
    const accounts = yield* Effect.all(
      Array.from({ length: nodes }, (_, i) => node(i)),
      { concurrency: "unbounded" }
    )
    const results = yield* Effect.all(
      accounts.map((a) => a.bootstrapAdmin(password)),
      { concurrency: "unbounded" }
    )
    return { accounts, results }
  })

const checks = (env: () => Record<string, string>) => {
  it.effect("with GEOJOBS_ADMIN_PASSWORD: every node starts, one creates admin, every node signs it in", () =>
    Effect.gen(function* () {
      const { accounts, results } = yield* startTogether(env(), "the admin password")
      assert.strictEqual(results.filter((r) => r.created).length, 1)
      for (const a of accounts) yield* a.authenticate("admin", "the admin password", "192.0.2.1")
      assert.deepStrictEqual(
        (yield* accounts[0]!.listUsers()).map((u) => u.username),
        ["admin"]
      )
    })
  )

  it.effect("with a generated password: only the node that created admin shows one, and it signs in", () =>
    Effect.gen(function* () {
      const { accounts, results } = yield* startTogether(env(), undefined)
      const winners = results.filter((r) => r.created)
      assert.lengthOf(winners, 1)
      assert.isTrue(results.every((r) => r.created || r.password === undefined))
      const principal = yield* accounts[nodes - 1]!.authenticate("admin", winners[0]?.password ?? "", "192.0.2.1")
      assert.strictEqual(principal.role, "administrator")
    })
  )
}

let folders = 0
describe("first start of several nodes on one fresh SQLite data folder", () => {
  checks(() => ({ GEOJOBS_DATA_DIR: join(dir, `data-${++folders}`) }))
})

describe.skipIf(TestDatabase.unavailable)("first start of several nodes on one fresh PostgreSQL schema", () => {
  const schemas: Array<string> = []
  afterAll(async () => {
    for (const schema of schemas) await Effect.runPromise(TestDatabase.dropSchema(schema))
  })
  checks(() => {
    const schema = TestDatabase.schemaName()
    schemas.push(schema)
    return { GEOJOBS_DATABASE_URL: TestDatabase.url, GEOJOBS_DATABASE_SCHEMA: schema, GEOJOBS_DATA_DIR: dir }
  })
})
