#!/usr/bin/env node
/**
 * The composition root, and the only place that picks adapters: settings from the environment → storage (SQLite on
 * the data folder) → engine, registry and accounts → the HTTP server, built as layers and launched.
 * Prints where it listens and how to sign in; on SIGTERM or SIGINT the runtime interrupts the launch and the layers
 * close in reverse order — the HTTP server stops taking requests, the engine gives running jobs its grace period, the
 * databases close.
 *
 * @module
 */
import { NodeRuntime } from "@effect/platform-node"
import { Accounts, Server } from "@geojobs/http-server"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { Cause, Console, Effect, Exit, Layer, Redacted } from "effect"
import { fromEnv, type ServerConfig } from "./ServerConfig.ts"

/** The storage layer: the one adapter choice of the app. */
const storage = (config: ServerConfig) => SqliteStorage.layer({ dataDir: config.dataDir })

/**
 * On a new security store, creates `admin` before the server takes requests; answers how to sign in (printed under
 * the listening lines), or nothing when users exist.
 */
const bootstrap = (config: ServerConfig, hint: (line: string) => void) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const admin = yield* accounts.bootstrapAdmin(config.adminPassword)
      if (!admin.created) return
      hint(
        admin.password === undefined
          ? "  sign in as admin with the password in GEOJOBS_ADMIN_PASSWORD"
          : `  sign in as admin with this generated password (shown once): ${admin.password}`
      )
    })
  )

/** The whole server as one layer. */
const app = (config: ServerConfig) => {
  let signInHint: string | undefined
  const services = Server.servicesLayer({
    servicesFile: config.servicesFile,
    engine: { dataDir: config.dataDir, maxWorkers: config.workers, workerLimits: config.workerLimits }
  }).pipe(Layer.provideMerge(storage(config)))
  const http = Server.layer({
    port: config.port,
    host: config.host,
    contextPath: config.contextPath,
    baseUrl: config.baseUrl,
    realStatusCodes: config.realStatusCodes,
    logLevel: config.logLevel,
    bodyLimitBytes: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    connectionTimeoutMs: config.connectionTimeoutMs,
    allowedOrigins: config.allowedOrigins,
    adminAllowedOrigins: config.adminAllowedOrigins,
    // The token leaves its Redacted wrapper only here, into the server that compares it; it is never printed.
    metricsToken: config.metricsToken === undefined ? undefined : Redacted.value(config.metricsToken),
    publicMetrics: config.publicMetrics,
    onListening: (port) => {
      const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host
      const base = config.baseUrl ?? `http://${shownHost}:${port}${config.contextPath}`
      console.log(`GeoJobs is listening on ${base}`)
      console.log(`  services directory: ${base}/rest/services`)
      console.log(`  admin jobs:         ${base}/admin/services/<folder>/<Name>.GPServer/jobs`)
      console.log(`  data:               ${config.dataDir}; services file: ${config.servicesFile}`)
      if (signInHint !== undefined) console.log(signInHint)
    }
  })
  // admin exists before the first request: the bootstrap is built first, then the HTTP server.
  return http.pipe(Layer.provide(bootstrap(config, (line) => (signInHint = line))), Layer.provide(services))
}

const main = Effect.suspend(() => {
  const read = fromEnv(process.env)
  if (!read.ok) {
    return Effect.andThen(
      Console.error(`GeoJobs cannot start; fix these settings:\n${read.problems.map((p) => `  ${p}`).join("\n")}`),
      Effect.fail("settings" as const)
    )
  }
  return Layer.launch(app(read.config)).pipe(
    Effect.catch((error: unknown) =>
      Effect.andThen(
        Console.error(`GeoJobs cannot start: ${error instanceof Error ? error.message : String(error)}`),
        Effect.fail("start" as const)
      )
    )
  )
})

// runMain interrupts the launch on these signals; this only says which one came.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => console.log(`GeoJobs: ${signal} received, shutting down`))
}
NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  // Stopped by SIGTERM or SIGINT (the interruption ran every finalizer): a clean stop, exit 0, as service managers
  // expect; a failure to start is exit 1.
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
})
