/**
 * `@geojobs/http-server`: the GeoJobs HTTP server, a Fastify plugin speaking the ArcGIS GP REST API, the admin job
 * API and tokens. Each module is a namespace named after the concept it owns.
 *
 * @module
 */
export * as Accounts from "./Accounts.ts"
export * as AdminApi from "./AdminApi.ts"
export * as AdminDirectory from "./AdminDirectory.ts"
export * as ArcGISRequest from "./ArcGISRequest.ts"
export * as Failure from "./Failure.ts"
export * as Handler from "./Handler.ts"
export * as Html from "./Html.ts"
export * as Metrics from "./Metrics.ts"
export * as OgcApi from "./OgcApi.ts"
export * as OgcFailure from "./OgcFailure.ts"
export * as OgcProcesses from "./OgcProcesses.ts"
export * as OpenApi from "./OpenApi.ts"
export * as RestApi from "./RestApi.ts"
export * as Router from "./Router.ts"
export * as Security from "./Security.ts"
export * as Server from "./Server.ts"
export * as ServiceControl from "./ServiceControl.ts"
export * as TokenApi from "./TokenApi.ts"
export * as Uploads from "./Uploads.ts"
