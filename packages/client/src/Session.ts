/**
 * The client's session: which token goes with each request. Signs in with a username and password at the token
 * service the server's `rest/info` advertises (posting to that URL exactly, as Esri's clients do); for a server
 * federated with an ArcGIS Enterprise portal, signs in at the portal and exchanges the portal token for a server token
 * (`token` + `serverUrl`); refreshes the token a minute before it expires, and signs in again once when the server
 * refuses it (498/499). Or uses a given token as it is.
 *
 * @module
 */
import { ArcGISResource, ServiceDirectory, Token } from "@geojobs/core"
import { Effect } from "effect"
import type { z } from "zod"
import { ClientError } from "./ClientError.ts"
import * as Transport from "./Transport.ts"

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
  /**
   * The OGC API – Processes root (landing page) of the same server, for `client.ogc` (default: the server's origin
   * with `/ogcapi`, where GeoJobs puts it).
   */
  readonly ogcUrl?: string | undefined
}

/**
 * A signed-in (or anonymous) session over a transport.
 *
 * @category services
 */
export interface Session {
  /** The server's URL with its context path, without a trailing slash. */
  readonly base: string
  readonly token: () => string | undefined
  readonly tokenExpires: () => number | undefined
  /** Signs in (again) with the configured credentials. */
  readonly signIn: Effect.Effect<void, ClientError>
  /** POSTs to a location of the server with the session's token, checking the answer against `schema`. */
  readonly request: <S extends z.ZodType>(
    resource: ArcGISResource.ArcGISResource,
    fields: Readonly<Record<string, string>>,
    schema: S
  ) => Effect.Effect<z.output<S>, ClientError>
  /** The bytes behind an output file's URL, fetched with the session's token. */
  readonly download: (url: string) => Effect.Effect<Uint8Array, ClientError>
  /**
   * Runs a request of its own with the session's token (signed in again first when it is about to expire), and once
   * more after signing in again when the server refuses it (kind `token`).
   */
  readonly authorized: <A>(
    use: (token: string | undefined) => Effect.Effect<A, ClientError>
  ) => Effect.Effect<A, ClientError>
  /** The fetch and referer requests are made with. */
  readonly fetch: typeof globalThis.fetch
  readonly referer: string | undefined
}

// Where a sign-in goes: the token service, and the portal when the server is federated with one.
interface Route {
  readonly portal: string | undefined
  readonly tokenUrl: string
}

/**
 * Makes a session, signing in when credentials are given.
 *
 * @category constructors
 */
export const make = (options: ConnectOptions): Effect.Effect<Session, ClientError> =>
  Effect.gen(function* () {
    const base = options.url.replace(/\/+$/, "")
    const transport = Transport.make({ fetch: options.fetch, referer: options.referer })
    let token = options.token
    let expires = options.expires
    // How long the last token this client asked for lives, ms (unknown for a given token).
    let lifetime: number | undefined
    // Where to sign in, read from `rest/info` once: the server's own token service, or (federated) its portal's.
    let route: Route | undefined

    // A token from a token service: `{token, expires}` or an ArcGIS error.
    const issue = (url: string, fields: Record<string, string>) =>
      Effect.flatMap(transport.post(url, fields), (doc) => {
        const issued = Token.schema.safeParse(doc)
        return issued.success
          ? Effect.succeed(issued.data)
          : Effect.fail(
              new ClientError({ kind: "response", detail: "generateToken answered no token", details: [], url })
            )
      })

    // Server or portal info, or nothing when it cannot be read: signing in then falls back.
    const readInfo = (url: string) =>
      transport.post(url, {}).pipe(
        Effect.map((doc) => {
          const info = ServiceDirectory.infoSchema.safeParse(doc)
          return info.success ? info.data : undefined
        }),
        Effect.orElseSucceed(() => undefined)
      )

    const discover = Effect.gen(function* () {
      const info = yield* readInfo(ArcGISResource.url(base, { _tag: "Info" }))
      // Post to the URL exactly as advertised (often `…/arcgis/tokens/`); 10.0 servers spelled the key
      // `tokenServiceUrl`.
      const advertised = info?.authInfo?.tokenServicesUrl ?? info?.authInfo?.tokenServiceUrl
      const portal = info?.owningSystemUrl?.replace(/\/+$/, "")
      if (portal === undefined || portal === "") {
        const fallback = ArcGISResource.url(base, { _tag: "Token", endpoint: "tokens/generateToken" })
        return { portal: undefined, tokenUrl: advertised ?? fallback } satisfies Route
      }
      // Federated: the portal's own `sharing/rest/info` names its token service (as arcgis-rest-js reads it).
      const portalInfo = yield* readInfo(ArcGISResource.url(portal, { _tag: "PortalInfo" }))
      const tokenUrl =
        portalInfo?.authInfo?.tokenServicesUrl ??
        advertised ??
        ArcGISResource.url(portal, { _tag: "Token", endpoint: "sharing/rest/generateToken" })
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
      // made for it: sign in at the portal, then exchange the portal token for a token for this server (as
      // arcgis-rest-js's generateTokenForServer does). Every sign-in does both steps.
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
      Effect.andThen(
        fresh,
        once.pipe(
          Effect.catch((e: ClientError) =>
            e.kind === "token" && canSignIn ? Effect.andThen(generate, once) : Effect.fail(e)
          )
        )
      )

    const request = <S extends z.ZodType>(
      resource: ArcGISResource.ArcGISResource,
      fields: Readonly<Record<string, string>>,
      schema: S
    ) => {
      const url = ArcGISResource.url(base, resource)
      return Effect.flatMap(
        retried(Effect.suspend(() => transport.post(url, token === undefined ? fields : { ...fields, token }))),
        (doc) => Transport.decode(url, doc, schema)
      )
    }

    const download = (url: string) => retried(Effect.suspend(() => transport.download(url, token)))
    const authorized = <A>(use: (token: string | undefined) => Effect.Effect<A, ClientError>) =>
      retried(Effect.suspend(() => use(token)))

    if (canSignIn && token === undefined) yield* generate

    return {
      base,
      token: () => token,
      tokenExpires: () => expires,
      signIn: generate,
      request,
      download,
      authorized,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      referer: options.referer
    } satisfies Session
  })
