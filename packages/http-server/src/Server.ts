/**
 * The GeoJobs HTTP server as a Fastify plugin (and a ready-made Fastify instance): form bodies, security headers,
 * request size limits, rate-limited token endpoints, JSON logs with tokens and passwords redacted, the ArcGIS REST,
 * admin and token routes under the context path, `GET /metrics` (Prometheus) and `GET /health`, and every error —
 * Fastify's own included — answered in ArcGIS's envelope rather than as a bare 500.
 *
 * @module
 */

import formbody from "@fastify/formbody"
import helmet from "@fastify/helmet"
import rateLimit from "@fastify/rate-limit"
import {
  Entropy,
  ErrorEnvelope,
  JobQueue,
  type JobStatus,
  type JobStore,
  type SecurityStore,
  ServiceRef
} from "@geojobs/core"
import { Engine, ServiceRegistry } from "@geojobs/engine"
import { Data, Effect, Layer } from "effect"
import Fastify, {
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyServerOptions,
  LogController
} from "fastify"
import { Accounts } from "./Accounts.ts"
import { call, type Runner, runnerOf, type Services, type Settings, sendFailure } from "./Handler.ts"
import * as Metrics from "./Metrics.ts"
import * as Router from "./Router.ts"

/**
 * Plugin options.
 *
 * @category models
 */
export interface Options {
  /** Runs the routes' programs: a `ManagedRuntime` of the services, or what `layer` makes of them. */
  readonly runtime: Runner
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
      Router.areaOf(settings, request).envelope
    )
  })
  app.setNotFoundHandler((request, reply) =>
    sendFailure(
      reply,
      call(request, settings, "json"),
      { code: 404, message: "Resource not found.", details: [request.url.replace(/[?#].*$/s, "")] },
      Router.areaOf(settings, request).envelope
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

  Router.register(app, settings, { max: options.tokenRequestsPerMinute ?? 30, timeWindow: "1 minute" })
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
  readonly contextPath?: string | undefined
  readonly realStatusCodes?: boolean | undefined
}): FastifyServerOptions => ({
  // A URL Fastify cannot even decode (`%zz`) never reaches a route: answer it in the area's envelope, not Fastify's.
  frameworkErrors: (error, request, reply) => {
    const detail = error.code === "FST_ERR_BAD_URL" ? "The URL cannot be decoded." : error.message
    const admin = request.url.startsWith(`${normalizeContext(options.contextPath)}/admin/`)
    const doc = admin
      ? ErrorEnvelope.admin({ code: 400, messages: ["Invalid or missing input parameters.", detail] })
      : ErrorEnvelope.rest({ code: 400, message: "Invalid or missing input parameters.", details: [detail] })
    void (reply as FastifyReply)
      .status(options.realStatusCodes === true ? 400 : 200)
      .type("application/json; charset=utf-8")
      .send(JSON.stringify(doc))
  },
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
 * The server could not start listening (the port is taken, the address does not exist).
 *
 * @category errors
 */
export class ListenError extends Data.TaggedError("ListenError")<{
  readonly address: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `Cannot listen on ${this.address}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/**
 * Where and how the server listens, with the plugin's and Fastify's settings.
 *
 * @category models
 */
export interface ListenOptions extends Omit<Options, "runtime"> {
  readonly port: number
  readonly host: string
  readonly logLevel?: string | undefined
  readonly bodyLimitBytes?: number | undefined
  readonly logStream?: NodeJS.WritableStream | undefined
  /** Called once listening, with the port (useful with port 0). */
  readonly onListening?: ((port: number) => void) | undefined
}

/**
 * The HTTP server as a layer over the services the routes need (whichever storage provides them): it listens when
 * built and closes — no new requests, in-flight ones answered — when released, before the services under it go.
 *
 * @category layers
 */
export const layer = (options: ListenOptions): Layer.Layer<never, ListenError, Services> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const runtime = runnerOf(yield* Effect.context<Services>())
      const app = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const server = await make({ ...options, runtime })
            try {
              await server.listen({ port: options.port, host: options.host })
            } catch (error) {
              await server.close()
              throw error
            }
            return server
          },
          catch: (cause) => new ListenError({ address: `${options.host}:${options.port}`, cause })
        }),
        (server) => Effect.promise(() => server.close())
      )
      const address = app.server.address()
      options.onListening?.(typeof address === "object" && address !== null ? address.port : options.port)
    })
  )

/**
 * What the routes need beside storage: the services file's registry, the engine (started with the layer, shut down
 * gracefully on release) and accounts. It requires the storage ports and picks none: the app (or a test) provides
 * them — `Layer.provideMerge(storage)` keeps the stores in the output, as `Services` has them.
 *
 * @category layers
 */
export const servicesLayer = (options: {
  readonly servicesFile: string
  readonly engine: Engine.EngineOptions
  readonly maxTokenMinutes?: number | undefined
}) =>
  Layer.mergeAll(
    Engine.Engine.layer(options.engine).pipe(
      Layer.provideMerge(
        Layer.mergeAll(ServiceRegistry.ServiceRegistry.layerFile(options.servicesFile), Entropy.Entropy.layer)
      )
    ),
    Accounts.layer({ maxTokenMinutes: options.maxTokenMinutes })
  ) satisfies Layer.Layer<
    Exclude<Services, JobStore.JobStore | JobQueue.JobQueue>,
    unknown,
    JobStore.JobStore | JobQueue.JobQueue | SecurityStore.SecurityStore
  >
