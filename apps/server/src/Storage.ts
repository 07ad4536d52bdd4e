/**
 * The storage the server runs on, picked from its configuration: SQLite files in the data folder (the default, one
 * machine), or one PostgreSQL database shared by every node of a cluster (`GEOJOBS_DATABASE_URL`). Either provides the
 * same ports — job store, queue, security store — so nothing above this module knows which it is.
 *
 * @module
 */
import { JobQueue } from "@geojobs/core"
import { LocalUploads } from "@geojobs/engine"
import { Effect, Layer, Redacted } from "effect"
import type { ServerConfig } from "./ServerConfig.ts"

/**
 * The storage layer: the one adapter choice of the app. Each adapter is imported only when it is the one chosen, so a
 * SQLite node never loads the PostgreSQL driver (nor a PostgreSQL node `node:sqlite`): part of keeping an idle
 * server small (issue 13).
 *
 * @category layers
 */
export const layer = (config: Pick<ServerConfig, "dataDir" | "database" | "nodeName">) => {
  const { database } = config
  return database.kind === "sqlite"
    ? Layer.unwrap(
        Effect.promise(() => import("@geojobs/store-sqlite")).pipe(
          Effect.map(({ SqliteStorage }) => SqliteStorage.layer({ dataDir: config.dataDir }))
        )
      )
    : Layer.unwrap(
        Effect.promise(() => import("@geojobs/store-postgres")).pipe(
          Effect.map(({ PgStorage }) =>
            PgStorage.layer({
              connectionString: Redacted.value(database.url),
              schema: database.schema,
              max: database.poolSize,
              // Names the node's connections in pg_stat_activity (PostgreSQL keeps the first 63 bytes).
              pool: { application_name: `geojobs ${config.nodeName}` }
            })
          )
        )
      )
}

/**
 * Where uploaded items are kept: a local folder (`GEOJOBS_UPLOADS_DIR`, default `<dataDir>/uploads`), which every node
 * of a cluster must share, as the jobs folder. Services take uploads only with their `uploads` setting.
 *
 * @category layers
 */
export const uploads = (config: Pick<ServerConfig, "uploadsDir">) => LocalUploads.layer(config.uploadsDir)

/**
 * Where the stores are, to print: the database URL with its password redacted.
 *
 * @category constructors
 */
export const describe = (config: Pick<ServerConfig, "dataDir" | "database">): string =>
  config.database.kind === "sqlite"
    ? `SQLite in ${config.dataDir}`
    : `PostgreSQL ${config.database.shownUrl}, schema ${config.database.schema}`

/**
 * The queue as an `api` node's engine sees it: it claims nothing, so the node runs no tools, while submissions,
 * cancels, counts, heartbeats and recovery go to the real queue. (A stand-in until the engine can start without its
 * dispatcher.)
 *
 * @category layers
 */
export const claimingNothing: Layer.Layer<JobQueue.JobQueue, never, JobQueue.JobQueue> = Layer.effect(
  JobQueue.JobQueue,
  Effect.map(JobQueue.JobQueue, (queue) => ({ ...queue, claim: () => Effect.succeed([]) }))
)

/**
 * Scrubs the database URL and its password out of a message (a driver error may quote what it was given).
 *
 * @category constructors
 */
export const scrub = (config: Pick<ServerConfig, "database">, message: string): string => {
  if (config.database.kind === "sqlite") return message
  const url = Redacted.value(config.database.url)
  let scrubbed = message.replaceAll(url, config.database.shownUrl)
  const password = URL.canParse(url) ? decodeURIComponent(new URL(url).password) : ""
  if (password !== "") {
    scrubbed = scrubbed.replaceAll(password, "[redacted]").replaceAll(new URL(url).password, "[redacted]")
  }
  return scrubbed
}
