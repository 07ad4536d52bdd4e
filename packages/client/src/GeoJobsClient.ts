/**
 * The GeoJobs client, for Node 24 and browsers (fetch only), as a Promise API (`GeoJobsClient`) and an Effect API (the
 * `GeoJobs` service) over one implementation split along its seams: `Transport` (fetch, forms, JSON and both error
 * envelopes, downloads), `Session` (sign-in at the advertised token service or a federated portal, refresh, the one
 * 498/499 retry), `Jobs` (the services directory, submit, execute, follow, results, inputs, cancel, job URLs) and
 * `Admin` (the admin job API). Every answer is checked against core's zod schemas and every URL is built with core's
 * `ArcGISResource`. Nothing in the common paths is GeoJobs-only, so ArcGIS Enterprise works too.
 *
 * @module
 */
import type { AdminJob } from "@geojobs/core"
import { Context, Effect, Layer } from "effect"
import * as Admin from "./Admin.ts"
import type { ClientError } from "./ClientError.ts"
import * as Jobs from "./Jobs.ts"
import * as Ogc from "./Ogc.ts"
import { OgcClient } from "./OgcClient.ts"
import * as Session from "./Session.ts"

export type { QueryOptions } from "./Admin.ts"
export type { JobRef, Params, WaitOptions } from "./Jobs.ts"
export type {
  ExecuteOptions,
  Execution,
  JobQuery,
  Paging,
  Status as OgcStatus,
  WaitOptions as OgcWaitOptions
} from "./Ogc.ts"
export type { ConnectOptions } from "./Session.ts"

/**
 * The client's operations, as Effects.
 *
 * @category services
 */
export interface Client extends Jobs.Jobs {
  readonly url: string
  readonly token: () => string | undefined
  readonly tokenExpires: () => number | undefined
  readonly signIn: Effect.Effect<void, ClientError>
  readonly admin: Admin.Admin
  /** OGC API – Processes on the same server (at `ogcUrl`, default its origin with `/ogcapi`), with the same token. */
  readonly ogc: Ogc.Ogc
}

/**
 * Makes a client (signing in when credentials are given).
 *
 * @category constructors
 */
export const make = (options: Session.ConnectOptions): Effect.Effect<Client, ClientError> =>
  Effect.map(
    Session.make(options),
    (session): Client => ({
      ...Jobs.make(session),
      url: session.base,
      token: session.token,
      tokenExpires: session.tokenExpires,
      signIn: session.signIn,
      admin: Admin.make(session),
      ogc: Ogc.make(session, options.ogcUrl ?? Ogc.defaultRoot(session.base))
    })
  )

/**
 * The client as an Effect service.
 *
 * @category services
 */
export class GeoJobs extends Context.Service<GeoJobs, Client>()("@geojobs/client/GeoJobs") {
  /**
   * A client for one server, signed in when credentials are given.
   *
   * @category layers
   */
  static readonly layer = (options: Session.ConnectOptions): Layer.Layer<GeoJobs, ClientError> =>
    Layer.effect(GeoJobs, make(options))
}

const run = <A>(effect: Effect.Effect<A, ClientError>): Promise<A> => Effect.runPromise(effect)

/**
 * The Promise API: the same operations, rejecting with `ClientError`.
 *
 * @category constructors
 */
export class GeoJobsClient {
  /** The Effect operations underneath. */
  readonly client: Client

  private constructor(client: Client) {
    this.client = client
  }

  /** Connects (and signs in when credentials are given). */
  static async connect(options: Session.ConnectOptions): Promise<GeoJobsClient> {
    return new GeoJobsClient(await run(make(options)))
  }

  get url(): string {
    return this.client.url
  }
  get token(): string | undefined {
    return this.client.token()
  }
  get tokenExpires(): number | undefined {
    return this.client.tokenExpires()
  }
  services(folder?: string) {
    return run(this.client.services(folder))
  }
  service(service: string) {
    return run(this.client.service(service))
  }
  task(service: string, task: string) {
    return run(this.client.task(service, task))
  }
  submitJob(service: string, task: string, params: Jobs.Params = {}) {
    return run(this.client.submitJob(service, task, params))
  }
  execute(service: string, task: string, params: Jobs.Params = {}) {
    return run(this.client.execute(service, task, params))
  }
  jobRef(service: string, task: string | undefined, jobId: string): Jobs.JobRef {
    return this.client.jobRef(service, task, jobId)
  }
  parseJobUrl(url: string) {
    return run(this.client.parseJobUrl(url))
  }
  jobUrl(ref: Jobs.JobRef): string {
    return this.client.jobUrl(ref)
  }
  download(url: string) {
    return run(this.client.download(url))
  }
  job(ref: Jobs.JobRef) {
    return run(this.client.job(ref))
  }
  waitForJob(ref: Jobs.JobRef, options?: Jobs.WaitOptions) {
    return run(this.client.waitForJob(ref, options))
  }
  results(ref: Jobs.JobRef, param?: string, options?: { readonly geojson?: boolean; readonly outSR?: string }) {
    return run(this.client.results(ref, param, options))
  }
  /** A feature-set result (or a table, as CSV) as a file's bytes: `shapefile`, `csv`, `kml`, `kmz`, `geopackage`, `geojson`. */
  resultFile(ref: Jobs.JobRef, param: string, format: Jobs.FileFormat, options?: Jobs.ResultFileOptions) {
    return run(this.client.resultFile(ref, param, format, options))
  }
  inputs(ref: Jobs.JobRef, param?: string) {
    return run(this.client.inputs(ref, param))
  }
  cancel(ref: Jobs.JobRef) {
    return run(this.client.cancel(ref))
  }
  /** Uploads a file to the service's `uploads/upload`: the item, whose `{"itemID": …}` a file parameter takes. */
  upload(service: string, data: Blob | Uint8Array, options: Jobs.UploadOptions) {
    return run(this.client.upload(service, data, options))
  }

  /** OGC API – Processes on the same server, with the same sign-in. */
  get ogc(): OgcClient {
    this.ogcClient ??= new OgcClient(this.client.ogc)
    return this.ogcClient
  }
  private ogcClient: OgcClient | undefined

  /** The admin job API. */
  get admin() {
    const c = this.client
    return {
      job: (service: string, jobId: string) => run(c.admin.job(service, jobId)),
      /** Every job matching the filters, page after page. */
      query: async function* (service: string, options: Admin.QueryOptions = {}): AsyncGenerator<AdminJob.AdminJob> {
        let start = 1
        while (start > 0) {
          const page = await run(c.admin.page(service, { ...options, start }))
          yield* page.results
          start = page.nextStart
        }
      },
      cancel: (service: string, jobId: string) => run(c.admin.cancel(service, jobId)),
      delete: (service: string, jobId: string) => run(c.admin.delete(service, jobId)),
      purgeQueue: (service: string) => run(c.admin.purgeQueue(service)),
      statistics: (service: string) => run(c.admin.statistics(service)),
      startService: (service: string) => run(c.admin.setServiceStatus(service, "start")),
      stopService: (service: string) => run(c.admin.setServiceStatus(service, "stop"))
    }
  }
}
