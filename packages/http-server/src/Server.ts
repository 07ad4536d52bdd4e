/**
 * The GeoJobs HTTP server as a Fastify plugin (and a ready-made Fastify instance): form bodies, security headers,
 * request size limits and timeouts, CORS (open for the REST API as ArcGIS is, closed for the admin API unless origins
 * are listed), HSTS over HTTPS, rate-limited token endpoints, JSON logs with tokens and passwords redacted, the ArcGIS
 * REST, admin and token routes under the context path, `GET /metrics` (Prometheus; loopback or a bearer token) and
 * `GET /health`, and every error — Fastify's own and the socket's included — answered in ArcGIS's envelope rather than
 * as a bare 500.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto"
import { maxHeaderSize, type ServerOptions as NodeServerOptions, STATUS_CODES } from "node:http"
import cors, { type FastifyCorsOptions } from "@fastify/cors"
import helmet from "@fastify/helmet"
import rateLimit from "@fastify/rate-limit"
import {
  Entropy,
  ErrorEnvelope,
  JobQueue,
  type JobStatus,
  JobStore,
  type SecurityStore,
  ServiceRef
} from "@geojobs/core"
import { Engine, ServiceRegistry } from "@geojobs/engine"
import { Data, Effect, Layer } from "effect"
import Fastify, {
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController
} from "fastify"
import { pino } from "pino"
import { Accounts } from "./Accounts.ts"
import { call, type Runner, runnerOf, type Services, type Settings, sendFailure } from "./Handler.ts"
import * as Metrics from "./Metrics.ts"
import * as OgcApi from "./OgcApi.ts"
import * as OgcFailure from "./OgcFailure.ts"
import * as RequestBody from "./RequestBody.ts"
import * as ResultFiles from "./ResultFiles.ts"
import * as Router from "./Router.ts"
import { ServiceControl } from "./ServiceControl.ts"
import * as Uploads from "./Uploads.ts"

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
  /**
   * Origins whose pages may call the REST API, tokens and sign-in from a browser (CORS). Default: any origin, reflected
   * without credentials — ArcGIS Server's open behaviour. Listed origins are reflected with
   * `Access-Control-Allow-Credentials: true`; `["*"]` is any origin, never with credentials; `[]` none.
   */
  readonly allowedOrigins?: ReadonlyArray<string> | undefined
  /** Origins whose pages may call the admin API (`<context>/admin/…`) from a browser. Default none. */
  readonly adminAllowedOrigins?: ReadonlyArray<string> | undefined
  /**
   * A secret Prometheus sends as `Authorization: Bearer <metricsToken>` to read `/metrics`, from anywhere. Without it,
   * `/metrics` answers loopback clients only (the client address as `trustProxy` reads it), unless `publicMetrics`.
   */
  readonly metricsToken?: string | undefined
  /** Serve `/metrics` to everyone (default false). */
  readonly publicMetrics?: boolean | undefined
  /** Where the OGC API – Processes landing page is (default `/ogcapi`), outside the ArcGIS context path. */
  readonly ogcPath?: string | undefined
  /** This node's name, answered by `/health` as `node` (several nodes behind one load balancer tell themselves apart). */
  readonly nodeName?: string | undefined
  /**
   * Serve the ArcGIS REST, admin and token routes (default true). False leaves `/health` and `/metrics` only, every
   * other path a 404 in the ArcGIS envelope: a node that runs tools for a cluster and takes no API requests.
   */
  readonly serveApi?: boolean | undefined
}

let stdout: ReturnType<typeof pino.destination> | undefined
/**
 * Standard output for the log, written by libuv's threads: pino's default writes each line synchronously, and on
 * Linux a pipe whose reader falls behind (a log shipper, a terminal, the load bench) then blocks the event loop (the
 * 2026-12-03 load bench: 2 s of the main thread's 51 s in that write). One per process; what is still queued is
 * written out when the process exits.
 */
const stdoutLog = () => {
  if (stdout === undefined) {
    const destination = pino.destination({ dest: 1, sync: false })
    process.once("exit", () => {
      try {
        destination.flushSync()
      } catch {
        // A pipe that is gone or full at exit: nothing more to do.
      }
    })
    stdout = destination
  }
  return stdout
}

/**
 * The listening socket's settings (Fastify's and Node's) and logging.
 *
 * @category models
 */
export interface HttpOptions {
  readonly logLevel?: string | undefined
  readonly bodyLimitBytes?: number | undefined
  /** Where the JSON log lines go (default stdout). */
  readonly logStream?: NodeJS.WritableStream | undefined
  /**
   * Fastify's `trustProxy`: believe `X-Forwarded-For`, `-Proto` and `-Host` (true, or the proxies' addresses or
   * CIDR ranges, comma-separated or as a list). Default false: the links the server writes, the client address that tokens are bound
   * to and `/metrics` checks, and HSTS follow the socket, not headers anyone can send.
   */
  readonly trustProxy?: boolean | string | ReadonlyArray<string> | undefined
  /** A socket silent in both directions this long is closed (default 600 000: 10 minutes, above a long `execute`). */
  readonly connectionTimeoutMs?: number | undefined
  /** The whole request (headers and body) must arrive within this (default 300 000, Node's). */
  readonly requestTimeoutMs?: number | undefined
  /** The headers must arrive within this (default 30 000): a client that trickles them (slowloris) is dropped. */
  readonly headersTimeoutMs?: number | undefined
  /** An idle keep-alive socket is closed after this (default 72 000, above the usual 60 s of load balancers). */
  readonly keepAliveTimeoutMs?: number | undefined
}

const normalizeContext = (path: string | undefined): string => {
  const trimmed = (path ?? "/arcgis").replace(/\/+$/, "")
  return trimmed === "" ? "" : trimmed.startsWith("/") ? trimmed : `/${trimmed}`
}

const hsts = "max-age=31536000; includeSubDomains"

const corsMethods = ["GET", "HEAD", "POST"]
const corsClosed: FastifyCorsOptions = { origin: false }

/**
 * CORS per request, by area: the REST API (and tokens, sign-in) reflects any origin without credentials unless
 * `allowedOrigins` lists them; the admin API answers only `adminAllowedOrigins`; `/metrics` and `/health` none.
 * Credentials are sent only to an origin that is listed by name, so never together with `*`.
 */
const corsDelegator = (contextPath: string, ogcPath: string, options: Options) => {
  const open: FastifyCorsOptions = { origin: true, methods: corsMethods, maxAge: 600, strictPreflight: false }
  const wildcard: FastifyCorsOptions = { ...open, origin: "*" }
  const listed = (origins: ReadonlyArray<string> | undefined, fallback: FastifyCorsOptions) => {
    if (origins === undefined) return () => fallback
    if (origins.includes("*")) return () => wildcard
    const names = new Set(origins.map((o) => o.replace(/\/+$/, "").toLowerCase()))
    const credentialed: FastifyCorsOptions = { ...open, credentials: true }
    return (origin: string) => (names.has(origin.toLowerCase()) ? credentialed : corsClosed)
  }
  const rest = listed(options.allowedOrigins, open)
  const admin = listed(options.adminAllowedOrigins ?? [], corsClosed)
  const adminArea = `${contextPath}/admin/`
  const area = `${contextPath}/`
  // The OGC API is open as the REST API is: its clients (web maps, notebooks) call it from other origins.
  const ogcArea = `${ogcPath}/`
  return (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) => {
    const origin = request.headers.origin
    const url = request.url
    callback(
      null,
      origin === undefined || origin === ""
        ? corsClosed
        : url.startsWith(adminArea) || url === `${contextPath}/admin`
          ? admin(origin)
          : url.startsWith(area) || url.startsWith(ogcArea) || url === ogcPath
            ? rest(origin)
            : corsClosed
    )
  }
}

const digest = (text: string) => createHash("sha256").update(text).digest()

const isLoopback = (ip: string) => ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.")

/** Who may read `/metrics`: the bearer of `metricsToken` when set, else loopback clients, or everyone if public. */
const metricsAccess = (options: Options): ((request: FastifyRequest) => boolean) => {
  if (options.publicMetrics === true) return () => true
  if (options.metricsToken === undefined) return (request) => isLoopback(request.ip)
  const expected = digest(options.metricsToken)
  return (request) => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? "")
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected)
  }
}

/**
 * The plugin: registers every GeoJobs route on a Fastify instance.
 *
 * @category constructors
 */
export const plugin: FastifyPluginAsync<Options> = async (app, options) => {
  const settings: Settings & OgcApi.Settings = {
    runtime: options.runtime,
    contextPath: normalizeContext(options.contextPath),
    baseUrl: options.baseUrl,
    realStatusCodes: options.realStatusCodes ?? false,
    currentVersion: 11.3,
    fullVersion: "11.3.0",
    shortLivedTokenValidity: 60,
    ogcPath: options.ogcPath,
    resultFiles: ResultFiles.register(app)
  }
  // The handlers first: a route captures the error handler of its context when it is added, and plugins below add
  // routes of their own (@fastify/cors its OPTIONS route).
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
  RequestBody.register(app)
  // Multipart bodies (uploads) are left unread until the upload routes stream them.
  await Uploads.register(app)
  await app.register(cors, { delegator: corsDelegator(settings.contextPath, OgcApi.rootPath(settings), options) })
  // Only a request that came over HTTPS (as trustProxy reads it) may pin the browser to HTTPS: over plain HTTP the
  // header is ignored by browsers at best, and on a localhost development server it locks the host out at worst.
  app.addHook("onRequest", (request, reply, done) => {
    if (request.protocol === "https") reply.header("strict-transport-security", hsts)
    done()
  })
  // Security headers are computed per reply, which costs more than a job document itself: the HTML pages get the full
  // set (reply.helmet() in Handler), JSON answers a fixed, cheap subset.
  await app.register(helmet, {
    global: false,
    contentSecurityPolicy: {
      directives: { "default-src": ["'self'"], "style-src": ["'self'", "'unsafe-inline'"], "form-action": ["'self'"] }
    },
    // Esri's web clients call the REST API from other origins.
    crossOriginResourcePolicy: { policy: "cross-origin" },
    // Sent by the onRequest hook above, over HTTPS only.
    strictTransportSecurity: false
  })
  await app.register(rateLimit, { global: false })

  const metrics = Metrics.make({
    nodeName: options.nodeName,
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
  const mayScrape = metricsAccess(options)
  app.get("/metrics", async (request, reply) => {
    if (!mayScrape(request)) {
      // A real 403 whatever realStatusCodes says: the caller is a scraper, not an Esri client.
      return reply
        .status(403)
        .headers({ "cache-control": "no-store", "x-content-type-options": "nosniff" })
        .type("application/json; charset=utf-8")
        .send(
          JSON.stringify(
            ErrorEnvelope.rest({
              code: 403,
              message: "You do not have permissions to access this resource or perform this operation.",
              details: [
                options.metricsToken === undefined
                  ? "/metrics answers loopback clients only; set metricsToken or publicMetrics to scrape it from elsewhere."
                  : "/metrics needs the metrics token as Authorization: Bearer."
              ]
            })
          )
        )
    }
    return reply
      .header("cache-control", "no-store")
      .type(metrics.contentType)
      .send(await metrics.render())
  })
  // The store is asked too (a primary-key lookup of an id no job has): a node that cannot reach its database says so,
  // 503 with the node's name, so a load balancer takes it out until it reconnects.
  const node = options.nodeName === undefined ? {} : { node: options.nodeName }
  const reachable = Effect.flatMap(JobStore.JobStore, (store) => store.getSummary("j-health")).pipe(
    Effect.as(true),
    Effect.catchTag("NoSuchJob", () => Effect.succeed(true)),
    Effect.timeoutOrElse({ duration: "2 seconds", orElse: () => Effect.succeed(false) }),
    Effect.orElseSucceed(() => false)
  )
  app.get("/health", async (_request, reply) =>
    (await settings.runtime.runPromise(reachable))
      ? { status: "ok", ...node }
      : reply.code(503).send({ status: "unavailable", ...node, database: "unreachable" })
  )

  if (options.serveApi !== false) {
    Router.register(app, settings, { max: options.tokenRequestsPerMinute ?? 30, timeWindow: "1 minute" })
  }
}

/** What a request that is not HTTP, or too large to read, answers: the socket's status and the REST envelope. */
const clientError = (error: { readonly code?: string | undefined; readonly rawPacket?: unknown }): [number, string] => {
  if (error.code === "HPE_HEADER_OVERFLOW") {
    // A request line that takes most of Node's header budget (16 KB) is a URL that is too long.
    const end = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.indexOf("\r\n") : -1
    return end >= 0 && end < maxHeaderSize / 2
      ? [431, "The request's headers are too large."]
      : [414, "The URL is too long."]
  }
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") return [408, "The request did not arrive in time."]
  return [400, "The request is not valid HTTP."]
}

/**
 * Fastify options GeoJobs uses: JSON logs with credentials redacted, a body size limit, timeouts that drop slow and
 * idle clients, trusting no proxy headers unless asked, and the envelope for requests that never reach a route.
 * Fastify's own two lines per request are off; `make` logs one access line per request instead (half the logging
 * cost on the hot polling path).
 *
 * @category constructors
 */
export const fastifyOptions = (
  options: HttpOptions & {
    readonly contextPath?: string | undefined
    readonly ogcPath?: string | undefined
    readonly realStatusCodes?: boolean | undefined
  }
): FastifyServerOptions & { readonly http: NodeServerOptions } => {
  const requestTimeout = options.requestTimeoutMs ?? 300_000
  const requested = options.headersTimeoutMs ?? 30_000
  // Node refuses a headers timeout above the request timeout.
  const headersTimeout = requestTimeout > 0 ? Math.min(requested, requestTimeout) : requested
  return {
    // A URL Fastify cannot even decode (`%zz`) never reaches a route: answer it in the area's envelope, not Fastify's.
    frameworkErrors: (error, request, reply) => {
      const detail = error.code === "FST_ERR_BAD_URL" ? "The URL cannot be decoded." : error.message
      const ogc = OgcApi.rootPath({ ogcPath: options.ogcPath })
      if (request.url === ogc || request.url.startsWith(`${ogc}/`) || request.url.startsWith(`${ogc}?`)) {
        // On the OGC paths, an OGC exception with the real status, as every OGC answer.
        void OgcApi.sendException(reply as FastifyReply, "json", OgcFailure.fromStatus(400, detail))
        return
      }
      const admin = request.url.startsWith(`${normalizeContext(options.contextPath)}/admin/`)
      const doc = admin
        ? ErrorEnvelope.admin({ code: 400, messages: ["Invalid or missing input parameters.", detail] })
        : ErrorEnvelope.rest({ code: 400, message: "Invalid or missing input parameters.", details: [detail] })
      void (reply as FastifyReply)
        .status(options.realStatusCodes === true ? 400 : 200)
        .headers({ "cache-control": "no-store", "x-content-type-options": "nosniff" })
        .type("application/json; charset=utf-8")
        .send(JSON.stringify(doc))
    },
    // Bytes that are not HTTP, or a request line or headers over Node's limit: there is no request to answer with
    // HTTP 200, so the socket gets the real status with the envelope, and is closed.
    clientErrorHandler: (error, socket) => {
      if ((error as { code?: string }).code === "ECONNRESET" || socket.destroyed) return
      const [status, detail] = clientError(error)
      const body = JSON.stringify(
        ErrorEnvelope.rest({
          code: status,
          message:
            status === 414 || status === 431 ? "The request is too large." : "Invalid or missing input parameters.",
          details: [detail]
        })
      )
      if (socket.writable) {
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n` +
            `Connection: close\r\n\r\n${body}`
        )
      }
      socket.destroy()
    },
    bodyLimit: options.bodyLimitBytes ?? 10 * 1024 * 1024,
    trustProxy: typeof options.trustProxy === "object" ? [...options.trustProxy] : (options.trustProxy ?? false),
    connectionTimeout: options.connectionTimeoutMs ?? 600_000,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 72_000,
    requestTimeout,
    http: {
      headersTimeout,
      requestTimeout,
      // How often Node looks for sockets past their headers or request timeout (its default, 30 s, would let a short
      // timeout run far over).
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headersTimeout / 4)))
    },
    logController: new LogController({ disableRequestLogging: true }),
    logger:
      options.logLevel === "silent"
        ? false
        : {
            level: options.logLevel ?? "info",
            stream: options.logStream ?? stdoutLog(),
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
  }
}

/**
 * A Fastify instance with the plugin registered.
 *
 * @category constructors
 */
export const make = async (options: Options & HttpOptions): Promise<FastifyInstance> => {
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
    tokenRequestsPerMinute: options.tokenRequestsPerMinute,
    allowedOrigins: options.allowedOrigins,
    adminAllowedOrigins: options.adminAllowedOrigins,
    metricsToken: options.metricsToken,
    publicMetrics: options.publicMetrics,
    nodeName: options.nodeName,
    ogcPath: options.ogcPath,
    serveApi: options.serveApi
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
export interface ListenOptions extends Omit<Options, "runtime">, HttpOptions {
  readonly port: number
  readonly host: string
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
    Accounts.layer({ maxTokenMinutes: options.maxTokenMinutes }),
    ServiceControl.layer
  ) satisfies Layer.Layer<
    Exclude<Services, JobStore.JobStore | JobQueue.JobQueue>,
    unknown,
    JobStore.JobStore | JobQueue.JobQueue | SecurityStore.SecurityStore
  >
