/**
 * `@geojobs/client`: a typed client for GeoJobs (and ArcGIS geoprocessing services where the shapes agree), with a
 * Promise API (`GeoJobsClient`) and an Effect API (`GeoJobs`).
 *
 * @module
 */
export { ClientError, isTokenError, type Kind } from "./ClientError.ts"
export {
  type Client,
  type ConnectOptions,
  GeoJobs,
  GeoJobsClient,
  type JobRef,
  make,
  type Params,
  type QueryOptions,
  type WaitOptions
} from "./GeoJobsClient.ts"
