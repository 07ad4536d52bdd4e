/**
 * `@geojobs/store-sqlite`: GeoJobs' storage ports on node:sqlite — the embedded default, no native dependency. Each
 * module is a namespace named after the concept it owns.
 *
 * @module
 */
export * as SqliteDatabase from "./SqliteDatabase.ts"
export * as SqliteJobStore from "./SqliteJobStore.ts"
export * as SqliteSecurityStore from "./SqliteSecurityStore.ts"
export * as SqliteStorage from "./SqliteStorage.ts"
