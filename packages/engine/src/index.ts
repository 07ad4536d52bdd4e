/**
 * `@geojobs/engine`: the GeoJobs job runtime. Each module is a namespace named after the concept it owns.
 *
 * @module
 */
export * as JobQueue from "./JobQueue.ts"
export * as SqliteJobStore from "./SqliteJobStore.ts"
