/**
 * A real GeoJobs server on a port of 127.0.0.1 with any of `Server.make`'s options (trust in proxies, timeouts, CORS,
 * metrics access), over SQLite in a temporary folder and real worker threads, with the same services and users as
 * `TestServer`, for the tests that need a real socket: raw HTTP, HEAD, slow clients, and the fuzzer.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { Effect, Layer, ManagedRuntime } from "effect"
import type { FastifyInstance } from "fastify"
import { Accounts } from "../../src/Accounts.ts"
import type { Services } from "../../src/Handler.ts"
import * as Server from "../../src/Server.ts"
import { password } from "./TestServer.ts"

export { password }

export type Options = Omit<Parameters<typeof Server.make>[0], "runtime">

export interface PortServer {
  readonly app: FastifyInstance
  /** `http://127.0.0.1:<port>/arcgis`. */
  readonly url: string
  readonly port: number
  readonly runtime: ManagedRuntime.ManagedRuntime<Services, unknown>
  readonly close: () => Promise<void>
  /** A token for one of the users (admin, publisher, analyst, viewer), fetched once. */
  readonly token: (username: string) => Promise<string>
}

export const services = `services:
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

export const start = async (options: Options = {}): Promise<PortServer> => {
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-port-"))
  const servicesFile = join(dataDir, "services.yaml")
  writeFileSync(servicesFile, services)
  const runtime = ManagedRuntime.make(
    Server.servicesLayer({
      servicesFile,
      engine: { dataDir, maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, shutdownGraceMs: 500 }
    }).pipe(Layer.provideMerge(SqliteStorage.layer({ dataDir })))
  )
  await runtime.runPromise(
    Effect.gen(function* () {
      const accounts = yield* Accounts
      yield* accounts.bootstrapAdmin(password)
      for (const [username, role] of [
        ["publisher", "publisher"],
        ["analyst", "user"],
        ["viewer", "viewer"]
      ] as const) {
        yield* accounts.createUser({ username, password, role })
      }
    })
  )
  const app = await Server.make({ logLevel: "silent", bodyLimitBytes: 1_000_000, ...options, runtime })
  await app.listen({ port: 0, host: "127.0.0.1" })
  const address = app.server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const url = `http://127.0.0.1:${port}/arcgis`
  const tokens = new Map<string, string>()
  return {
    app,
    url,
    port,
    runtime,
    close: async () => {
      await app.close()
      await runtime.dispose()
    },
    token: async (username) => {
      const known = tokens.get(username)
      if (known !== undefined) return known
      const response = await fetch(`${url}/tokens/generateToken`, {
        method: "POST",
        body: new URLSearchParams({ username, password, client: "requestip", f: "json" })
      })
      const token = ((await response.json()) as { token: string }).token
      tokens.set(username, token)
      return token
    }
  }
}
