/**
 * `@geojobs/client`: a typed client for GeoJobs (and ArcGIS geoprocessing services where the shapes agree), with a
 * Promise API (`GeoJobsClient`) and an Effect API (`GeoJobs`).
 *
 * @module
 */
export { ClientError, isProblem, isTokenError, type Kind, type Problem, problems } from "./ClientError.ts"
export {
  type Client,
  type ConnectOptions,
  type ExecuteOptions,
  type Execution,
  GeoJobs,
  GeoJobsClient,
  type JobQuery,
  type JobRef,
  make,
  type OgcStatus,
  type OgcWaitOptions,
  type Paging,
  type Params,
  type QueryOptions,
  type WaitOptions
} from "./GeoJobsClient.ts"
export {
  type FileFormat,
  fileFormatOf,
  fileFormats,
  type ResultFileOptions,
  type UploadItem,
  type UploadOptions,
  uploadItemSchema
} from "./Jobs.ts"
export { OgcClient, type OgcConnectOptions } from "./OgcClient.ts"
