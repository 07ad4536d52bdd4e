#!/usr/bin/env node
/**
 * The composition root, and the only place that picks adapters: settings from the environment → storage (SQLite on
 * the data folder, or PostgreSQL with `GEOJOBS_DATABASE_URL`) → engine, registry and accounts → the HTTP server, built
 * as layers and launched. The node's role decides what it does: `all` serves HTTP and runs tools, `api` serves HTTP
 * and runs none, `worker` runs tools and serves `/health` and `/metrics` only.
 * Prints where it listens, its node name and how to sign in; on SIGTERM or SIGINT the runtime interrupts the launch
 * and the layers close in reverse order — the HTTP server stops taking requests, the engine gives running jobs its
 * grace period, the databases close.
 *
 * @module
 */
import { dirname } from "node:path"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Accounts, Server } from "@geojobs/http-server"
import { Cause, Console, Effect, Exit, Layer, Redacted } from "effect"
import { fromEnv, type ServerConfig } from "./ServerConfig.ts"
import * as Storage from "./Storage.ts"

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
  const storage = Storage.layer(config)
  const services = Server.servicesLayer({
    servicesFile: config.servicesFile,
    // The engine keeps job folders in `<dataDir>/jobs`; ServerConfig makes sure GEOJOBS_JOBS_DIR is such a folder.
    engine: {
      dataDir: dirname(config.jobsDir),
      maxWorkers: config.workers,
      slots: config.slots,
      workerLimits: config.workerLimits,
      nodeName: config.nodeName,
      leaseMs: config.leaseMs,
      heartbeatMs: config.heartbeatMs,
      urlInputs: config.urlInputs,
      callbacks: {
        secret: config.callbacks.secret,
        allowedHosts: config.callbacks.allowedHosts,
        timeoutMs: config.callbacks.timeoutMs,
        backoff: {
          ...(config.callbacks.retryMs === undefined ? {} : { initialMs: config.callbacks.retryMs }),
          ...(config.callbacks.retryMaxMs === undefined ? {} : { maxMs: config.callbacks.retryMaxMs }),
          ...(config.callbacks.maxAttempts === undefined ? {} : { maxAttempts: config.callbacks.maxAttempts })
        }
      }
    }
  }).pipe(
    // An api node's engine claims nothing: it accepts and serves jobs, other nodes run them.
    config.role === "api" ? Layer.provide(Storage.claimingNothing) : (layer) => layer,
    // Uploaded items beside the stores: the engine finds them when it starts (see Storage.uploads).
    Layer.provideMerge(Layer.mergeAll(storage, Storage.uploads(config)))
  )
  const http = Server.layer({
    port: config.port,
    host: config.host,
    contextPath: config.contextPath,
    ogcPath: config.ogcPath,
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
    nodeName: config.nodeName,
    serveApi: config.role !== "worker",
    onListening: (port) => {
      const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host
      const base = config.baseUrl ?? `http://${shownHost}:${port}${config.contextPath}`
      console.log(`GeoJobs is listening on ${base} (node ${config.nodeName}, role ${config.role})`)
      if (config.role === "worker") {
        console.log(`  runs tools; serves only ${new URL(base).origin}/health and /metrics`)
      } else {
        console.log(`  services directory: ${base}/rest/services`)
        console.log(`  admin jobs:         ${base}/admin/services/<folder>/<Name>.GPServer/jobs`)
        console.log(`  OGC API Processes:  ${new URL(base).origin}${config.ogcPath}/`)
      }
      if (config.role === "api") console.log("  runs no tools: jobs run on the worker (or all) nodes of this database")
      console.log(`  stores:             ${Storage.describe(config)}`)
      console.log(`  job files:          ${config.jobsDir}; services file: ${config.servicesFile}`)
      console.log(`  uploads:            ${config.uploadsDir}`)
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
  const config = read.config
  return Layer.launch(app(config)).pipe(
    Effect.catch((error: unknown) =>
      Effect.andThen(
        Console.error(
          `GeoJobs cannot start (node ${config.nodeName}, stores: ${Storage.describe(config)}): ${Storage.scrub(config, error instanceof Error ? error.message : String(error))}`
        ),
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
