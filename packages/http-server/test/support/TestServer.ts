/**
 * A real GeoJobs server for tests, in memory (fastify.inject) or on a port: a SQLite job store and security store in a
 * temporary folder, real worker threads, a services file with public and role-restricted services, and users of every
 * built-in role.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, ManagedRuntime } from "effect"
import type { FastifyInstance } from "fastify"
import { SecurityStore } from "../../src/SecurityStore.ts"
import * as Server from "../../src/Server.ts"

export const password = "correct horse battery"

export interface TestServer {
  readonly app: FastifyInstance
  readonly dataDir: string
  readonly close: () => Promise<void>
  /** A token for one of the test users: admin, publisher, analyst (user), viewer. */
  readonly token: (username: string) => Promise<string>
}

export const start = async (
  options: { realStatusCodes?: boolean; tokenRequestsPerMinute?: number } = {}
): Promise<TestServer> => {
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-http-"))
  const servicesFile = join(dataDir, "services.yaml")
  writeFileSync(
    servicesFile,
    `services:
  - folder: System
    name: Utilities
    maxConcurrentJobs: 4
    tasks: [{tool: Echo}, {tool: Sleep}]
  - folder: System
    name: SyncTools
    executionType: sync
    tasks: [{tool: Echo}]
  - name: Private
    access: { roles: [publisher] }
    tasks: [{tool: Echo}]
  - folder: Analysis
    name: Geometry
    tasks: [{tool: Buffer}, {module: ${new URL("./FileTool.ts", import.meta.url).pathname}}]
`
  )
  const layer = Server.layer({
    dataDir,
    servicesFile,
    engine: { maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, shutdownGraceMs: 500 }
  })
  const runtime = ManagedRuntime.make(layer)
  await runtime.runPromise(
    Effect.gen(function* () {
      const store = yield* SecurityStore
      yield* store.bootstrapAdmin(password)
      yield* store.createUser({ username: "publisher", password, role: "publisher" })
      yield* store.createUser({ username: "analyst", password, role: "user" })
      yield* store.createUser({ username: "viewer", password, role: "viewer" })
    })
  )
  const app = await Server.make({ runtime, logLevel: "silent", bodyLimitBytes: 200_000, ...options })
  await app.ready()
  const tokens = new Map<string, string>()
  return {
    app,
    dataDir,
    close: async () => {
      await app.close()
      await runtime.dispose()
    },
    token: async (username) => {
      const known = tokens.get(username)
      if (known !== undefined) return known
      const response = await app.inject({
        method: "POST",
        url: "/arcgis/tokens/generateToken",
        payload: { username, password, client: "requestip", f: "json" }
      })
      const token = (response.json() as { token: string }).token
      tokens.set(username, token)
      return token
    }
  }
}
