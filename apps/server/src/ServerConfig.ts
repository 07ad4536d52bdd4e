/**
 * The server's settings, read from the environment and checked with zod; a wrong value stops start-up with a message
 * that names the variable and says what it should be. Secrets (the admin password, the metrics token, the database
 * URL's password) are never echoed in those messages, and the metrics token and the database URL are kept `Redacted`
 * in the configuration, so printing or logging the configuration does not show them.
 *
 * @module
 */
import { isIP } from "node:net"
import { hostname } from "node:os"
import { basename, join, resolve } from "node:path"
import { defaultMaxOldGenerationSizeMb, type Settings as WorkerLimitSettings } from "@geojobs/engine/WorkerLimits"
import { ServicesFile } from "@geojobs/tools"
import { Redacted } from "effect"
import { z } from "zod"

const flag = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes")

/** Node's timers hold at most 2^31 - 1 ms (about 24.8 days); a longer timeout would fire at once. */
const maxTimeoutMs = 2_147_483_647

const milliseconds = z
  .string()
  .regex(/^\d+$/, "expected milliseconds, a whole number (0: no limit)")
  .transform(Number)
  .pipe(z.number().max(maxTimeoutMs, `expected at most ${maxTimeoutMs} ms`))

/** At most 1 TB: a value in bytes rather than MB is refused, not taken as a limit no thread reaches. */
const maxMegabytes = 1_048_576

const megabytes = z
  .string()
  .regex(/^\d+$/, "expected a whole number of MB")
  .transform(Number)
  .pipe(
    z
      .number()
      .min(1, "expected a whole number of MB, at least 1")
      .max(maxMegabytes, `expected MB, at most ${maxMegabytes} (1 TB); is it a number of bytes?`)
  )

const list = (text: string) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")

/** Named ranges Fastify's `trustProxy` (proxy-addr) knows. */
const proxyRanges = new Set(["loopback", "linklocal", "uniquelocal"])

/** An IP address, a CIDR range of them (`10.0.0.0/8`, `fd00::/8`) or a named range. */
const proxyAddress = (text: string): string | undefined => {
  if (proxyRanges.has(text.toLowerCase())) return text.toLowerCase()
  const [address = "", prefix, ...more] = text.split("/")
  const version = isIP(address)
  if (version === 0 || more.length > 0) return undefined
  if (prefix === undefined) return text
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128) ? text : undefined
}

const trustProxy = z.string().transform((text, ctx): boolean | ReadonlyArray<string> => {
  const word = text.trim().toLowerCase()
  if (word === "true" || word === "yes") return true
  if (word === "false" || word === "no") return false
  if (/^\d+$/.test(word)) {
    ctx.addIssue({
      code: "custom",
      message:
        "a hop count is not supported; expected true, false, or the proxies' addresses or CIDR ranges, comma-separated (e.g. 10.0.0.1,10.1.0.0/16)"
    })
    return z.NEVER
  }
  const items = list(text)
  const bad = items.filter((item) => proxyAddress(item) === undefined)
  if (items.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `${bad.length > 0 ? `not an address or CIDR range: ${bad.join(", ")}; ` : ""}expected true, false, or the proxies' addresses or CIDR ranges, comma-separated (e.g. 10.0.0.1,10.1.0.0/16; also loopback, linklocal, uniquelocal)`
    })
    return z.NEVER
  }
  return items.map((item) => proxyAddress(item) ?? item)
})

/** The origin a browser sends for a page at this URL (`https://app.example.com`), or undefined if it is not one. */
const originOf = (text: string): string | undefined => {
  if (!URL.canParse(text)) return undefined
  const url = new URL(text)
  const bare =
    url.username === "" && url.password === "" && url.pathname === "/" && url.search === "" && url.hash === ""
  return (url.protocol === "http:" || url.protocol === "https:") && bare ? url.origin : undefined
}

const originsHelp = "expected origins such as https://app.example.com, comma-separated, or * for any, or none"

const origins = z.string().transform((text, ctx): ReadonlyArray<string> => {
  const items = list(text)
  if (items.length === 1 && items[0]?.toLowerCase() === "none") return []
  if (items.includes("*")) {
    if (items.length === 1) return ["*"]
    ctx.addIssue({ code: "custom", message: `* (any origin) cannot be combined with listed origins; ${originsHelp}` })
    return z.NEVER
  }
  const bad = items.filter((item) => originOf(item) === undefined)
  if (items.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `${bad.length > 0 ? `not an origin (scheme://host[:port], no path): ${bad.join(", ")}; ` : ""}${originsHelp}`
    })
    return z.NEVER
  }
  return [...new Set(items.map((item) => originOf(item) ?? item))]
})

/**
 * A database URL as it may be shown: its password (and any `password` query parameter) replaced by `[redacted]`.
 * Text that is not a URL is shown as `[redacted]` whole, since where its password is cannot be told.
 *
 * @category constructors
 */
export const redactUrl = (text: string): string => {
  if (!URL.canParse(text)) return "[redacted]"
  const url = new URL(text)
  let shown = text
  if (url.password !== "") {
    url.password = "redacted"
    shown = url.href.replace(":redacted@", ":[redacted]@")
  }
  return /[?&]password=/i.test(shown) ? shown.replace(/([?&]password=)[^&#]*/gi, "$1[redacted]") : shown
}

const databaseUrl = z
  .string()
  .refine(
    (text) => URL.canParse(text) && ["postgres:", "postgresql:"].includes(new URL(text).protocol),
    "expected a PostgreSQL URL, postgres://user:password@host:5432/database"
  )

/** A PostgreSQL identifier as the store takes it (unquoted rules, so it needs no quoting anywhere). */
const databaseSchema = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_]{0,62}$/,
    "expected a schema name: lower-case letters, digits and _, at most 63, not starting with a digit"
  )

const nodeName = z
  .string()
  .regex(/^[\w.@:-]{1,128}$/, "expected a node name: 1–128 letters, digits, or . _ - : @ (no spaces)")

/** What a node does: everything, the HTTP API only (no tools), or the tools only (with /health and /metrics). */
const roles = ["all", "api", "worker"] as const

/**
 * A node's role.
 *
 * @category models
 */
export type Role = (typeof roles)[number]

/**
 * Connections per pool unless `GEOJOBS_DATABASE_POOL_SIZE` says otherwise: node-postgres' own default, so a node holds
 * at most 21 (two pools and the listener) and PostgreSQL's default `max_connections` of 100 takes four nodes.
 *
 * @category models
 */
export const defaultPoolSize = 10

/** Variables whose values never appear in a problem message. */
const secrets: ReadonlySet<string> = new Set([
  "GEOJOBS_ADMIN_PASSWORD",
  "GEOJOBS_METRICS_TOKEN",
  "GEOJOBS_CALLBACK_SECRET"
])

/** Variables shown with their passwords redacted in a problem message. */
const urls: ReadonlySet<string> = new Set(["GEOJOBS_DATABASE_URL"])

/**
 * The variables, with their defaults.
 *
 * @category models
 */
export const schema = z.object({
  GEOJOBS_PORT: z.coerce.number({ message: "expected a port number" }).int().min(0).max(65_535).default(6080),
  GEOJOBS_HOST: z.string().min(1).default("127.0.0.1"),
  GEOJOBS_DATA_DIR: z.string().min(1).default("./data"),
  GEOJOBS_DATABASE_URL: databaseUrl.optional(),
  GEOJOBS_DATABASE_SCHEMA: databaseSchema.optional(),
  GEOJOBS_DATABASE_POOL_SIZE: z.coerce
    .number({ message: "expected a number of connections" })
    .int("expected a whole number of connections")
    .min(1, "expected at least 1 connection")
    .max(1000, "expected at most 1000 connections")
    .optional(),
  GEOJOBS_JOBS_DIR: z.string().min(1).optional(),
  GEOJOBS_UPLOADS_DIR: z.string().min(1).optional(),
  GEOJOBS_NODE_NAME: nodeName.optional(),
  GEOJOBS_ROLE: z.enum(roles, { message: "expected all, api or worker" }).default("all"),
  GEOJOBS_SERVICES: z.string().min(1).optional(),
  GEOJOBS_BASE_URL: z
    .url({ message: "expected the public URL with its context path, e.g. https://gis.example.com/arcgis" })
    .optional(),
  GEOJOBS_CONTEXT_PATH: z
    .string()
    .regex(/^(\/[^/\s]+)*$/, "expected a path such as /arcgis, or empty")
    .default("/arcgis"),
  GEOJOBS_OGC_PATH: z
    .string()
    .regex(/^(\/[^/\s?#]+)+$/, "expected a path such as /ogcapi")
    .default("/ogcapi"),
  GEOJOBS_ADMIN_PASSWORD: z.string().min(8, "the admin password needs at least 8 characters").optional(),
  GEOJOBS_WORKERS: z.coerce.number().int().min(1).max(256).optional(),
  GEOJOBS_SLOTS: z.coerce.number({ message: "expected a number of jobs" }).int().min(1).max(100_000).optional(),
  GEOJOBS_LEASE_MS: z.coerce
    .number({ message: "expected milliseconds" })
    .int()
    .min(1000)
    .max(3_600_000)
    .default(10_000),
  GEOJOBS_HEARTBEAT_MS: z.coerce
    .number({ message: "expected milliseconds" })
    .int()
    .min(100)
    .max(1_800_000)
    .default(2000),
  GEOJOBS_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  GEOJOBS_REAL_STATUS_CODES: flag.default(false),
  GEOJOBS_BODY_LIMIT_MB: z.coerce.number().positive().max(1024).default(10),
  GEOJOBS_TRUST_PROXY: trustProxy.default(false),
  GEOJOBS_HEADERS_TIMEOUT_MS: milliseconds.optional(),
  GEOJOBS_REQUEST_TIMEOUT_MS: milliseconds.optional(),
  GEOJOBS_KEEP_ALIVE_TIMEOUT_MS: milliseconds.optional(),
  GEOJOBS_CONNECTION_TIMEOUT_MS: milliseconds.optional(),
  GEOJOBS_ALLOWED_ORIGINS: origins.optional(),
  GEOJOBS_ADMIN_ALLOWED_ORIGINS: origins.optional(),
  GEOJOBS_METRICS_TOKEN: z
    .string()
    .min(16, "the metrics token needs at least 16 characters")
    .regex(/^\S+$/, "the metrics token cannot contain spaces (it is sent as Authorization: Bearer <token>)")
    .optional(),
  GEOJOBS_PUBLIC_METRICS: flag.default(false),
  GEOJOBS_WORKER_MAX_OLD_MB: megabytes.optional(),
  GEOJOBS_WORKER_RETIRE_ABOVE_MB: megabytes.optional(),
  GEOJOBS_URL_INPUT_ALLOWED_HOSTS: z
    .string()
    .transform(list)
    .refine(
      (hosts) => hosts.every((h) => /^[A-Za-z0-9.:_-]+$/.test(h)),
      "expected host names or addresses, comma-separated (no scheme, port or path)"
    )
    .optional(),
  GEOJOBS_URL_INPUT_MAX_MB: megabytes.optional(),
  GEOJOBS_URL_INPUT_TIMEOUT_MS: milliseconds.optional(),
  GEOJOBS_CALLBACK_SECRET: z
    .string()
    .min(16, "the callback secret needs at least 16 characters (32 random bytes, base64, are a good one)")
    .optional(),
  GEOJOBS_CALLBACK_ALLOW_HOSTS: z
    .string()
    .transform(list)
    .refine(
      (hosts) => hosts.every((h) => /^[A-Za-z0-9.:_-]+$/.test(h)),
      "expected host names or addresses, comma-separated (no scheme, port or path)"
    )
    .optional(),
  GEOJOBS_CALLBACK_MAX_ATTEMPTS: z.coerce
    .number({ message: "expected a whole number of attempts" })
    .int()
    .min(1)
    .max(100)
    .optional(),
  GEOJOBS_CALLBACK_RETRY_MS: milliseconds.pipe(z.number().min(1, "expected at least 1 ms")).optional(),
  GEOJOBS_CALLBACK_RETRY_MAX_MS: milliseconds.pipe(z.number().min(1, "expected at least 1 ms")).optional(),
  GEOJOBS_CALLBACK_TIMEOUT_MS: milliseconds.pipe(z.number().min(1, "expected at least 1 ms")).optional()
})

/** Settings that are fine alone but contradict each other. */
const contradictions = schema.superRefine((e, ctx) => {
  // Settings of PostgreSQL alone: without its URL they would be silently ignored.
  const postgresOnly = {
    GEOJOBS_DATABASE_SCHEMA: "names a PostgreSQL schema",
    GEOJOBS_DATABASE_POOL_SIZE: "sizes the PostgreSQL connection pools"
  } as const
  for (const [variable, what] of Object.entries(postgresOnly) as Array<[keyof typeof postgresOnly, string]>) {
    if (e[variable] !== undefined && e.GEOJOBS_DATABASE_URL === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [variable],
        message: `${what}, but GEOJOBS_DATABASE_URL is not set (the stores are SQLite files); set both or neither`
      })
    }
  }
  // The engine's local job files live in `<dataDir>/jobs`: main.ts passes the jobs folder's parent as its dataDir.
  if (e.GEOJOBS_JOBS_DIR !== undefined && basename(resolve(e.GEOJOBS_JOBS_DIR)) !== "jobs") {
    ctx.addIssue({
      code: "custom",
      path: ["GEOJOBS_JOBS_DIR"],
      message:
        "expected a folder named jobs (e.g. /mnt/geojobs/jobs): the engine keeps job folders in a folder of that name"
    })
  }
  if (
    e.GEOJOBS_CALLBACK_RETRY_MS !== undefined &&
    e.GEOJOBS_CALLBACK_RETRY_MAX_MS !== undefined &&
    e.GEOJOBS_CALLBACK_RETRY_MS > e.GEOJOBS_CALLBACK_RETRY_MAX_MS
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["GEOJOBS_CALLBACK_RETRY_MS"],
      message: `above GEOJOBS_CALLBACK_RETRY_MAX_MS (${e.GEOJOBS_CALLBACK_RETRY_MAX_MS} ms), the longest wait between attempts`
    })
  }
  if (e.GEOJOBS_PUBLIC_METRICS && e.GEOJOBS_METRICS_TOKEN !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["GEOJOBS_PUBLIC_METRICS"],
      message: "serves /metrics to everyone, so GEOJOBS_METRICS_TOKEN would be ignored; set one of them"
    })
  }
  const old = e.GEOJOBS_WORKER_MAX_OLD_MB ?? defaultMaxOldGenerationSizeMb
  if (e.GEOJOBS_WORKER_RETIRE_ABOVE_MB !== undefined && e.GEOJOBS_WORKER_RETIRE_ABOVE_MB > old) {
    ctx.addIssue({
      code: "custom",
      path: ["GEOJOBS_WORKER_RETIRE_ABOVE_MB"],
      message: `above the worker threads' old generation (${old} MB${e.GEOJOBS_WORKER_MAX_OLD_MB === undefined ? ", the default" : ""}), so no thread would ever be retired; lower it or raise GEOJOBS_WORKER_MAX_OLD_MB`
    })
  }
  // The engine's own rule: one late heartbeat must not make a live node look gone.
  if (e.GEOJOBS_HEARTBEAT_MS * 2 >= e.GEOJOBS_LEASE_MS) {
    ctx.addIssue({
      code: "custom",
      path: ["GEOJOBS_HEARTBEAT_MS"],
      message: `must be under half of GEOJOBS_LEASE_MS (${e.GEOJOBS_LEASE_MS} ms), or one late heartbeat makes a live node look gone`
    })
  }
})

/**
 * The resolved configuration.
 *
 * @category models
 */
export interface ServerConfig {
  readonly port: number
  readonly host: string
  /** The SQLite files (without a database URL), and the default parent of the jobs folder. */
  readonly dataDir: string
  /** Where the stores live: SQLite files in `dataDir`, or one PostgreSQL database shared by every node. */
  readonly database: Database
  /** The job output folders (`<jobsDir>/<jobId>/`); every node of a cluster must reach the same one. */
  readonly jobsDir: string
  /**
   * The uploaded items of services with the Uploads capability (`<uploadsDir>/<itemID>/`); like the jobs folder,
   * every node of a cluster must reach the same one.
   */
  readonly uploadsDir: string
  /** This node's name in the start-up line, `/health` and the engine. */
  readonly nodeName: string
  readonly role: Role
  readonly servicesFile: string
  readonly baseUrl: string | undefined
  readonly contextPath: string
  /** Where the OGC API – Processes landing page is. */
  readonly ogcPath: string
  readonly adminPassword: string | undefined
  readonly workers: number | undefined
  /** Jobs the node runs at once (CPU-bound ones held to `workers` too); the engine's default when unset. */
  readonly slots: number | undefined
  /** A node whose heartbeat is older than this is gone and its jobs are taken over. */
  readonly leaseMs: number
  /** How often a node records that it is alive (under half the lease). */
  readonly heartbeatMs: number
  readonly logLevel: string
  readonly realStatusCodes: boolean
  readonly bodyLimitBytes: number
  /** Fastify's `trustProxy`: false, true, or the proxies' addresses and CIDR ranges. */
  readonly trustProxy: boolean | ReadonlyArray<string>
  readonly headersTimeoutMs: number | undefined
  readonly requestTimeoutMs: number | undefined
  readonly keepAliveTimeoutMs: number | undefined
  readonly connectionTimeoutMs: number | undefined
  /** Origins (normalized, `https://host[:port]`), `["*"]`, or `[]` for none; undefined: the server's default. */
  readonly allowedOrigins: ReadonlyArray<string> | undefined
  readonly adminAllowedOrigins: ReadonlyArray<string> | undefined
  /** Redacted: printing or logging the configuration shows `<redacted>`; `Redacted.value` reads it. */
  readonly metricsToken: Redacted.Redacted<string> | undefined
  readonly publicMetrics: boolean
  /** The engine's worker thread limits from the environment; undefined when none is set. */
  readonly workerLimits: WorkerLimitSettings | undefined
  /**
   * How `{"url":…}` file inputs are fetched: hosts allowed although their addresses are not public (intranet
   * servers), the largest file and the time limit (the engine's defaults, 100 MB and 60 s, when unset).
   */
  readonly urlInputs: {
    readonly allowedHosts: ReadonlyArray<string>
    readonly maxBytes: number | undefined
    readonly timeoutMs: number | undefined
  }
  /**
   * How OGC callbacks are delivered: the signing secret (redacted; unsigned without one), hosts allowed although
   * their addresses are not public, and the retries (the engine's defaults when unset: 1 s doubling to 10 min, 12
   * attempts, 10 s per POST).
   */
  readonly callbacks: {
    readonly secret: Redacted.Redacted<string> | undefined
    readonly allowedHosts: ReadonlyArray<string>
    readonly maxAttempts: number | undefined
    readonly retryMs: number | undefined
    readonly retryMaxMs: number | undefined
    readonly timeoutMs: number | undefined
  }
}

/**
 * The stores' database.
 *
 * @category models
 */
export type Database =
  | { readonly kind: "sqlite" }
  | {
      readonly kind: "postgres"
      /** Redacted: it may carry the password; `Redacted.value` reads it. */
      readonly url: Redacted.Redacted<string>
      /** The URL with its password redacted, to print. */
      readonly shownUrl: string
      readonly schema: string
      /**
       * The most connections each of the node's two pools opens (job store and queue; users and tokens): with the
       * listening connection a node holds at most `2 × poolSize + 1`, which every node's share of the database's
       * `max_connections` must allow.
       */
      readonly poolSize: number
    }

/**
 * Reads the configuration: the settings, or the list of problems (one line per variable).
 *
 * @category constructors
 */
export const fromEnv = (
  env: Readonly<Record<string, string | undefined>>
):
  | { readonly ok: true; readonly config: ServerConfig }
  | { readonly ok: false; readonly problems: ReadonlyArray<string> } => {
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith("GEOJOBS_") && v !== undefined && v !== "")
  )
  const parsed = contradictions.safeParse(present)
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => {
        const variable = String(i.path[0] ?? "environment")
        const value = present[variable] ?? ""
        const shown = secrets.has(variable)
          ? "[redacted]"
          : urls.has(variable)
            ? JSON.stringify(redactUrl(value))
            : JSON.stringify(value)
        return `${variable}=${shown}: ${i.message}`
      })
    }
  }
  const e = parsed.data
  const dataDir = resolve(e.GEOJOBS_DATA_DIR)
  return {
    ok: true,
    config: {
      port: e.GEOJOBS_PORT,
      host: e.GEOJOBS_HOST,
      dataDir,
      database:
        e.GEOJOBS_DATABASE_URL === undefined
          ? { kind: "sqlite" }
          : {
              kind: "postgres",
              url: Redacted.make(e.GEOJOBS_DATABASE_URL),
              shownUrl: redactUrl(e.GEOJOBS_DATABASE_URL),
              schema: e.GEOJOBS_DATABASE_SCHEMA ?? "public",
              poolSize: e.GEOJOBS_DATABASE_POOL_SIZE ?? defaultPoolSize
            },
      jobsDir: e.GEOJOBS_JOBS_DIR === undefined ? join(dataDir, "jobs") : resolve(e.GEOJOBS_JOBS_DIR),
      uploadsDir: e.GEOJOBS_UPLOADS_DIR === undefined ? join(dataDir, "uploads") : resolve(e.GEOJOBS_UPLOADS_DIR),
      nodeName: e.GEOJOBS_NODE_NAME ?? `${hostname()}-${process.pid}`,
      role: e.GEOJOBS_ROLE,
      servicesFile: resolve(e.GEOJOBS_SERVICES ?? ServicesFile.samplePath),
      baseUrl: e.GEOJOBS_BASE_URL,
      contextPath: e.GEOJOBS_CONTEXT_PATH,
      ogcPath: e.GEOJOBS_OGC_PATH,
      adminPassword: e.GEOJOBS_ADMIN_PASSWORD,
      workers: e.GEOJOBS_WORKERS,
      slots: e.GEOJOBS_SLOTS,
      leaseMs: e.GEOJOBS_LEASE_MS,
      heartbeatMs: e.GEOJOBS_HEARTBEAT_MS,
      logLevel: e.GEOJOBS_LOG_LEVEL,
      realStatusCodes: e.GEOJOBS_REAL_STATUS_CODES,
      bodyLimitBytes: Math.round(e.GEOJOBS_BODY_LIMIT_MB * 1024 * 1024),
      trustProxy: e.GEOJOBS_TRUST_PROXY,
      headersTimeoutMs: e.GEOJOBS_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.GEOJOBS_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.GEOJOBS_KEEP_ALIVE_TIMEOUT_MS,
      connectionTimeoutMs: e.GEOJOBS_CONNECTION_TIMEOUT_MS,
      allowedOrigins: e.GEOJOBS_ALLOWED_ORIGINS,
      adminAllowedOrigins: e.GEOJOBS_ADMIN_ALLOWED_ORIGINS,
      metricsToken: e.GEOJOBS_METRICS_TOKEN === undefined ? undefined : Redacted.make(e.GEOJOBS_METRICS_TOKEN),
      publicMetrics: e.GEOJOBS_PUBLIC_METRICS,
      workerLimits:
        e.GEOJOBS_WORKER_MAX_OLD_MB === undefined && e.GEOJOBS_WORKER_RETIRE_ABOVE_MB === undefined
          ? undefined
          : {
              ...(e.GEOJOBS_WORKER_MAX_OLD_MB === undefined
                ? {}
                : { maxOldGenerationSizeMb: e.GEOJOBS_WORKER_MAX_OLD_MB }),
              ...(e.GEOJOBS_WORKER_RETIRE_ABOVE_MB === undefined
                ? {}
                : { retireAboveHeapMb: e.GEOJOBS_WORKER_RETIRE_ABOVE_MB })
            },
      urlInputs: {
        allowedHosts: e.GEOJOBS_URL_INPUT_ALLOWED_HOSTS ?? [],
        maxBytes: e.GEOJOBS_URL_INPUT_MAX_MB === undefined ? undefined : e.GEOJOBS_URL_INPUT_MAX_MB * 1024 * 1024,
        // 0 would be no limit elsewhere; a fetch always has one.
        timeoutMs:
          e.GEOJOBS_URL_INPUT_TIMEOUT_MS === undefined || e.GEOJOBS_URL_INPUT_TIMEOUT_MS === 0
            ? undefined
            : e.GEOJOBS_URL_INPUT_TIMEOUT_MS
      },
      callbacks: {
        secret: e.GEOJOBS_CALLBACK_SECRET === undefined ? undefined : Redacted.make(e.GEOJOBS_CALLBACK_SECRET),
        allowedHosts: e.GEOJOBS_CALLBACK_ALLOW_HOSTS ?? [],
        maxAttempts: e.GEOJOBS_CALLBACK_MAX_ATTEMPTS,
        retryMs: e.GEOJOBS_CALLBACK_RETRY_MS,
        retryMaxMs: e.GEOJOBS_CALLBACK_RETRY_MAX_MS,
        timeoutMs: e.GEOJOBS_CALLBACK_TIMEOUT_MS
      }
    }
  }
}
