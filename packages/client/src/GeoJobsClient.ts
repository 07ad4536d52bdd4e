/**
 * The GeoJobs client, for Node 24 and browsers (fetch only): signs in with a username and password (generateToken, at
 * the URL the server's `rest/info` advertises; for a server federated with an ArcGIS Enterprise portal, at the portal,
 * exchanging the portal token for a server token) or uses a given token, refreshes it before it expires and once when
 * the server answers 498/499; reads the services directory; submits and executes jobs; follows a job to its end with
 * backing-off polls, progress/message callbacks, an AbortSignal and a timeout; reads results (feature sets also as
 * GeoJSON), inputs; cancels; and speaks the admin job API (the seed document, an auto-paging query, cancel, delete,
 * purgeQueue, statistics). Every answer is checked against core's zod schemas. One implementation: the Effect API
 * (`GeoJobs` service) and the Promise API (`GeoJobsClient`) share it. Nothing in the common paths is GeoJobs-only, so
 * ArcGIS Enterprise works too.
 *
 * @module
 */
import { AdminJob, ErrorEnvelope, JobStatus, JobUrls, RestJob } from "@geojobs/core"
import { Context, Effect, Layer } from "effect"
import { z } from "zod"
import { ClientError } from "./ClientError.ts"

/**
 * How to reach and sign in to a server.
 *
 * @category models
 */
export interface ConnectOptions {
  /** The server's URL with its context path, e.g. `https://gis.example.com/arcgis`. */
  readonly url: string
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** A token to use as it is (and `expires`, ms, when known). */
  readonly token?: string | undefined
  readonly expires?: number | undefined
  /** Bind tokens to this referer (browsers send it); otherwise tokens are bound to the caller's address. */
  readonly referer?: string | undefined
  /** Token lifetime to ask for, minutes (default 60). */
  readonly expiration?: number | undefined
  readonly fetch?: typeof globalThis.fetch | undefined
}

/**
 * A job: its service (`Folder/Name`), task (absent for the service-level URL) and id.
 *
 * @category models
 */
export interface JobRef {
  readonly service: string
  readonly task?: string | undefined
  readonly jobId: string
}

/** Parameter values: strings, numbers and booleans as they are; anything else as JSON. @category models */
export type Params = Readonly<Record<string, unknown>>

/** Options of `waitForJob`. @category models */
export interface WaitOptions {
  readonly onProgress?: ((doc: RestJob.RestJob) => void) | undefined
  readonly onMessage?: ((message: { readonly type: string; readonly description: string }) => void) | undefined
  /** Stop waiting when it aborts (at once, even between polls): fails with kind `aborted`. The job goes on. */
  readonly signal?: AbortSignal | undefined
  /** Give up after this many milliseconds (default: never): fails with kind `timeout`. The job goes on. */
  readonly timeoutMs?: number | undefined
  /** First poll interval, ms (default 500; it grows ×1.5 up to `maxIntervalMs`). */
  readonly intervalMs?: number | undefined
  readonly maxIntervalMs?: number | undefined
}

/** Admin query filters. @category models */
export interface QueryOptions {
  readonly jobStatus?: string | undefined
  readonly userName?: string | undefined
  /** ISO text, seconds or milliseconds since the epoch. */
  readonly startTime?: string | number | undefined
  readonly endTime?: string | number | undefined
  /** Page size (default 100). */
  readonly number?: number | undefined
}

const catalogSchema = z.looseObject({
  folders: z.array(z.string()).default([]),
  services: z.array(z.looseObject({ name: z.string(), type: z.string() }))
})
const serviceSchema = z.looseObject({ tasks: z.array(z.string()), executionType: z.string() })
const taskSchema = z.looseObject({
  name: z.string(),
  parameters: z.array(
    z.looseObject({
      name: z.string(),
      dataType: z.string(),
      direction: z.string(),
      defaultValue: z.unknown(),
      parameterType: z.string()
    })
  )
})
const tokenSchema = z.looseObject({ token: z.string(), expires: z.coerce.number() })
const executeSchema = z.looseObject({
  results: z.array(RestJob.parameterValueSchema),
  messages: z.array(z.looseObject({ type: z.string(), description: z.string() })).default([])
})
const cancelSchema = z.looseObject({ jobId: z.string(), jobStatus: z.string() })
const pageSchema = z.looseObject({
  total: z.number(),
  num: z.number(),
  start: z.number(),
  nextStart: z.number(),
  results: z.array(AdminJob.schema)
})
const operationSchema = z.looseObject({ status: z.literal("success") })
const statisticsSchema = z.looseObject({
  total: z.number(),
  cancelled: z.number(),
  failed: z.number(),
  succeeded: z.number()
})
const infoSchema = z.looseObject({
  /** The portal a federated server belongs to (10.1 SP1+). */
  owningSystemUrl: z.string().optional(),
  authInfo: z
    .looseObject({ tokenServicesUrl: z.string().optional(), tokenServiceUrl: z.string().optional() })
    .optional()
})

const servicePath = (service: string) => {
  const parts = service.split("/").filter((p) => p !== "")
  return parts.length === 2 ? { folder: parts[0] ?? "", name: parts[1] ?? "" } : { name: parts[0] ?? "" }
}

// fetch says only "fetch failed"; the reason (ECONNREFUSED, a DNS or TLS error) is on its `cause`.
const reason = (error: unknown): string => {
  const messages: Array<string> = []
  for (let e: unknown = error; e instanceof Error && messages.length < 4; e = e.cause) messages.push(e.message)
  return messages.length === 0 ? String(error) : messages.join(": ")
}

// Where a sign-in goes: the token service, and the portal when the server is federated with one.
interface Route {
  readonly portal: string | undefined
  readonly tokenUrl: string
}

const encodeValue = (v: unknown): string =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v)

/**
 * The client's operations, as Effects.
 *
 * @category services
 */
export interface Client {
  readonly url: string
  readonly token: () => string | undefined
  readonly tokenExpires: () => number | undefined
  readonly signIn: Effect.Effect<void, ClientError>
  readonly services: (folder?: string) => Effect.Effect<z.output<typeof catalogSchema>, ClientError>
  readonly service: (service: string) => Effect.Effect<z.output<typeof serviceSchema>, ClientError>
  readonly task: (service: string, task: string) => Effect.Effect<z.output<typeof taskSchema>, ClientError>
  readonly submitJob: (service: string, task: string, params: Params) => Effect.Effect<RestJob.RestJob, ClientError>
  readonly execute: (
    service: string,
    task: string,
    params: Params
  ) => Effect.Effect<z.output<typeof executeSchema>, ClientError>
  readonly jobRef: (service: string, task: string | undefined, jobId: string) => JobRef
  readonly parseJobUrl: (url: string) => Effect.Effect<JobRef, ClientError>
  /** The job's REST URL (the service-level one when the task is not known). */
  readonly jobUrl: (ref: JobRef) => string
  /** The bytes behind an output file's URL (a GPDataFile result's `url`), fetched with the client's token. */
  readonly download: (url: string) => Effect.Effect<Uint8Array, ClientError>
  readonly job: (ref: JobRef) => Effect.Effect<RestJob.RestJob, ClientError>
  readonly waitForJob: (ref: JobRef, options?: WaitOptions) => Effect.Effect<RestJob.RestJob, ClientError>
  readonly results: (
    ref: JobRef,
    param?: string,
    options?: { readonly geojson?: boolean | undefined; readonly outSR?: string | undefined }
  ) => Effect.Effect<unknown, ClientError>
  readonly inputs: (ref: JobRef, param?: string) => Effect.Effect<unknown, ClientError>
  readonly cancel: (ref: JobRef) => Effect.Effect<z.output<typeof cancelSchema>, ClientError>
  readonly admin: {
    readonly job: (service: string, jobId: string) => Effect.Effect<AdminJob.AdminJob, ClientError>
    readonly page: (
      service: string,
      options: QueryOptions & { readonly start?: number | undefined }
    ) => Effect.Effect<z.output<typeof pageSchema>, ClientError>
    readonly cancel: (service: string, jobId: string) => Effect.Effect<void, ClientError>
    readonly delete: (service: string, jobId: string) => Effect.Effect<void, ClientError>
    readonly purgeQueue: (service: string) => Effect.Effect<void, ClientError>
    readonly statistics: (service: string) => Effect.Effect<z.output<typeof statisticsSchema>, ClientError>
  }
}

/**
 * Makes a client (signing in when credentials are given).
 *
 * @category constructors
 */
export const make = (options: ConnectOptions): Effect.Effect<Client, ClientError> =>
  Effect.gen(function* () {
    const base = options.url.replace(/\/+$/, "")
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis)
    let token = options.token
    let expires = options.expires
    // How long the last token this client asked for lives, ms (unknown for a given token).
    let lifetime: number | undefined
    // Where to sign in, read from `rest/info` once: the server's own token service, or (federated) its portal's.
    let route: Route | undefined

    const call = (url: string, fields: Record<string, string>) =>
      Effect.tryPromise({
        try: async (signal) => {
          const body = new URLSearchParams({ ...fields, f: fields.f ?? "json" })
          const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" }
          if (options.referer !== undefined) headers.referer = options.referer
          const response = await fetchFn(url, { method: "POST", body, headers, signal })
          return {
            status: response.status,
            text: await response.text(),
            type: response.headers.get("content-type") ?? ""
          }
        },
        catch: (cause) =>
          new ClientError({
            kind: "network",
            detail: `Cannot reach ${url}`,
            details: [reason(cause)],
            url
          })
      })

    const parse = (url: string, answer: { status: number; text: string }): Effect.Effect<unknown, ClientError> => {
      let doc: unknown
      try {
        doc = JSON.parse(answer.text)
      } catch {
        return Effect.fail(
          new ClientError({
            kind: "response",
            code: answer.status,
            detail: `${url} did not answer JSON`,
            details: [answer.text.slice(0, 200)],
            url
          })
        )
      }
      const rest = ErrorEnvelope.restSchema.safeParse(doc)
      const admin = ErrorEnvelope.adminSchema.safeParse(doc)
      const failure = rest.success
        ? { code: rest.data.error.code, detail: rest.data.error.message, details: rest.data.error.details }
        : admin.success
          ? { code: admin.data.code, detail: admin.data.messages[0] ?? "Error", details: admin.data.messages.slice(1) }
          : answer.status >= 400
            ? { code: answer.status, detail: `HTTP ${answer.status}`, details: [] }
            : undefined
      if (failure === undefined) return Effect.succeed(doc)
      const kind = failure.code === 498 || failure.code === 499 ? "token" : "server"
      return Effect.fail(
        new ClientError({ kind, code: failure.code, detail: failure.detail, details: failure.details, url })
      )
    }

    // A token from a token service: `{token, expires}` or an ArcGIS error.
    const issue = (url: string, fields: Record<string, string>) =>
      Effect.gen(function* () {
        const doc = yield* Effect.flatMap(call(url, fields), (a) => parse(url, a))
        const issued = tokenSchema.safeParse(doc)
        if (!issued.success)
          return yield* new ClientError({
            kind: "response",
            detail: "generateToken answered no token",
            details: [],
            url
          })
        return issued.data
      })

    // `rest/info` (of the server or a portal), or nothing when it cannot be read: signing in then falls back.
    const readInfo = (url: string) =>
      Effect.flatMap(call(url, {}), (a) => parse(url, a)).pipe(
        Effect.map((doc) => {
          const info = infoSchema.safeParse(doc)
          return info.success ? info.data : undefined
        }),
        Effect.orElseSucceed(() => undefined)
      )

    const discover = Effect.gen(function* () {
      const info = yield* readInfo(`${base}/rest/info`)
      // Post to the URL exactly as advertised (often `…/arcgis/tokens/`), as Esri's clients do; 10.0 servers spelled
      // the key `tokenServiceUrl`.
      const advertised = info?.authInfo?.tokenServicesUrl ?? info?.authInfo?.tokenServiceUrl
      const portal = info?.owningSystemUrl?.replace(/\/+$/, "")
      if (portal === undefined || portal === "") {
        return { portal: undefined, tokenUrl: advertised ?? `${base}/tokens/generateToken` } satisfies Route
      }
      // Federated: the portal's own `sharing/rest/info` names its token service (as arcgis-rest-js reads it).
      const portalInfo = yield* readInfo(`${portal}/sharing/rest/info`)
      const tokenUrl = portalInfo?.authInfo?.tokenServicesUrl ?? advertised ?? `${portal}/sharing/rest/generateToken`
      return { portal, tokenUrl } satisfies Route
    })

    // An error from the portal, told apart from the server's: same kind, code and URL (the portal's), plus a line
    // saying which step failed.
    const atPortal = (step: string) => (e: ClientError) =>
      new ClientError({ kind: e.kind, code: e.code, detail: e.detail, details: [...e.details, step], url: e.url })

    const generate = Effect.gen(function* () {
      if (options.username === undefined || options.password === undefined) {
        return yield* new ClientError({
          kind: "token",
          code: 499,
          detail: "Token Required",
          details: ["No credentials to sign in with."]
        })
      }
      if (route === undefined) route = yield* discover
      const { portal, tokenUrl } = route
      const asked = Date.now()
      const expiration = String(options.expiration ?? 60)
      const credentials = {
        username: options.username,
        password: options.password,
        client: options.referer === undefined ? "requestip" : "referer",
        ...(options.referer === undefined ? {} : { referer: options.referer }),
        expiration
      }
      // A stand-alone server (GeoJobs too) issues its own tokens. A federated server takes only tokens its portal
      // made for it: sign in at the portal, then exchange the portal token for a token for this server (`token` +
      // `serverUrl`, as arcgis-rest-js's generateTokenForServer does). Every sign-in does both steps.
      const issued =
        portal === undefined
          ? yield* issue(tokenUrl, credentials)
          : yield* Effect.flatMap(
              issue(tokenUrl, credentials).pipe(Effect.mapError(atPortal(`Signing in at the portal ${portal}`))),
              (portalToken) =>
                issue(tokenUrl, { token: portalToken.token, serverUrl: base, expiration }).pipe(
                  Effect.mapError(atPortal(`Exchanging the portal token (${portal}) for a token for ${base}`))
                )
            )
      token = issued.token
      expires = issued.expires
      lifetime = issued.expires - asked
    })

    const canSignIn = options.username !== undefined && options.password !== undefined
    // Refresh a minute before expiry (half-way through a token that lives under two minutes, so a short-lived one is
    // not renewed before every call), and once when the server refuses the token.
    const margin = () => Math.min(60_000, lifetime === undefined ? 60_000 : lifetime / 2)
    const fresh = Effect.suspend(() =>
      canSignIn && (token === undefined || (expires !== undefined && expires - Date.now() < margin()))
        ? generate
        : Effect.void
    )
    // Once more after signing in again when the server refuses the token.
    const retried = <A>(once: Effect.Effect<A, ClientError>) =>
      once.pipe(
        Effect.catch((e: ClientError) =>
          e.kind === "token" && canSignIn ? Effect.andThen(generate, once) : Effect.fail(e)
        )
      )
    const request = <S extends z.ZodType>(url: string, fields: Record<string, string>, schema: S) =>
      Effect.gen(function* () {
        yield* fresh
        const doc = yield* retried(
          Effect.suspend(() =>
            Effect.flatMap(call(url, token === undefined ? fields : { ...fields, token }), (a) => parse(url, a))
          )
        )
        const checked = schema.safeParse(doc)
        if (!checked.success) {
          return yield* new ClientError({
            kind: "response",
            detail: `Unexpected answer from ${url}`,
            details: checked.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`),
            url
          })
        }
        return checked.data as z.output<S>
      })

    // An output file. ArcGIS answers a missing file or a refused token with its JSON error envelope and HTTP 200, so a
    // JSON answer is checked for one (an output file that is itself such an envelope is not a case worth serving).
    const download = (url: string) =>
      Effect.andThen(
        fresh,
        retried(
          Effect.gen(function* () {
            const target =
              token === undefined ? url : `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`
            const answer = yield* Effect.tryPromise({
              try: async (signal) => {
                const response = await fetchFn(target, { signal })
                if (!response.ok) throw new Error(`HTTP ${response.status}`)
                return {
                  status: response.status,
                  type: response.headers.get("content-type") ?? "",
                  bytes: new Uint8Array(await response.arrayBuffer())
                }
              },
              catch: (cause) =>
                new ClientError({ kind: "network", detail: `Cannot download ${url}`, details: [reason(cause)], url })
            })
            if (answer.type.includes("json"))
              yield* parse(url, { status: answer.status, text: new TextDecoder().decode(answer.bytes) })
            return answer.bytes
          })
        )
      )

    const form = (params: Params) => Object.fromEntries(Object.entries(params).map(([k, v]) => [k, encodeValue(v)]))
    const jobUrl = (ref: JobRef) =>
      ref.task === undefined
        ? JobUrls.restServiceJob(base, servicePath(ref.service), ref.jobId)
        : JobUrls.restJob(base, servicePath(ref.service), ref.task, ref.jobId)
    const adminJobs = (service: string) => `${JobUrls.adminService(base, servicePath(service))}/jobs`

    if (canSignIn && token === undefined) yield* generate

    const job = (ref: JobRef) => request(jobUrl(ref), {}, RestJob.schema)

    const poll = (ref: JobRef, wait: WaitOptions) =>
      Effect.gen(function* () {
        let interval = wait.intervalMs ?? 500
        let seen = 0
        while (true) {
          const doc = yield* job(ref)
          const messages = doc.messages ?? []
          for (const m of messages.slice(seen)) wait.onMessage?.(m)
          seen = Math.max(seen, messages.length)
          const status = JobStatus.parse(doc.jobStatus)
          if (status !== undefined && JobStatus.isTerminal(status)) return doc
          wait.onProgress?.(doc)
          yield* Effect.sleep(interval)
          interval = Math.min(wait.maxIntervalMs ?? 5000, interval * 1.5)
        }
      })

    // The timeout and the signal each interrupt whatever the loop is doing (a poll's fetch or the sleep between
    // polls), so neither waits for the next poll.
    const waitForJob = (ref: JobRef, wait: WaitOptions = {}): Effect.Effect<RestJob.RestJob, ClientError> => {
      const timed =
        wait.timeoutMs === undefined
          ? poll(ref, wait)
          : Effect.timeoutOrElse(poll(ref, wait), {
              duration: wait.timeoutMs,
              orElse: () =>
                Effect.fail(
                  new ClientError({
                    kind: "timeout",
                    detail: `Job ${ref.jobId} did not finish within ${wait.timeoutMs} ms`,
                    details: ["The job goes on; wait again or cancel it."],
                    url: jobUrl(ref)
                  })
                )
            })
      const signal = wait.signal
      if (signal === undefined) return timed
      const abortError = () =>
        new ClientError({
          kind: "aborted",
          detail: `Waiting for job ${ref.jobId} was aborted`,
          details: signal.reason === undefined ? [] : [reason(signal.reason)],
          url: jobUrl(ref)
        })
      const aborted = Effect.callback<never, ClientError>((resume) => {
        const onAbort = () => resume(Effect.fail(abortError()))
        signal.addEventListener("abort", onAbort, { once: true })
        return Effect.sync(() => signal.removeEventListener("abort", onAbort))
      })
      return Effect.suspend(() => (signal.aborted ? Effect.fail(abortError()) : Effect.raceFirst(timed, aborted)))
    }

    return {
      url: base,
      token: () => token,
      tokenExpires: () => expires,
      signIn: generate,
      services: (folder) =>
        request(
          folder === undefined ? `${base}/rest/services` : `${base}/rest/services/${encodeURIComponent(folder)}`,
          {},
          catalogSchema
        ),
      service: (service) => request(JobUrls.restService(base, servicePath(service)), {}, serviceSchema),
      task: (service, task) => request(JobUrls.restTask(base, servicePath(service), task), {}, taskSchema),
      submitJob: (service, task, params) =>
        request(`${JobUrls.restTask(base, servicePath(service), task)}/submitJob`, form(params), RestJob.schema),
      execute: (service, task, params) =>
        request(`${JobUrls.restTask(base, servicePath(service), task)}/execute`, form(params), executeSchema),
      jobRef: (service, task, jobId) => ({ service, task, jobId }),
      parseJobUrl: (url) =>
        Effect.map(
          JobUrls.parse(base, url).pipe(
            Effect.mapError((e) => new ClientError({ kind: "response", detail: e.message, details: [], url }))
          ),
          (l): JobRef => ({
            service: l.service.folder === undefined ? l.service.name : `${l.service.folder}/${l.service.name}`,
            task: l.task,
            jobId: l.jobId
          })
        ),
      jobUrl,
      download,
      job,
      waitForJob,
      results: (ref, param, opts = {}) => {
        const url = `${jobUrl(ref)}/results${param === undefined ? "" : `/${encodeURIComponent(param)}`}`
        const fields: Record<string, string> = {
          ...(opts.geojson === true ? { f: "geojson" } : {}),
          ...(opts.outSR === undefined ? {} : { outSR: opts.outSR })
        }
        return param === undefined
          ? request(url, fields, z.array(RestJob.parameterValueSchema))
          : opts.geojson === true
            ? request(url, fields, z.looseObject({ type: z.literal("FeatureCollection") }))
            : request(url, fields, RestJob.parameterValueSchema)
      },
      inputs: (ref, param) =>
        param === undefined
          ? request(`${jobUrl(ref)}/inputs`, {}, z.array(RestJob.parameterValueSchema))
          : request(`${jobUrl(ref)}/inputs/${encodeURIComponent(param)}`, {}, RestJob.parameterValueSchema),
      cancel: (ref) => request(`${jobUrl(ref)}/cancel`, { returnMessages: "false" }, cancelSchema),
      admin: {
        job: (service, jobId) => request(`${adminJobs(service)}/${jobId}`, {}, AdminJob.schema),
        page: (service, q) =>
          request(
            `${adminJobs(service)}/query`,
            Object.fromEntries(
              Object.entries({ ...q, number: q.number ?? 100 })
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, String(v)])
            ),
            pageSchema
          ),
        cancel: (service, jobId) =>
          Effect.asVoid(request(`${adminJobs(service)}/${jobId}/cancel`, {}, operationSchema)),
        delete: (service, jobId) =>
          Effect.asVoid(request(`${adminJobs(service)}/${jobId}/delete`, {}, operationSchema)),
        purgeQueue: (service) => Effect.asVoid(request(`${adminJobs(service)}/purgeQueue`, {}, operationSchema)),
        statistics: (service) => request(`${adminJobs(service)}/statistics`, {}, statisticsSchema)
      }
    } satisfies Client
  })

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
  static readonly layer = (options: ConnectOptions): Layer.Layer<GeoJobs, ClientError> =>
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
  static async connect(options: ConnectOptions): Promise<GeoJobsClient> {
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
  submitJob(service: string, task: string, params: Params = {}) {
    return run(this.client.submitJob(service, task, params))
  }
  execute(service: string, task: string, params: Params = {}) {
    return run(this.client.execute(service, task, params))
  }
  jobRef(service: string, task: string | undefined, jobId: string): JobRef {
    return this.client.jobRef(service, task, jobId)
  }
  parseJobUrl(url: string) {
    return run(this.client.parseJobUrl(url))
  }
  jobUrl(ref: JobRef): string {
    return this.client.jobUrl(ref)
  }
  download(url: string) {
    return run(this.client.download(url))
  }
  job(ref: JobRef) {
    return run(this.client.job(ref))
  }
  waitForJob(ref: JobRef, options?: WaitOptions) {
    return run(this.client.waitForJob(ref, options))
  }
  results(ref: JobRef, param?: string, options?: { readonly geojson?: boolean; readonly outSR?: string }) {
    return run(this.client.results(ref, param, options))
  }
  inputs(ref: JobRef, param?: string) {
    return run(this.client.inputs(ref, param))
  }
  cancel(ref: JobRef) {
    return run(this.client.cancel(ref))
  }

  /** The admin job API. */
  get admin() {
    const c = this.client
    return {
      job: (service: string, jobId: string) => run(c.admin.job(service, jobId)),
      /** Every job matching the filters, page after page. */
      query: async function* (service: string, options: QueryOptions = {}): AsyncGenerator<AdminJob.AdminJob> {
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
      statistics: (service: string) => run(c.admin.statistics(service))
    }
  }
}
