/**
 * `@geojobs/store-postgres`: GeoJobs' storage ports on PostgreSQL — for several nodes on one database. Each module is
 * a namespace named after the concept it owns.
 *
 * @module
 */
export * as PgDatabase from "./PgDatabase.ts"
export * as PgJobStore from "./PgJobStore.ts"
export * as PgNotifications from "./PgNotifications.ts"
export * as PgSecurityStore from "./PgSecurityStore.ts"
export * as PgStorage from "./PgStorage.ts"
