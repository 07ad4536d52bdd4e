/**
 * A server for `bench/http.ts`, in its own process: `serve.ts geojobs <dataDir>` (the real GeoJobs server with one
 * finished Echo job) or `serve.ts bare <bytes>` (a bare Fastify route answering a JSON document of that size).
 * Prints one JSON line with what the benchmark needs.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Engine } from "@geojobs/engine"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { Effect, Layer, ManagedRuntime } from "effect"
import Fastify from "fastify"
import { Accounts } from "../src/Accounts.ts"
import * as Server from "../src/Server.ts"

const [mode, arg] = process.argv.slice(2)

if (mode === "bare") {
  const size = Number(arg)
  const app = Fastify({ logger: false })
  app.get("/job/:id", async (request) => {
    const { id } = request.params as { id: string }
    return { jobId: id, jobStatus: "esriJobSucceeded", padding: "x".repeat(Math.max(0, size - 60 - id.length)) }
  })
  await app.listen({ port: 0, host: "127.0.0.1" })
  const address = app.server.address()
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }))
} else {
  const dataDir = arg ?? "."
  const servicesFile = join(dataDir, "services.yaml")
  writeFileSync(servicesFile, "services:\n  - folder: System\n    name: Utilities\n    tasks: [{tool: Echo}]\n")
  const layer = Server.servicesLayer({ servicesFile, engine: { dataDir, maxWorkers: 1 } }).pipe(
    Layer.provideMerge(SqliteStorage.layer({ dataDir }))
  )
  const runtime = ManagedRuntime.make(layer)
  const job = await runtime.runPromise(
    Effect.gen(function* () {
      yield* Effect.flatMap(Accounts, (s) => s.bootstrapAdmin("bench password 1"))
      const engine = yield* Engine.Engine
      const submitted = yield* engine.submit({
        service: { folder: "System", name: "Utilities" },
        task: "Echo",
        user: "admin",
        params: { input_string: "hello" }
      })
      return yield* engine.awaitJob(submitted.id)
    })
  )
  const app = await Server.make({ runtime, logLevel: "silent" })
  await app.listen({ port: 0, host: "127.0.0.1" })
  const address = app.server.address()
  const port = typeof address === "object" && address ? address.port : 0
  const tokenResponse = await app.inject({
    method: "POST",
    url: "/arcgis/tokens/generateToken",
    payload: { username: "admin", password: "bench password 1", client: "requestip", f: "json" }
  })
  console.log(JSON.stringify({ port, jobId: job.id, token: (tokenResponse.json() as { token: string }).token }))
}

process.on("SIGTERM", () => process.exit(0))
