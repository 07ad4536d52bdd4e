/**
 * `@geojobs/http-server/testing`: a real GeoJobs server for tests, on the storage the test chooses.
 *
 * @module
 */
export * as TestServer from "./TestServer.ts"
