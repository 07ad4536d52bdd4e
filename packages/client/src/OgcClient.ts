/**
 * The Promise API of the OGC API – Processes operations (`Ogc`): `GeoJobsClient.ogc` for a GeoJobs server (the same
 * session, tokens refreshed as for the ArcGIS calls), or `OgcClient.connect` for an OGC root on its own, with a given
 * token or none. Rejects with `ClientError`.
 *
 * @module
 */
import type { OgcDocument, OgcLink, OgcStatusInfo } from "@geojobs/core"
import { Effect } from "effect"
import type { ClientError } from "./ClientError.ts"
import * as Ogc from "./Ogc.ts"
import * as Session from "./Session.ts"

const run = <A>(effect: Effect.Effect<A, ClientError>): Promise<A> => Effect.runPromise(effect)

/**
 * How to reach an OGC root on its own.
 *
 * @category models
 */
export interface OgcConnectOptions {
  /** The OGC root (landing page), e.g. `https://gis.example.com/ogcapi`. */
  readonly url: string
  /** Sent as `Authorization: Bearer`. */
  readonly token?: string | undefined
  readonly referer?: string | undefined
  readonly fetch?: typeof globalThis.fetch | undefined
}

/**
 * The OGC operations as Promises.
 *
 * @category constructors
 */
export class OgcClient {
  /** The Effect operations underneath. */
  readonly ogc: Ogc.Ogc

  constructor(ogc: Ogc.Ogc) {
    this.ogc = ogc
  }

  /** An OGC root on its own (no sign-in: a given token is sent as it is). */
  static async connect(options: OgcConnectOptions): Promise<OgcClient> {
    const session = await run(
      Session.make({ url: options.url, token: options.token, referer: options.referer, fetch: options.fetch })
    )
    return new OgcClient(Ogc.make(session, options.url))
  }

  get url(): string {
    return this.ogc.url
  }
  landing() {
    return run(this.ogc.landing)
  }
  conformance() {
    return run(this.ogc.conformance)
  }
  processes(paging?: Ogc.Paging) {
    return run(this.ogc.processes(paging))
  }
  process(processId: string) {
    return run(this.ogc.process(processId))
  }
  execute(processId: string, options?: Ogc.ExecuteOptions) {
    return run(this.ogc.execute(processId, options))
  }
  job(jobId: string) {
    return run(this.ogc.job(jobId))
  }
  waitForJob(jobId: string, options?: Ogc.WaitOptions) {
    return run(this.ogc.waitForJob(jobId, options))
  }
  results(jobId: string) {
    return run(this.ogc.results(jobId))
  }
  dismiss(jobId: string) {
    return run(this.ogc.dismiss(jobId))
  }
  /** One page of the job list. */
  jobs(query?: Ogc.JobQuery) {
    return run(this.ogc.jobs(query))
  }
  /** Every job matching the filters, following the `next` links page after page (`limit` is the page size). */
  async *allJobs(query?: Ogc.JobQuery): AsyncGenerator<OgcStatusInfo.OgcStatusInfo> {
    let page: OgcDocument.JobList | undefined = await this.jobs(query)
    while (page !== undefined) {
      yield* page.jobs
      const next: OgcLink.OgcLink | undefined = page.links.find((l) => l.rel === "next")
      page = next === undefined || page.jobs.length === 0 ? undefined : await run(this.ogc.jobsPage(next.href))
    }
  }
  jobUrl(jobId: string): string {
    return this.ogc.jobUrl(jobId)
  }
  parseJobUrl(url: string) {
    return run(this.ogc.parseJobUrl(url))
  }
  processId(service: string, task: string) {
    return run(this.ogc.processId(service, task))
  }
}
