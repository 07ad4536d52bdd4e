/**
 * The GeoJobs HTTP server as a Fastify plugin (and a ready-made Fastify instance): form bodies, security headers,
 * request size limits, rate-limited token endpoints, JSON logs with tokens and passwords redacted, the ArcGIS REST,
 * admin and token routes under the context path, `GET /metrics` (Prometheus) and `GET /health`, and every error —
 * Fastify's own included — answered in ArcGIS's envelope rather than as a bare 500.
 *
 * @module
 */

import { join } from "node:path"
import formbody from "@fastify/formbody"
import helmet from "@fastify/helmet"
import rateLimit from "@fastify/rate-limit"
import { Entropy, type JobStatus, ServiceRef } from "@geojobs/core"
import { Engine, JobQueue, ServiceRegistry, SqliteJobStore } from "@geojobs/engine"
import { Effect, Layer, type ManagedRuntime } from "effect"
import Fastify, {
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyServerOptions,
  LogController
} from "fastify"
import * as AdminApi from "./AdminApi.ts"
import { call, type Services, type Settings, sendFailure } from "./Handler.ts"
import * as Metrics from "./Metrics.ts"
import * as RestApi from "./RestApi.ts"
import { SecurityStore } from "./SecurityStore.ts"
import * as TokenApi from "./TokenApi.ts"

/**
 * Plugin options.
 *
 * @category models
 */
export interface Options {
  readonly runtime: ManagedRuntime.ManagedRuntime<Services, unknown>
  /** Default `/arcgis`. */
  readonly contextPath?: string | undefined
  readonly baseUrl?: string | undefined
  /** Real HTTP status codes with errors (default false: HTTP 200 with the envelope, as Esri's clients expect). */
  readonly realStatusCodes?: boolean | undefined
  /** Token requests per client address per minute (default 30). */
  readonly tokenRequestsPerMinute?: number | undefined
}

const normalizeContext = (path: string | undefined): string => {
  const trimmed = (path ?? "/arcgis").replace(/\/+$/, "")
  return trimmed === "" ? "" : trimmed.startsWith("/") ? trimmed : `/${trimmed}`
}

/**
 * The plugin: registers every GeoJobs route on a Fastify instance.
 *
 * @category constructors
 */
export const plugin: FastifyPluginAsync<Options> = async (app, options) => {
  const settings: Settings = {
    runtime: options.runtime,
    contextPath: normalizeContext(options.contextPath),
    baseUrl: options.baseUrl,
    realStatusCodes: options.realStatusCodes ?? false,
    currentVersion: 11.3,
    fullVersion: "11.3.0",
    shortLivedTokenValidity: 60
  }
  await app.register(formbody)
  // Security headers are computed per reply, which costs more than a job document itself: the HTML pages get the full
  // set (reply.helmet() in Handler), JSON answers a fixed, cheap subset.
  await app.register(helmet, {
    global: false,
    contentSecurityPolicy: {
      directives: { "default-src": ["'self'"], "style-src": ["'self'", "'unsafe-inline'"], "form-action": ["'self'"] }
    },
    // Esri's web clients call the REST API from other origins.
    crossOriginResourcePolicy: { policy: "cross-origin" }
  })
  await app.register(rateLimit, { global: false })
  const envelope = (url: string) => (url.startsWith(`${settings.contextPath}/admin`) ? "admin" : "rest")

  app.setErrorHandler((error: { statusCode?: number; message: string; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500
    if (status >= 500) request.log.error({ err: error }, "unhandled error")
    const c = call(request, settings, "json")
    const message =
      status === 413
        ? "The request is too large."
        : status === 429
          ? "Too many requests: try again later."
          : status >= 500
            ? "Unable to complete operation."
            : "Invalid or missing input parameters."
    return sendFailure(
      reply,
      c,
      { code: status, message, details: status >= 500 ? [] : [error.message] },
      envelope(request.url)
    )
  })
  app.setNotFoundHandler((request, reply) =>
    sendFailure(
      reply,
      call(request, settings, "json"),
      { code: 404, message: "Resource not found.", details: [request.url.replace(/[?#].*$/s, "")] },
      envelope(request.url)
    )
  )

  const metrics = Metrics.make({
    jobCounts: () =>
      settings.runtime.runPromise(
        Effect.flatMap(JobQueue.JobQueue, (q) => q.countByStatus()).pipe(
          Effect.orElseSucceed((): Readonly<Partial<Record<JobStatus.JobStatus, number>>> => ({}))
        )
      )
  })
  const stopListening = await settings.runtime.runPromise(
    Effect.map(Engine.Engine, (engine) =>
      engine.onFinished((job) => {
        if (job.started !== null && job.ended !== null) {
          metrics.observeJob(ServiceRef.path(job.service), job.task, job.status, (job.ended - job.started) / 1000)
        }
      })
    )
  )
  app.addHook("onClose", (_app, done) => {
    stopListening()
    done()
  })
  app.addHook("onResponse", (request, reply, done) => {
    metrics.observeRequest(
      request.method,
      request.routeOptions.url ?? "unmatched",
      reply.statusCode,
      reply.elapsedTime / 1000
    )
    done()
  })
  app.get("/metrics", async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()))
  app.get("/health", async () => ({ status: "ok" }))

  RestApi.register(app, settings)
  AdminApi.register(app, settings)
  TokenApi.register(app, settings, { max: options.tokenRequestsPerMinute ?? 30, timeWindow: "1 minute" })
}

/**
 * Fastify options GeoJobs uses: JSON logs with credentials redacted, a body size limit, trusting no proxy headers
 * unless asked. Fastify's own two lines per request are off; `make` logs one access line per request instead (half
 * the logging cost on the hot polling path).
 *
 * @category constructors
 */
export const fastifyOptions = (options: {
  readonly logLevel?: string | undefined
  readonly bodyLimitBytes?: number | undefined
  readonly trustProxy?: boolean | undefined
  /** Where the JSON log lines go (default stdout). */
  readonly logStream?: NodeJS.WritableStream | undefined
}): FastifyServerOptions => ({
  bodyLimit: options.bodyLimitBytes ?? 10 * 1024 * 1024,
  trustProxy: options.trustProxy ?? false,
  logController: new LogController({ disableRequestLogging: true }),
  logger:
    options.logLevel === "silent"
      ? false
      : {
          level: options.logLevel ?? "info",
          ...(options.logStream === undefined ? {} : { stream: options.logStream }),
          redact: {
            paths: [
              "req.headers.authorization",
              'req.headers["x-esri-authorization"]',
              "req.headers.cookie",
              'res.headers["set-cookie"]'
            ],
            censor: "[redacted]"
          },
          serializers: {
            req: (req: { method: string; url: string; ip?: string }) => ({
              method: req.method,
              // Tokens and passwords travel in query strings too; keep them out of the logs.
              url: req.url.replace(/([?&](?:token|password)=)[^&#]*/gi, "$1[redacted]"),
              ip: req.ip
            })
          }
        }
})

/**
 * A Fastify instance with the plugin registered.
 *
 * @category constructors
 */
export const make = async (
  options: Options & {
    readonly logLevel?: string | undefined
    readonly bodyLimitBytes?: number | undefined
    readonly logStream?: NodeJS.WritableStream | undefined
  }
): Promise<FastifyInstance> => {
  const app = Fastify(fastifyOptions(options))
  // One access line per request, when it is answered (what an admin greps for: method, URL, status, time).
  app.addHook("onResponse", async (request, reply) => {
    request.log.info(
      { req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime },
      "request"
    )
  })
  await app.register(plugin, {
    runtime: options.runtime,
    contextPath: options.contextPath,
    baseUrl: options.baseUrl,
    realStatusCodes: options.realStatusCodes,
    tokenRequestsPerMinute: options.tokenRequestsPerMinute
  })
  return app
}

/**
 * Everything the routes need, on one data folder: the SQLite job store (`jobs.sqlite`), the services file's registry,
 * the engine, and the security store (`security.sqlite`). Make a `ManagedRuntime` of it for `make` or `plugin`.
 *
 * @category layers
 */
export const layer = (options: {
  readonly dataDir: string
  readonly servicesFile: string
  readonly engine?: Omit<Engine.EngineOptions, "dataDir"> | undefined
}) =>
  Layer.mergeAll(
    Engine.Engine.layer({ ...options.engine, dataDir: options.dataDir }).pipe(
      Layer.provideMerge(
        Layer.mergeAll(
          SqliteJobStore.layer({ filename: join(options.dataDir, "jobs.sqlite") }),
          ServiceRegistry.ServiceRegistry.layerFile(options.servicesFile),
          Entropy.Entropy.layer
        )
      )
    ),
    SecurityStore.layer({ filename: join(options.dataDir, "security.sqlite") })
  )
