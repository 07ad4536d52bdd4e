/**
 * One router for every ArcGIS location: a request's path is read by core's `ArcGISResource` grammar (the same one the
 * client builds its URLs with), and the location's kind picks its route from one table that is total over every kind
 * — a kind without a route is a type error. The kind also decides the envelope (REST or admin) and the format a
 * request without `f` gets. Paths that are no location answer 404, malformed names 400, in the envelope of the area
 * they were sent to.
 *
 * The OGC API – Processes area (`/ogcapi/` by default, `OgcApi.Settings.ogcPath`) is registered here too, outside the
 * context path, with its own grammar (`OgcResource`), route table and exceptions (`OgcApi`); the HTML services
 * directory links to it.
 *
 * @module
 */
import { ArcGISResource } from "@geojobs/core"
import { Effect, Result } from "effect"
import type { FastifyInstance, FastifyRequest } from "fastify"
import * as AdminApi from "./AdminApi.ts"
import * as AdminDirectory from "./AdminDirectory.ts"
import type * as ArcGISRequest from "./ArcGISRequest.ts"
import { type Answer, call, type Route, type Routes, run, type Settings } from "./Handler.ts"
import * as Html from "./Html.ts"
import * as OgcApi from "./OgcApi.ts"
import * as RestApi from "./RestApi.ts"
import * as TokenApi from "./TokenApi.ts"
import * as Uploads from "./Uploads.ts"

type Kind = ArcGISResource.ArcGISResource["_tag"]

/** The home page of the services directory links to the OGC API over the same services. */
const withOgcLink =
  (ogcRoot: string) =>
  (answer: Answer): Answer =>
    answer.html === undefined
      ? answer
      : {
          ...answer,
          html: (signedIn) =>
            (answer.html as (s: string | undefined) => string)(signedIn).replace(
              "</h1>",
              `</h1>\n<p><a href="${Html.escapeHtml(ogcRoot)}/">OGC API – Processes</a>: the same services and jobs</p>`
            )
        }

/** Every route, by kind of location, for an OGC root path. */
const routesFor = (ogcPath: string): Routes<Kind> => ({
  ...RestApi.routes,
  ...AdminApi.routes,
  ...TokenApi.routes,
  ...Uploads.routes,
  ...AdminDirectory.routes,
  Catalog: (c, r) =>
    Effect.map(
      RestApi.routes.Catalog(c, r),
      withOgcLink(`${c.base.slice(0, c.base.length - c.settings.contextPath.length)}${ogcPath}`)
    )
})

interface Presentation {
  readonly envelope: "rest" | "admin"
  /** The format when the request has no (known) `f`; `force` ignores `f` (the HTML sign-in pages). */
  readonly format: ArcGISRequest.Format
  readonly force?: boolean
}

const directory: Presentation = { envelope: "rest", format: "html" }
const operation: Presentation = { envelope: "rest", format: "json" }
const admin: Presentation = { envelope: "admin", format: "html" }

/** How each kind of location answers. */
const presentation: { readonly [K in Kind]: (r: Extract<ArcGISResource.ArcGISResource, { _tag: K }>) => Presentation } =
  {
    Info: () => directory,
    Catalog: () => directory,
    Folder: () => directory,
    Service: () => directory,
    Task: () => directory,
    SubmitJob: () => directory,
    Execute: () => directory,
    Job: () => directory,
    OutputFile: () => operation,
    // The directory's pages default to HTML; the operations (multipart bodies whose `f` is read too late) to JSON.
    Uploads: (r) =>
      r.operation.kind === "list" ||
      r.operation.kind === "info" ||
      r.operation.kind === "item" ||
      r.operation.kind === "parts"
        ? directory
        : operation,
    AdminJobs: () => admin,
    AdminJob: () => admin,
    Security: () => ({ envelope: "admin", format: "json" }),
    Token: (r) => ({ envelope: r.endpoint === "admin/generateToken" ? "admin" : "rest", format: "json" }),
    SignIn: (r) => ({ envelope: r.api, format: "html", force: true }),
    SignOut: (r) => ({ envelope: r.api, format: "html", force: true }),
    PortalInfo: () => operation,
    AdminRoot: () => admin,
    AdminServices: () => admin,
    AdminFolder: () => admin,
    AdminService: () => admin,
    AdminSecurity: () => admin,
    AdminMachines: () => admin,
    AdminUploads: () => admin,
    // The seed's sample request is under rest/: REST envelope, html by default as the seed page says.
    SeedJob: () => directory
  }

/**
 * Where a path that is no location (or a malformed one, or one Fastify refused) was sent: the admin area answers in
 * the admin envelope, the output-file area in JSON.
 *
 * @category constructors
 */
export const areaOf = (settings: Settings, request: FastifyRequest): Presentation =>
  request.url.startsWith(`${settings.contextPath}/admin/`)
    ? admin
    : request.url.startsWith(`${settings.contextPath}/rest/directories/`)
      ? operation
      : directory

/**
 * Answers one request.
 *
 * @category constructors
 */
export const handle = (settings: Settings & OgcApi.Settings) => {
  const routes = routesFor(OgcApi.rootPath(settings))
  return (request: FastifyRequest, reply: import("fastify").FastifyReply) => {
    const parsed = Effect.runSync(Effect.result(ArcGISResource.parseRequest(settings.contextPath, request.url)))
    if (Result.isFailure(parsed)) {
      const area = areaOf(settings, request)
      const failed = call(request, settings, area.format)
      return run(
        reply,
        area.envelope === "admin" ? AdminDirectory.adminCall(failed) : failed,
        area.envelope,
        Effect.fail(parsed.failure)
      )
    }
    const resource = parsed.success
    const shown = (presentation[resource._tag] as (r: ArcGISResource.ArcGISResource) => Presentation)(resource)
    // Admin pages link home to the admin root and sign in at admin/login.
    const asked = call(request, settings, shown.format)
    const c = shown.envelope === "admin" ? AdminDirectory.adminCall(asked) : asked
    const route = routes[resource._tag] as Route<Kind>
    return run(
      reply,
      shown.force === true ? { ...c, format: shown.format } : c,
      shown.envelope,
      route(c, resource as never)
    )
  }
}

/**
 * Registers the router under the context path. Sign-in and token locations get their own Fastify routes, so that
 * `rateLimit` (the route config limiting requests per client) applies to them alone.
 *
 * @category constructors
 */
export const register = (
  app: FastifyInstance,
  settings: Settings & OgcApi.Settings,
  rateLimit: Record<string, unknown>
): void => {
  const handler = handle(settings)
  const limited: ReadonlyArray<ArcGISResource.ArcGISResource> = [
    ...ArcGISResource.tokenEndpoints.map((endpoint): ArcGISResource.ArcGISResource => ({ _tag: "Token", endpoint })),
    { _tag: "SignIn", api: "rest" },
    { _tag: "SignIn", api: "admin" }
  ]
  for (const resource of limited) {
    app.route({
      method: ["GET", "POST"],
      url: `${settings.contextPath}/${ArcGISResource.build(resource)}`,
      config: { rateLimit },
      handler
    })
  }
  app.route({ method: ["GET", "POST"], url: `${settings.contextPath}/*`, handler })
  OgcApi.register(app, settings)
}
