#!/usr/bin/env node
/**
 * The composition root: configuration from the environment → SQLite job store, services file, engine, security
 * store → the Fastify server → listen. Prints where it listens and how to sign in; shuts down gracefully on SIGTERM
 * and SIGINT (running jobs get the engine's grace period).
 *
 * @module
 */
import { SecurityStore, Server } from "@geojobs/http-server"
import { Cause, Effect, ManagedRuntime } from "effect"
import { fromEnv } from "./ServerConfig.ts"

const read = fromEnv(process.env)
if (!read.ok) {
  console.error(`GeoJobs cannot start; fix these settings:\n${read.problems.map((p) => `  ${p}`).join("\n")}`)
  process.exit(1)
}
const config = read.config

const layer = Server.layer({
  dataDir: config.dataDir,
  servicesFile: config.servicesFile,
  engine: { maxWorkers: config.workers }
})
const runtime = ManagedRuntime.make(layer)

const started = await runtime.runPromiseExit(
  Effect.flatMap(SecurityStore.SecurityStore, (store) => store.bootstrapAdmin(config.adminPassword))
)
if (started._tag === "Failure") {
  const error = Cause.findErrorOption(started.cause)
  console.error(
    `GeoJobs cannot start: ${error._tag === "Some" ? (error.value as Error).message : Cause.pretty(started.cause)}`
  )
  await runtime.dispose()
  process.exit(1)
}
const admin = started.value

const app = await Server.make({
  runtime,
  contextPath: config.contextPath,
  baseUrl: config.baseUrl,
  realStatusCodes: config.realStatusCodes,
  logLevel: config.logLevel,
  bodyLimitBytes: config.bodyLimitBytes
})
await app.listen({ port: config.port, host: config.host })
const address = app.server.address()
const port = typeof address === "object" && address !== null ? address.port : config.port
const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host
const base = config.baseUrl ?? `http://${shownHost}:${port}${config.contextPath}`
console.log(`GeoJobs is listening on ${base}`)
console.log(`  services directory: ${base}/rest/services`)
console.log(`  admin jobs:         ${base}/admin/services/<folder>/<Name>.GPServer/jobs`)
console.log(`  data:               ${config.dataDir}; services file: ${config.servicesFile}`)
if (admin.created) {
  console.log(
    admin.password === undefined
      ? "  sign in as admin with the password in GEOJOBS_ADMIN_PASSWORD"
      : `  sign in as admin with this generated password (shown once): ${admin.password}`
  )
}

let stopping = false
const stop = async (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`GeoJobs: ${signal} received, shutting down`)
  await app.close()
  await runtime.dispose()
  process.exit(0)
}
process.on("SIGTERM", () => void stop("SIGTERM"))
process.on("SIGINT", () => void stop("SIGINT"))
