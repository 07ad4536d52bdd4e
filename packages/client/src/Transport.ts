/**
 * The client's transport: POSTs form-encoded fields with fetch (the referer header when one is configured), reads the
 * answer as JSON and turns either ArcGIS error envelope (REST `{"error":…}` or admin `{"status":"error",…}`, both
 * usually with HTTP 200) or an HTTP error status into a `ClientError`, checks documents against core's zod schemas,
 * and downloads output files. Knows nothing of tokens (see `Session`).
 *
 * @module
 */
import { ErrorEnvelope } from "@geojobs/core"
import { Effect } from "effect"
import type { z } from "zod"
import { ClientError } from "./ClientError.ts"

/** What a transport needs: the fetch to use and the referer to send. @category models */
export interface TransportOptions {
  readonly fetch?: typeof globalThis.fetch | undefined
  readonly referer?: string | undefined
}

/**
 * The transport's operations.
 *
 * @category services
 */
export interface Transport {
  /** POSTs `fields` (with `f=json` unless `f` is given) and reads the answer: a document or the server's error. */
  readonly post: (url: string, fields: Readonly<Record<string, string>>) => Effect.Effect<unknown, ClientError>
  /**
   * GETs an output file's bytes (with `token` in the query string; errors name the URL without it); a JSON answer
   * that is an error envelope is the server's error.
   */
  readonly download: (url: string, token: string | undefined) => Effect.Effect<Uint8Array, ClientError>
}

/**
 * Why a request failed, with its causes: fetch says only "fetch failed"; the reason (ECONNREFUSED, a DNS or TLS
 * error) is on its `cause`.
 *
 * @category accessors
 */
export const reason = (error: unknown): string => {
  const messages: Array<string> = []
  for (let e: unknown = error; e instanceof Error && messages.length < 4; e = e.cause) messages.push(e.message)
  return messages.length === 0 ? String(error) : messages.join(": ")
}

const encodeValue = (v: unknown): string =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v)

/**
 * Form fields for parameter values: strings, numbers and booleans as they are; anything else as JSON.
 *
 * @category constructors
 */
export const form = (params: Readonly<Record<string, unknown>>): Record<string, string> =>
  Object.fromEntries(Object.entries(params).map(([k, v]) => [k, encodeValue(v)]))

/**
 * A document checked against a schema, or a `response` error naming the first problems.
 *
 * @category combinators
 */
export const decode = <S extends z.ZodType>(
  url: string,
  doc: unknown,
  schema: S
): Effect.Effect<z.output<S>, ClientError> => {
  const checked = schema.safeParse(doc)
  return checked.success
    ? Effect.succeed(checked.data as z.output<S>)
    : Effect.fail(
        new ClientError({
          kind: "response",
          detail: `Unexpected answer from ${url}`,
          details: checked.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`),
          url
        })
      )
}

/**
 * An answer's text read as JSON: the document, or the server's error from either envelope or the HTTP status.
 *
 * @category combinators
 */
export const readAnswer = (
  url: string,
  answer: { readonly status: number; readonly text: string }
): Effect.Effect<unknown, ClientError> => {
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

/**
 * Makes a transport.
 *
 * @category constructors
 */
export const make = (options: TransportOptions): Transport => {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis)
  const post = (url: string, fields: Readonly<Record<string, string>>) =>
    Effect.flatMap(
      Effect.tryPromise({
        try: async (signal) => {
          const body = new URLSearchParams({ ...fields, f: fields.f ?? "json" })
          const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" }
          if (options.referer !== undefined) headers.referer = options.referer
          const response = await fetchFn(url, { method: "POST", body, headers, signal })
          return { status: response.status, text: await response.text() }
        },
        catch: (cause) =>
          new ClientError({ kind: "network", detail: `Cannot reach ${url}`, details: [reason(cause)], url })
      }),
      (answer) => readAnswer(url, answer)
    )

  // ArcGIS answers a missing file or a refused token with its JSON error envelope and HTTP 200, so a JSON answer is
  // checked for one (an output file that is itself such an envelope is not a case worth serving).
  const download = (url: string, token: string | undefined) =>
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
        yield* readAnswer(url, { status: answer.status, text: new TextDecoder().decode(answer.bytes) })
      return answer.bytes
    })

  return { post, download }
}
