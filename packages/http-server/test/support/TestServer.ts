/**
 * A real GeoJobs server for tests, in memory (fastify.inject) or on a port: a SQLite job store and security store in a
 * temporary folder, real worker threads, a services file with public and role-restricted services, and users of every
 * built-in role.
 */

import { SqliteStorage } from "@geojobs/store-sqlite"
import type { FastifyInstance } from "fastify"
import { TestServer as Shared } from "../../src/testing/index.ts"

export const password = "correct horse battery"

export interface TestServer {
  readonly app: FastifyInstance
  readonly dataDir: string
  readonly close: () => Promise<void>
  /** A token for one of the test users: admin, publisher, analyst and colleague (user), viewer. */
  readonly token: (username: string) => Promise<string>
}

export const start = async (
  options: { realStatusCodes?: boolean; tokenRequestsPerMinute?: number; logStream?: NodeJS.WritableStream } = {}
): Promise<TestServer> => {
  const server = await Shared.start({
    storage: (dataDir) => SqliteStorage.layer({ dataDir }),
    services: `services:
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
    uploads: true
    tasks: [{tool: Echo}]
  - folder: Analysis
    name: Geometry
    uploads: true
    tasks: [{tool: Buffer}, {module: ${new URL("./FileTool.ts", import.meta.url).pathname}}]
`,
    password,
    users: [
      { username: "publisher", role: "publisher" },
      { username: "analyst", role: "user" },
      { username: "colleague", role: "user" },
      { username: "viewer", role: "viewer" }
    ],
    listen: false,
    bodyLimitBytes: 200_000,
    ...options
  })
  const { app } = server
  const tokens = new Map<string, string>()
  return {
    app,
    dataDir: server.dataDir,
    close: server.close,
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
