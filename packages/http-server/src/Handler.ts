/**
 * The glue between Fastify and the Effect services: a route's work is an Effect that answers an `Answer` (a JSON
 * document, an optional HTML page, a redirect) or fails with a tagged error; this module runs it on the server's
 * runtime and writes the reply in the format asked for — JSON, pretty JSON, JSONP, HTML — with ArcGIS's error envelope
 * (HTTP 200 by default, as Esri's clients expect, or the real status code when configured). It also resolves who is
 * calling from the request's token.
 *
 * Request-path programs are `Effect.fnUntraced` generators defined once, never `Effect.gen(function* …)` inside a
 * function called per request: on Node 24 a generator function created per request makes V8 carry that request's
 * objects through young-generation collections into the old generation (measured under load: ~5 MB promoted per
 * scavenge, 8–18 ms pauses — the bench's p99; with the generators defined once, ~13 KB and under 1 ms).
 *
 * @module
 */
import { createReadStream } from "node:fs"
import {
  ArcGISResource,
  ErrorEnvelope,
  type JobFiles,
  type JobQueue,
  type JobStore,
  type SecurityStore
} from "@geojobs/core"
import type { Engine, ServiceRegistry } from "@geojobs/engine"
import { Cause, type Context, Effect, Exit } from "effect"
import type { FastifyReply, FastifyRequest } from "fastify"
import { Accounts, type InvalidToken, type RefererMismatch, TokenRequired } from "./Accounts.ts"
import * as ArcGISRequest from "./ArcGISRequest.ts"
import {
  type Failure,
  Forbidden,
  fromError,
  InvalidInput,
  isRouteError,
  type RouteError,
  unexpected
} from "./Failure.ts"
import * as Html from "./Html.ts"
import type * as ResultFiles from "./ResultFiles.ts"
import type * as Security from "./Security.ts"
import type { ServiceControl } from "./ServiceControl.ts"

/** The services a route may use. @category models */
export type Services =
  | Engine.Engine
  | JobStore.JobStore
  | ServiceRegistry.ServiceRegistry
  | Accounts
  | JobQueue.JobQueue
  | JobFiles.JobFiles
  | ServiceControl

/**
 * Runs a route's program with the services: a `ManagedRuntime` of them, or {@link runnerOf} a layer's context.
 *
 * @category models
 */
export interface Runner {
  readonly runPromise: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<A>
  /** The exit's error may also be the runtime's own (a layer that failed to build), hence not only `E`. */
  readonly runPromiseExit: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<Exit.Exit<A, unknown>>
}

/**
 * A runner over services already built (inside a layer: `Effect.context<Services>()`).
 *
 * @category constructors
 */
export const runnerOf = (context: Context.Context<Services>): Runner => ({
  runPromise: (effect) => Effect.runPromise(Effect.provideContext(effect, context)),
  runPromiseExit: (effect) => Effect.runPromiseExit(Effect.provideContext(effect, context))
})

/**
 * Server settings shared by every route.
 *
 * @category models
 */
export interface Settings {
  readonly runtime: Runner
  /** `/arcgis` by default; `""` serves at the root. */
  readonly contextPath: string
  /** The public URL with context path; default: as each request reached the server. */
  readonly baseUrl?: string | undefined
  /** Send real HTTP status codes with errors instead of ArcGIS's HTTP 200. */
  readonly realStatusCodes: boolean
  readonly currentVersion: number
  readonly fullVersion: string
  /** Token lifetime clients are told to expect, minutes. */
  readonly shortLivedTokenValidity: number
  /** The thread pool that converts results (files, big JSON) off the main thread. */
  readonly resultFiles: ResultFiles.Converter
}

/**
 * What a route answers.
 *
 * @category models
 */
export interface Answer {
  readonly json?: unknown
  /** The HTML page for `f=html` (given who is signed in); without one, html requests get the JSON as a page. */
  readonly html?: ((signedIn: string | undefined) => string) | undefined
  readonly title?: string | undefined
  readonly redirect?: string | undefined
  /** Plain text (the legacy token service answers the bare token). */
  readonly text?: string | undefined
  /** Extra headers (a cookie after signing in). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** The HTTP status of a success (default 200; OGC answers a created job with 201 and a `location`). */
  readonly status?: number | undefined
  /** The `Location` header. */
  readonly location?: string | undefined
  /** A file to stream as it is (a job's output file), by its path on this machine. */
  readonly file?: string | undefined
  /** Bytes to send as they are (a result converted to a file). */
  readonly bytes?: Uint8Array | undefined
  /** The media type of `file` or `bytes` (default `application/octet-stream`). */
  readonly mediaType?: string | undefined
  /**
   * The JSON document already as UTF-8 text, in the format asked (made off the main thread): sent as it is, inside
   * the JSONP callback when one is asked for.
   */
  readonly jsonBytes?: Uint8Array | undefined
}

/**
 * A route: what one kind of ArcGIS location answers. Its error channel is the closed union of route errors.
 *
 * @category models
 */
export type Route<T extends ArcGISResource.ArcGISResource["_tag"]> = (
  call: Call,
  resource: Extract<ArcGISResource.ArcGISResource, { readonly _tag: T }>
) => Effect.Effect<Answer, RouteError, Services>

/**
 * Routes for some kinds of location; the server joins the tables into one that is total over every kind.
 *
 * @category models
 */
export type Routes<T extends ArcGISResource.ArcGISResource["_tag"]> = { readonly [K in T]: Route<K> }

/**
 * A request as routes see it.
 *
 * @category models
 */
export interface Call {
  readonly request: FastifyRequest
  readonly params: Readonly<Record<string, string>>
  readonly format: ArcGISRequest.Format
  /** Public base URL with context path. */
  readonly base: string
  /** The HTML directory's home, for links. */
  readonly home: string
  /** The HTML sign-in and sign-out pages of this dialect (`rest/login`, `admin/login`, …). */
  readonly account: { readonly signIn: string; readonly signOut: string }
  readonly settings: Settings
}

/**
 * A form POSTed by one of our own pages (the HTML cancel button): the browser says so in `Origin` (or, from older
 * browsers, `Sec-Fetch-Site`). Only then does a POST carry the sign-in cookie's authority — besides the cookie's
 * `SameSite=Strict`, a guard against another site submitting a form in the signed-in user's name.
 */
const sameOriginForm = (request: FastifyRequest): boolean => {
  if (request.method !== "POST") return false
  const origin = request.headers.origin
  if (typeof origin === "string" && origin !== "null") {
    try {
      return new URL(origin).host === request.host
    } catch {
      return false
    }
  }
  return request.headers["sec-fetch-site"] === "same-origin"
}

/**
 * Whether a POST carries its token as the Administrator API requires: in the body, or — for a form of the HTML
 * directory posted from its own pages — as the sign-in cookie, the token the seed says the HTML interface keeps for
 * the session.
 *
 * @category guards
 */
export const tokenInBodyOrSession = (call: Call): boolean =>
  ArcGISRequest.tokenInBody(call.request) ||
  (call.format === "html" && sameOriginForm(call.request) && ArcGISRequest.cookieToken(call.request) !== undefined)

/**
 * Who is calling: the principal of the request's token, `null` for an anonymous request; a bad token fails (498).
 * The HTML directory also reads the sign-in cookie.
 *
 * @category constructors
 */
export const principal: (
  call: Call
) => Effect.Effect<
  Security.Principal | null,
  InvalidToken | RefererMismatch | SecurityStore.SecurityStoreError,
  Accounts
> = Effect.fnUntraced(function* (call: Call) {
  const token =
    ArcGISRequest.token(call.request, call.params) ??
    (call.format === "html" && (call.request.method === "GET" || sameOriginForm(call.request))
      ? ArcGISRequest.cookieToken(call.request)
      : undefined)
  if (token === undefined) return null
  const store = yield* Accounts
  return yield* store.verifyToken(token, {
    referer: ArcGISRequest.referer(call.request),
    ip: call.request.ip
  })
})

/**
 * The principal, who must exist (499 Token Required otherwise).
 *
 * @category constructors
 */
export const signedIn = (
  call: Call
): Effect.Effect<
  Security.Principal,
  TokenRequired | InvalidToken | RefererMismatch | SecurityStore.SecurityStoreError,
  Accounts
> => Effect.flatMap(principal(call), (p) => (p === null ? Effect.fail(new TokenRequired()) : Effect.succeed(p)))

/**
 * Checks that `allowed` holds for the principal: 499 when anonymous, 403 when signed in without the right.
 *
 * @category constructors
 */
export const authorize = (
  p: Security.Principal | null,
  allowed: boolean,
  reason: string
): Effect.Effect<void, TokenRequired | Forbidden> =>
  allowed ? Effect.void : p === null ? Effect.fail(new TokenRequired()) : Effect.fail(new Forbidden({ reason }))

const jsonText = (call: Call, doc: unknown): string => {
  const body = call.format === "pjson" ? JSON.stringify(doc, null, 2) : JSON.stringify(doc)
  const callback = ArcGISRequest.callback(call.params)
  return callback._tag === "valid" ? `${callback.name}(${body});` : body
}

/** JSONP (a valid callback) is JavaScript; everything else JSON of its kind. */
const jsonType = (call: Call, type: string): string =>
  `${ArcGISRequest.callback(call.params)._tag === "valid" ? "application/javascript" : type}; charset=utf-8`

/**
 * The security headers every machine-format answer carries (the HTML pages get helmet's full set). Every answer is
 * `no-store`: job documents change from poll to poll, and a signed-in caller's answers (tokens, their jobs, the
 * sign-in pages and their cookies) must not stay in a shared cache or the browser's.
 */
const apiHeaders = { "x-content-type-options": "nosniff", "cache-control": "no-store" } as const

/** Whether the request carries credentials (a token anywhere, or the sign-in cookie). */
const carriesCredentials = (call: Call): boolean =>
  ArcGISRequest.token(call.request, call.params) !== undefined || ArcGISRequest.cookieToken(call.request) !== undefined

const send = async (reply: FastifyReply, call: Call, answer: Answer) => {
  for (const [k, v] of Object.entries(answer.headers ?? {})) reply.header(k, v)
  // An output file fetched anonymously may be cached like any download; everything else is private and changing.
  if (answer.file === undefined || carriesCredentials(call)) reply.header("cache-control", "no-store")
  if (answer.redirect !== undefined) return reply.redirect(answer.redirect, 303)
  if (answer.location !== undefined) reply.header("location", answer.location)
  if (answer.status !== undefined) reply.status(answer.status)
  if (answer.file !== undefined) {
    return reply
      .header("x-content-type-options", "nosniff")
      .type(answer.mediaType ?? "application/octet-stream")
      .send(createReadStream(answer.file))
  }
  if (answer.bytes !== undefined) {
    return reply
      .headers(apiHeaders)
      .type(answer.mediaType ?? "application/octet-stream")
      .send(Buffer.from(answer.bytes.buffer, answer.bytes.byteOffset, answer.bytes.byteLength))
  }
  if (answer.jsonBytes !== undefined && call.format !== "html") {
    const bytes = Buffer.from(answer.jsonBytes.buffer, answer.jsonBytes.byteOffset, answer.jsonBytes.byteLength)
    const callback = ArcGISRequest.callback(call.params)
    return reply
      .headers(apiHeaders)
      .type(jsonType(call, call.format === "geojson" ? "application/geo+json" : "application/json"))
      .send(
        callback._tag === "valid" ? Buffer.concat([Buffer.from(`${callback.name}(`), bytes, Buffer.from(");")]) : bytes
      )
  }
  if (answer.text !== undefined) return reply.headers(apiHeaders).type("text/plain; charset=utf-8").send(answer.text)
  // An answer that is only a page (a form) is that page, whatever the format asked for.
  if (call.format === "html" || (answer.json === undefined && answer.html !== undefined)) {
    // Who is signed in, for the page header; an invalid cookie just reads as signed out.
    const who = await call.settings.runtime.runPromise(
      principal(call).pipe(
        Effect.map((p) => p?.username),
        Effect.orElseSucceed(() => undefined)
      )
    )
    const html =
      answer.html?.(who) ??
      Html.page({
        title: answer.title ?? "Resource",
        home: call.home,
        account: call.account,
        document: answer.json,
        signedIn: who
      })
    await reply.helmet()
    return reply.type("text/html; charset=utf-8").send(html)
  }
  reply.headers(apiHeaders)
  return reply
    .type(jsonType(call, call.format === "geojson" ? "application/geo+json" : "application/json"))
    .send(jsonText(call, answer.json))
}

/**
 * Writes a failure in the REST or admin envelope (or as an HTML page for `f=html`).
 *
 * @category constructors
 */
export const sendFailure = async (reply: FastifyReply, call: Call, failure: Failure, envelope: "rest" | "admin") => {
  const status = call.settings.realStatusCodes && failure.code >= 400 && failure.code < 600 ? failure.code : 200
  if (call.format === "html") {
    await reply.helmet()
    const signIn = failure.code === 499 || failure.code === 498
    const pageStatus =
      failure.htmlStatus ?? (status === 200 && failure.code >= 400 && failure.code < 600 ? failure.code : status)
    return reply
      .header("cache-control", "no-store")
      .status(pageStatus)
      .type("text/html; charset=utf-8")
      .send(
        Html.page({
          title: `Error ${pageStatus}`,
          home: call.home,
          account: call.account,
          document: { message: failure.message, details: failure.details },
          extra: signIn ? Html.signInForm(call.account.signIn, call.request.url) : undefined
        })
      )
  }
  const doc =
    envelope === "admin"
      ? ErrorEnvelope.admin({ code: failure.code, messages: [failure.message, ...failure.details] })
      : ErrorEnvelope.rest(failure)
  return reply.status(status).headers(apiHeaders).type(jsonType(call, "application/json")).send(jsonText(call, doc))
}

/**
 * Makes the call of a request.
 *
 * @category constructors
 */
export const call = (request: FastifyRequest, settings: Settings, fallback: ArcGISRequest.Format = "html"): Call => {
  const p = ArcGISRequest.params(request)
  const base = ArcGISRequest.baseUrl(request, settings.contextPath, settings.baseUrl)
  return {
    request,
    params: p,
    format: ArcGISRequest.format(p, fallback),
    base,
    home: ArcGISResource.url(base, { _tag: "Catalog" }),
    account: {
      signIn: ArcGISResource.url(base, { _tag: "SignIn", api: "rest" }),
      signOut: ArcGISResource.url(base, { _tag: "SignOut", api: "rest" })
    },
    settings
  }
}

/**
 * Runs a route's Effect and replies.
 *
 * @category constructors
 */
export const run = async (
  reply: FastifyReply,
  c: Call,
  envelope: "rest" | "admin",
  work: Effect.Effect<Answer, RouteError, Services>
): Promise<FastifyReply> => {
  const refused = refusal(c)
  if (refused !== undefined) return sendFailure(reply, c, fromError(refused), envelope)
  const exit = await c.settings.runtime.runPromiseExit(work)
  if (Exit.isSuccess(exit)) return send(reply, c, exit.value)
  const error = Cause.findErrorOption(exit.cause)
  // The runtime's own errors (a layer that failed) and defects are not route errors: a 500 that hides them.
  const failure = error._tag === "Some" && isRouteError(error.value) ? fromError(error.value) : unexpected
  if (error._tag === "None") c.request.log.error({ cause: Cause.pretty(exit.cause) }, "request failed")
  else if (failure.code >= 500) c.request.log.error({ err: error.value }, "request failed")
  return sendFailure(reply, c, failure, envelope)
}

/**
 * What every route refuses before it runs: JSON nested deeper than any reader should recurse, and a JSONP callback
 * that is no plain identifier (served as JavaScript, it would run the caller's text on whoever includes the URL).
 */
const refusal = (c: Call): InvalidInput | undefined => {
  const deep = ArcGISRequest.tooDeep(c.request, c.params)
  if (deep !== undefined) {
    return new InvalidInput({
      parameter: deep,
      detail: `${deep}: JSON nested more than ${ArcGISRequest.maxJsonDepth} levels deep`
    })
  }
  if (ArcGISRequest.callback(c.params)._tag === "refused") {
    return new InvalidInput({
      parameter: "callback",
      detail: "callback must be a JavaScript identifier or a dotted path of them"
    })
  }
  return undefined
}
