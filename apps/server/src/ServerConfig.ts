/**
 * The server's settings, read from the environment and checked with zod; a wrong value stops start-up with a message
 * that names the variable and says what it should be.
 *
 * @module
 */
import { resolve } from "node:path"
import { ServicesFile } from "@geojobs/tools"
import { z } from "zod"

const flag = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes")

/**
 * The variables, with their defaults.
 *
 * @category models
 */
export const schema = z.object({
  GEOJOBS_PORT: z.coerce.number({ message: "expected a port number" }).int().min(0).max(65_535).default(6080),
  GEOJOBS_HOST: z.string().min(1).default("127.0.0.1"),
  GEOJOBS_DATA_DIR: z.string().min(1).default("./data"),
  GEOJOBS_SERVICES: z.string().min(1).optional(),
  GEOJOBS_BASE_URL: z
    .url({ message: "expected the public URL with its context path, e.g. https://gis.example.com/arcgis" })
    .optional(),
  GEOJOBS_CONTEXT_PATH: z
    .string()
    .regex(/^(\/[^/\s]+)*$/, "expected a path such as /arcgis, or empty")
    .default("/arcgis"),
  GEOJOBS_ADMIN_PASSWORD: z.string().min(8, "the admin password needs at least 8 characters").optional(),
  GEOJOBS_WORKERS: z.coerce.number().int().min(1).max(256).optional(),
  GEOJOBS_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  GEOJOBS_REAL_STATUS_CODES: flag.default(false),
  GEOJOBS_BODY_LIMIT_MB: z.coerce.number().positive().max(1024).default(10)
})

/**
 * The resolved configuration.
 *
 * @category models
 */
export interface ServerConfig {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  readonly servicesFile: string
  readonly baseUrl: string | undefined
  readonly contextPath: string
  readonly adminPassword: string | undefined
  readonly workers: number | undefined
  readonly logLevel: string
  readonly realStatusCodes: boolean
  readonly bodyLimitBytes: number
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
  const parsed = schema.safeParse(present)
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map(
        (i) => `${String(i.path[0] ?? "environment")}=${JSON.stringify(present[String(i.path[0])] ?? "")}: ${i.message}`
      )
    }
  }
  const e = parsed.data
  return {
    ok: true,
    config: {
      port: e.GEOJOBS_PORT,
      host: e.GEOJOBS_HOST,
      dataDir: resolve(e.GEOJOBS_DATA_DIR),
      servicesFile: resolve(e.GEOJOBS_SERVICES ?? ServicesFile.samplePath),
      baseUrl: e.GEOJOBS_BASE_URL,
      contextPath: e.GEOJOBS_CONTEXT_PATH,
      adminPassword: e.GEOJOBS_ADMIN_PASSWORD,
      workers: e.GEOJOBS_WORKERS,
      logLevel: e.GEOJOBS_LOG_LEVEL,
      realStatusCodes: e.GEOJOBS_REAL_STATUS_CODES,
      bodyLimitBytes: Math.round(e.GEOJOBS_BODY_LIMIT_MB * 1024 * 1024)
    }
  }
}
