/**
 * The upload resources of a GP service with the Uploads capability (the service's `uploads` setting), as ArcGIS has
 * them under `…/GPServer/uploads`: the caller's items, `info` (`maxUploadFileSize` in MB, the allowed file types),
 * `upload` (a multipart request with `file` and `description`, answering `{success, item}`), an upload in parts for
 * big files (`register` with `itemName`, `<itemID>/uploadPart` with `partId` and `file`, `<itemID>/commit` with an
 * optional comma list `parts`, `<itemID>/parts`), the item itself and its `delete`.
 *
 * Multipart bodies are parsed by `@fastify/multipart` and the file part is streamed straight into the `Uploads` port
 * — never whole in memory — which stops reading past the service's limit (a 413 naming it) and checks the content.
 * Fields may come before or after the file (clients send the token last): who the owner is, and whether they may use
 * the service, is decided once the whole request is read, and a refused upload keeps nothing. Items belong to their
 * uploader; another user is told an item does not exist, as for an unknown id. Without an `Uploads` adapter in the
 * server's services, or on a service without the capability, these resources do not exist.
 *
 * @module
 */
import type { IncomingMessage } from "node:http"
import multipart, { type MultipartFile } from "@fastify/multipart"
import { ArcGISResource, ServiceRef, Uploads } from "@geojobs/core"
import type { ServiceRegistry } from "@geojobs/engine"
import { Effect, Option } from "effect"
import type { FastifyInstance } from "fastify"
import * as ArcGISRequest from "./ArcGISRequest.ts"
import { InvalidInput, MethodNotAllowed, NotFound, type RouteError } from "./Failure.ts"
import { type Answer, authorize, type Call, principal, type Route, type Routes, type Services } from "./Handler.ts"
import * as Html from "./Html.ts"
import { serviceAt } from "./RestApi.ts"
import * as Security from "./Security.ts"
import { ServiceControl } from "./ServiceControl.ts"

/** Fields a multipart request may carry besides the file, and how long each may be. */
const fieldLimits = { fields: 50, fieldSize: 1024 * 1024, parts: 60, files: 4 } as const

/**
 * Registers the multipart parser (`@fastify/multipart`): bodies are read only when a route asks, with the limits of
 * the service it addresses.
 *
 * @category constructors
 */
export const register = async (app: FastifyInstance): Promise<void> => {
  await app.register(multipart, { throwFileSizeLimit: true, limits: fieldLimits })
}

type Operation = ArcGISResource.UploadsOperation

/** How much of a refused body is still read (and dropped) so that its connection can take the next request. */
const drainBytes = 16 * 1024 * 1024

/**
 * After a refusal mid-body (a file too large): the parser let go of the request, and Node does not drop the rest of a
 * body someone began to read, so the connection would stall. Read and drop up to {@link drainBytes}, then close it.
 */
const drain = (request: IncomingMessage): void => {
  if (request.complete || request.destroyed) return
  let left = drainBytes
  request.on("data", (chunk: Buffer) => {
    left -= chunk.length
    if (left < 0) request.socket.destroy()
  })
  request.resume()
}

interface Context {
  readonly call: Call
  readonly service: ServiceRegistry.ServiceDefinition
  readonly uploads: Uploads.UploadsShape
  readonly limits: Uploads.Limits
}

/** What the service's settings give the port: the largest file and the retention. */
const limitsOf = (service: ServiceRegistry.ServiceDefinition): Uploads.Limits | undefined =>
  service.uploads === undefined
    ? undefined
    : { maxBytes: service.uploads.maxBytes, retentionMs: service.uploads.retentionMs }

/** The caller, who must be allowed to use the service (499 anonymous, 403 signed in without the role). */
const accessOf = Effect.fnUntraced(function* (c: Call, service: ServiceRegistry.ServiceDefinition) {
  const p = yield* principal(c)
  yield* authorize(p, Security.canUseService(p, service.access), `You may not use ${ServiceRef.path(service.ref)}.`)
  return { service: ServiceRef.path(service.ref), owner: p?.username ?? null } satisfies Uploads.Access
})

const postOnly = (c: Call, operation: string) =>
  c.request.method === "POST" ? Effect.void : Effect.fail(new MethodNotAllowed({ operation }))

const itemAnswer = (item: Uploads.Item): Answer => ({
  json: { success: true, item: Uploads.toDocument(item) },
  title: `Item ${item.itemID}`
})

const multipartFailure = (cause: unknown, maxBytes: number): RouteError => {
  const code = (cause as { readonly code?: unknown } | null)?.code
  if (code === "FST_REQ_FILE_TOO_LARGE") return new Uploads.UploadTooLarge({ maxBytes })
  if (code === "FST_PARTS_LIMIT" || code === "FST_FIELDS_LIMIT" || code === "FST_FILES_LIMIT") {
    return new InvalidInput({
      parameter: "file",
      detail: `file: a request carries one file and at most ${fieldLimits.fields} fields of ${fieldLimits.fieldSize} bytes`
    })
  }
  return new InvalidInput({
    parameter: "file",
    detail: `file: the multipart body could not be read (${cause instanceof Error ? cause.message : String(cause)})`
  })
}

/**
 * Reads a multipart request: its fields (over the query string's) and its `file` part, which `onFile` must consume;
 * `rest` reads the fields after the file and answers all of them. `precheck` (who asks, may they) runs first when it
 * can be decided before the body — the request is no multipart one, or carries its token in the query or a header —
 * so a bad token or a refused caller is told so without a byte of the file being read.
 */
const withFile = <A>(
  c: Call,
  maxBytes: number,
  precheck: Effect.Effect<unknown, RouteError, Services>,
  onFile: (
    file: MultipartFile,
    rest: Effect.Effect<Readonly<Record<string, string>>, RouteError>
  ) => Effect.Effect<A, RouteError, Services>
): Effect.Effect<A, RouteError, Services> =>
  Effect.gen(function* () {
    const multipartBody = c.request.isMultipart()
    if (!multipartBody || ArcGISRequest.token(c.request, c.params) !== undefined) yield* precheck
    if (!multipartBody) {
      return yield* new InvalidInput({
        parameter: "file",
        detail: "file: send the file in a multipart/form-data request (its part named file)"
      })
    }
    // One byte over the limit: the port sees the file is too large and says so, naming the limit.
    const parts = c.request.parts({ limits: { ...fieldLimits, fileSize: maxBytes + 1 } })
    const fields: Record<string, string> = { ...c.params }
    const next = Effect.tryPromise({ try: () => parts.next(), catch: (cause) => multipartFailure(cause, maxBytes) })
    const rest = Effect.gen(function* () {
      while (true) {
        const read = yield* next
        if (read.done === true) return fields as Readonly<Record<string, string>>
        const part = read.value
        if (part.type === "field") fields[part.fieldname] = String(part.value)
        // Another file: not ours to keep.
        else part.file.resume()
      }
    })
    while (true) {
      const read = yield* next
      if (read.done === true) {
        return yield* new InvalidInput({ parameter: "file", detail: "file: the request has no part named file" })
      }
      const part = read.value
      if (part.type === "field") {
        fields[part.fieldname] = String(part.value)
        continue
      }
      if (part.fieldname !== "file") {
        part.file.resume()
        continue
      }
      return yield* onFile(part, rest)
    }
  }).pipe(Effect.tapError(() => Effect.sync(() => drain(c.request.raw))))

/** The call as it would have been with the fields of the multipart body: the token may be one of them. */
const withFields = (c: Call, fields: Readonly<Record<string, string>>): Call => ({ ...c, params: fields })

const list = Effect.fnUntraced(function* (x: Context) {
  const access = yield* accessOf(x.call, x.service)
  const items = yield* x.uploads.list(access)
  const doc = { items: items.map(Uploads.toDocument) }
  const at = (operation: Operation) =>
    ArcGISResource.url(x.call.base, ArcGISResource.uploadsOf(x.service.ref, operation))
  return {
    json: doc,
    html: (signedIn: string | undefined) =>
      Html.page({
        signedIn,
        title: `${ServiceRef.path(x.service.ref)} (GPServer): uploads`,
        home: x.call.home,
        account: x.call.account,
        document: doc,
        links: [
          { href: at({ kind: "info" }), text: "info" },
          ...items.map((i) => ({ href: at({ kind: "item", itemId: i.itemID }), text: `${i.itemName} (${i.itemID})` }))
        ]
      })
  } satisfies Answer
})

const info = Effect.fnUntraced(function* (x: Context) {
  yield* accessOf(x.call, x.service)
  return {
    json: {
      // In MB, as ArcGIS answers it.
      maxUploadFileSize: Math.round((x.limits.maxBytes / (1024 * 1024)) * 1000) / 1000,
      allowedUploadFileTypes: Uploads.fileTypes.map((t) => t.slice(1)).join(","),
      // GeoJobs' own: how long an item is kept, in seconds.
      retention: Math.round(x.limits.retentionMs / 1000)
    },
    title: "Uploads: info"
  } satisfies Answer
})

const upload = Effect.fnUntraced(function* (x: Context) {
  yield* postOnly(x.call, "upload")
  const item = yield* withFile(x.call, x.limits.maxBytes, accessOf(x.call, x.service), (file, rest) =>
    x.uploads.upload(
      file.file,
      x.limits,
      Effect.gen(function* () {
        const fields = yield* rest
        const access = yield* accessOf(withFields(x.call, fields), x.service)
        // Decided once the body is read, as access is (a refusal before it left the client's upload hanging): a
        // stopped service takes no new uploads, as it takes no new jobs; the file received is removed.
        yield* (yield* ServiceControl).ensureStarted(x.service.ref)
        return {
          itemName: Uploads.safeName(file.filename ?? ""),
          description: fields.description ?? "",
          service: access.service,
          owner: access.owner
        } satisfies Uploads.NewItem
      })
    )
  )
  return itemAnswer(item)
})

const registerItem = Effect.fnUntraced(function* (x: Context) {
  yield* postOnly(x.call, "register")
  const access = yield* accessOf(x.call, x.service)
  yield* (yield* ServiceControl).ensureStarted(x.service.ref)
  const name = x.call.params.itemName?.trim() ?? ""
  if (name === "") {
    return yield* new InvalidInput({
      parameter: "itemName",
      detail: "itemName: the name of the file to upload in parts"
    })
  }
  const item = yield* x.uploads.register(
    { itemName: Uploads.safeName(name), description: x.call.params.description ?? "", ...access },
    x.limits
  )
  return itemAnswer(item)
})

const partIdOf = (text: string | undefined): Effect.Effect<number, InvalidInput> => {
  const n = text === undefined || text.trim() === "" ? Number.NaN : Number(text)
  return Uploads.isPartId(n)
    ? Effect.succeed(n)
    : Effect.fail(
        new InvalidInput({
          parameter: "partId",
          detail: `partId: a whole number from 1 to ${Uploads.maxPartId}, got ${JSON.stringify(text ?? "")}`
        })
      )
}

const uploadPart = Effect.fnUntraced(function* (x: Context, itemId: string) {
  yield* postOnly(x.call, "uploadPart")
  // Before the body when it can be: another user's item is refused as an unknown one.
  const precheck = Effect.flatMap(accessOf(x.call, x.service), (access) => x.uploads.get(access, itemId))
  const item = yield* withFile(x.call, x.limits.maxBytes, precheck, (file, rest) =>
    x.uploads.uploadPart(
      itemId,
      file.file,
      x.limits,
      Effect.gen(function* () {
        const fields = yield* rest
        const access = yield* accessOf(withFields(x.call, fields), x.service)
        // Decided once the body is read, as access is (a refusal before it left the client's upload hanging): a
        // stopped service takes no new uploads, as it takes no new jobs; the file received is removed.
        yield* (yield* ServiceControl).ensureStarted(x.service.ref)
        return { access, partId: yield* partIdOf(fields.partId) }
      })
    )
  )
  return itemAnswer(item)
})

const partsOf = (text: string | undefined): Effect.Effect<ReadonlyArray<number> | undefined, InvalidInput> => {
  // ArcGIS's examples quote the ids (`parts="1","3"`) or not (`parts=1,3`).
  const ids = (text ?? "")
    .split(",")
    .map((p) => p.trim().replace(/^"(.*)"$/, "$1"))
    .filter((p) => p !== "")
  if (ids.length === 0) return Effect.succeed(undefined)
  const numbers = ids.map(Number)
  return numbers.every(Uploads.isPartId)
    ? Effect.succeed(numbers)
    : Effect.fail(
        new InvalidInput({
          parameter: "parts",
          detail: `parts: a comma-separated list of part ids (1 to ${Uploads.maxPartId}), got ${JSON.stringify(text)}`
        })
      )
}

const commit = Effect.fnUntraced(function* (x: Context, itemId: string) {
  yield* postOnly(x.call, "commit")
  const access = yield* accessOf(x.call, x.service)
  return itemAnswer(yield* x.uploads.commit(access, itemId, yield* partsOf(x.call.params.parts), x.limits))
})

const item = Effect.fnUntraced(function* (x: Context, itemId: string) {
  const access = yield* accessOf(x.call, x.service)
  const found = yield* x.uploads.get(access, itemId)
  return { json: Uploads.toDocument(found), title: `Item ${found.itemName}` } satisfies Answer
})

const parts = Effect.fnUntraced(function* (x: Context, itemId: string) {
  const access = yield* accessOf(x.call, x.service)
  return { json: { parts: yield* x.uploads.parts(access, itemId) }, title: `Item ${itemId}: parts` } satisfies Answer
})

const remove = Effect.fnUntraced(function* (x: Context, itemId: string) {
  yield* postOnly(x.call, "delete")
  const access = yield* accessOf(x.call, x.service)
  yield* x.uploads.remove(access, itemId)
  return { json: { success: true }, title: `Item ${itemId} deleted` } satisfies Answer
})

/** What each operation does: a total table over the operations. */
const operations: {
  readonly [K in Operation["kind"]]: (
    x: Context,
    operation: Extract<Operation, { kind: K }>
  ) => Effect.Effect<Answer, RouteError, Services>
} = {
  list: (x) => list(x),
  info: (x) => info(x),
  upload: (x) => upload(x),
  register: (x) => registerItem(x),
  item: (x, o) => item(x, o.itemId),
  uploadPart: (x, o) => uploadPart(x, o.itemId),
  commit: (x, o) => commit(x, o.itemId),
  parts: (x, o) => parts(x, o.itemId),
  delete: (x, o) => remove(x, o.itemId)
}

const uploadsRoute: Route<"Uploads"> = Effect.fnUntraced(function* (c, resource) {
  const service = yield* serviceAt(resource.service)
  const uploads = Option.getOrUndefined(yield* Effect.serviceOption(Uploads.Uploads))
  const limits = limitsOf(service)
  // Only the caller who may use the service learns whether it takes uploads.
  if (uploads === undefined || limits === undefined) {
    yield* accessOf(c, service)
    return yield* new NotFound({
      what: `Uploads of ${ServiceRef.path(service.ref)} (the service has no Uploads capability)`
    })
  }
  const x: Context = { call: c, service, uploads, limits }
  return yield* (
    operations[resource.operation.kind] as (x: Context, o: Operation) => Effect.Effect<Answer, RouteError, Services>
  )(x, resource.operation)
})

/**
 * The route of every upload location.
 *
 * @category models
 */
export const routes: Routes<"Uploads"> = { Uploads: uploadsRoute }
