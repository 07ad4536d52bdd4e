/**
 * Uploaded items as job inputs (arcgis-api.md §5.3: `{"itemID":"…"}` for a `GPDataFile`, and for the features of a
 * `GPFeatureRecordSetLayer` or `GPRecordSet`, read from the file in the worker: `FeatureInputs`). At submit time, on the main
 * thread, every such input must name a committed item of the job's service that the submitter may use — else the
 * submission fails with a 400 naming the parameter, before any job exists. Before the tool runs, the item's file is
 * copied into the job's own folder (`inputs/<parameter>/<itemName>`) and the tool is given the value with that
 * relative `path`, which the data tools read (`@geojobs/tools` DataFile); an item deleted or expired in between fails
 * the job with a message saying so. The job's copy is its own: deleting the item later changes nothing for the job,
 * and removing the job removes the copy with the job's folder.
 *
 * @module
 */
import { constants } from "node:fs"
import { copyFile, mkdir, rm } from "node:fs/promises"
import { join } from "node:path"
import { EncodedValue, type Job, ServiceRef, Uploads } from "@geojobs/core"
import { GPValue } from "@geojobs/tools"
import { Effect } from "effect"
import * as RemoteInput from "./RemoteInput.ts"
import type { ServiceDefinition } from "./ServiceRegistry.ts"

/** What staging answers: the inputs the tool gets, or why the job cannot run (its error message). @category models */
export type Staged =
  | { readonly ok: true; readonly inputs: Readonly<Record<string, Job.JobValue>> }
  | { readonly ok: false; readonly error: string }

/**
 * The data types whose value may be an uploaded item: a file, or features and records read from one (in the worker
 * thread, see `FeatureInputs`).
 *
 * @category models
 */
export const itemTypes: ReadonlySet<string> = new Set(["GPDataFile", "GPFeatureRecordSetLayer", "GPRecordSet"])

/** A value that names an item is a small object; a value kept in a file of its own, or long text, is data. */
const maxReferenceText = 4096

/**
 * The item id an input value names (`{"itemID":"…"}`), without decoding values that cannot be one.
 *
 * @category accessors
 */
export const itemOf = (value: Job.JobValue): string | undefined => {
  if (!itemTypes.has(value.dataType) || EncodedValue.fileOf(value) !== undefined) return undefined
  const text = EncodedValue.textOf(value)
  if (text.length > maxReferenceText || !text.includes('"itemID"')) return undefined
  const decoded = value.value as { readonly itemID?: unknown } | null
  return typeof decoded === "object" && decoded !== null && typeof decoded.itemID === "string"
    ? decoded.itemID
    : undefined
}

/**
 * The URL a file value names (`{"url":"…"}`: a `GPDataFile`, or a feature or record set given as a file) to be fetched
 * into the job's folder, when it names no item.
 *
 * @category accessors
 */
export const urlOf = (value: Job.JobValue): string | undefined => {
  if (!itemTypes.has(value.dataType) || EncodedValue.fileOf(value) !== undefined) return undefined
  const text = EncodedValue.textOf(value)
  if (text.length > maxReferenceText || !text.includes('"url"')) return undefined
  const decoded = value.value as { readonly url?: unknown; readonly itemID?: unknown } | null
  return typeof decoded === "object" &&
    decoded !== null &&
    typeof decoded.url === "string" &&
    decoded.itemID === undefined
    ? decoded.url
    : undefined
}

const invalid = (parameter: string, expected: string, itemId: string) =>
  new GPValue.InvalidParameter({ parameter, expected, received: JSON.stringify({ itemID: itemId }) })

/**
 * Checks the item inputs of a submission: each names a committed item of the service, visible to `user`. Without an
 * uploads adapter (or on a service without the Uploads capability) no item exists.
 *
 * @category combinators
 */
export const check = (
  uploads: Uploads.UploadsShape | undefined,
  service: Pick<ServiceDefinition, "ref" | "uploads">,
  user: string | null,
  inputs: Readonly<Record<string, Job.JobValue>>,
  urls: RemoteInput.Settings = {}
): Effect.Effect<Readonly<Record<string, Job.JobValue>>, GPValue.InvalidParameter> =>
  Effect.gen(function* () {
    const access: Uploads.Access = { service: ServiceRef.path(service.ref), owner: user }
    for (const [name, value] of Object.entries(inputs)) {
      const url = urlOf(value)
      const problem = url === undefined ? undefined : RemoteInput.urlProblem(url, urls)
      if (url !== undefined && problem !== undefined) {
        return yield* new GPValue.InvalidParameter({
          parameter: name,
          expected: `a URL the server may fetch (${problem})`,
          received: JSON.stringify({ url })
        })
      }
      const itemId = itemOf(value)
      if (itemId === undefined) continue
      if (uploads === undefined || service.uploads === undefined) {
        return yield* invalid(name, `an uploaded item (${ServiceRef.path(service.ref)} takes no uploads)`, itemId)
      }
      const item = yield* uploads.get(access, itemId).pipe(
        Effect.catchTag("NoSuchItem", () =>
          Effect.fail(invalid(name, "the itemID of an item uploaded to this service (it does not exist)", itemId))
        ),
        // The storage failing is no bad input: a server error, logged.
        Effect.catchTag("UploadsError", (e) => Effect.die(e))
      )
      if (!item.committed) {
        return yield* invalid(name, "an uploaded item that is committed (commit its parts first)", itemId)
      }
    }
    return inputs
  })

/**
 * Copies a job's uploaded items into its folder and answers the inputs the tool gets (each item input with its
 * `path`), or why the job cannot run.
 *
 * @category combinators
 */
export const stage = (
  uploads: Uploads.UploadsShape | undefined,
  job: Pick<Job.Job, "service" | "user" | "inputs">,
  jobFolder: string,
  urls: RemoteInput.Settings = {}
): Effect.Effect<Staged> =>
  Effect.gen(function* () {
    const entries = Object.entries(job.inputs).map(([name, value]) => [name, value, itemOf(value)] as const)
    const remote = entries.flatMap(([name, value]) => {
      const url = urlOf(value)
      return url === undefined ? [] : [[name, url] as const]
    })
    if (entries.every(([, , itemId]) => itemId === undefined) && remote.length === 0) {
      return { ok: true, inputs: job.inputs } as const
    }
    const access: Uploads.Access = { service: ServiceRef.path(job.service), owner: job.user }
    const inputs: Record<string, Job.JobValue> = {}
    for (const [name, value, itemId] of entries) {
      const url = remote.find(([n]) => n === name)?.[1]
      if (url !== undefined) {
        const fetched = yield* fetchUrl(url, name, jobFolder, urls).pipe(Effect.result)
        if (fetched._tag === "Failure") return { ok: false, error: `${name}: ${fetched.failure.message}` } as const
        inputs[name] = { dataType: value.dataType, value: { url, path: fetched.success } }
        continue
      }
      if (itemId === undefined) {
        inputs[name] = value
        continue
      }
      const copied = yield* copyItem(uploads, access, itemId, name, jobFolder).pipe(Effect.result)
      if (copied._tag === "Failure") return { ok: false, error: `${name}: ${copied.failure}` } as const
      inputs[name] = {
        dataType: value.dataType,
        value: {
          ...(value.value as object),
          itemID: itemId,
          itemName: copied.success.itemName,
          path: copied.success.path
        }
      }
    }
    return { ok: true, inputs } as const
  })

/** Fetches a URL input into `inputs/<parameter>/<file name>`; answers that relative path. */
const fetchUrl = (url: string, parameter: string, jobFolder: string, settings: RemoteInput.Settings) =>
  Effect.gen(function* () {
    const folder = join(jobFolder, "inputs", Uploads.safeName(parameter))
    let name = "download"
    yield* RemoteInput.fetchTo(
      url,
      async (fileName) => {
        name = Uploads.safeName(fileName)
        await mkdir(folder, { recursive: true })
        await rm(join(folder, name), { force: true })
        return join(folder, name)
      },
      settings
    )
    return `inputs/${Uploads.safeName(parameter)}/${name}`
  })

const copyItem = (
  uploads: Uploads.UploadsShape | undefined,
  access: Uploads.Access,
  itemId: string,
  parameter: string,
  jobFolder: string
): Effect.Effect<{ readonly path: string; readonly itemName: string }, string> =>
  Effect.gen(function* () {
    if (uploads === undefined) return yield* Effect.fail(`the uploaded item ${itemId} does not exist`)
    const gone = () => `the uploaded item ${itemId} no longer exists (it expired or was deleted)`
    const item = yield* uploads.get(access, itemId).pipe(Effect.mapError(gone))
    const source = yield* uploads.resolve(access, itemId).pipe(Effect.mapError(gone))
    const name = Uploads.safeName(item.itemName)
    const relative = `inputs/${Uploads.safeName(parameter)}/${name}`
    const target = join(jobFolder, "inputs", Uploads.safeName(parameter), name)
    yield* Effect.tryPromise({
      try: async () => {
        await mkdir(join(jobFolder, "inputs", Uploads.safeName(parameter)), { recursive: true })
        // A run after an interruption finds the copy of the first: replace it.
        await rm(target, { force: true })
        // A copy (a clone where the file system can), not a hard link: a tool writing to its input must not change
        // the upload other jobs use.
        await copyFile(source, target, constants.COPYFILE_FICLONE)
      },
      catch: (cause) =>
        `the uploaded item ${itemId} could not be copied into the job's folder (${cause instanceof Error ? cause.message : String(cause)})`
    })
    return { path: relative, itemName: item.itemName }
  })
