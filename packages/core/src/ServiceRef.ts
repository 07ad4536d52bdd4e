/**
 * A reference to a published geoprocessing service: optional folder, name, type `GPServer` and a stable 21-character
 * `service_id`. Also owns the naming rules shared by folders, services, tasks and parameters, so that every name
 * that passes can be put in a URL and read back unchanged.
 *
 * @module
 */
import { Effect } from "effect"
import { z } from "zod"
import { InvalidReference, type ReferencePart } from "./JobError.ts"

/**
 * The one service type GeoJobs serves.
 *
 * @category models
 */
export type ServiceType = "GPServer"

/**
 * A geoprocessing service.
 *
 * @category models
 */
export interface ServiceRef {
  readonly folder?: string | undefined
  readonly name: string
  readonly type: ServiceType
  /** Stable across restarts and processes: derived from folder and name unless configured. */
  readonly serviceId: string
}

/**
 * The longest folder, service, task or parameter name accepted (in characters).
 *
 * @category models
 */
export const maxNameLength = 120

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/
const serviceIdPattern = /^[a-z0-9]{21}$/

/**
 * Why a name is not acceptable, or `undefined` when it is. Names may hold spaces and any letters (they are
 * percent-encoded in URLs) but not slashes, control characters, `.`/`..`, surrounding spaces, or more than
 * {@link maxNameLength} characters.
 *
 * @category guards
 */
export const nameProblem = (name: string): string | undefined => {
  if (name.length === 0) return "it is empty"
  if (name === "." || name === "..") return "it is a relative path segment"
  if ([...name].length > maxNameLength) return `it is longer than ${maxNameLength} characters`
  if (controlCharacters.test(name)) return "it contains a control character"
  if (name.includes("/") || name.includes("\\")) return "it contains a slash"
  if (name.trim() !== name) return "it starts or ends with white space"
  return undefined
}

/**
 * Checks one name, failing with an `InvalidReference` that says which part is wrong.
 *
 * @category constructors
 */
export const checkName = (part: ReferencePart, name: string): Effect.Effect<string, InvalidReference> => {
  const problem =
    nameProblem(name) ?? (part === "service" && name.toLowerCase() === "gpserver" ? "it is reserved" : undefined)
  return problem === undefined
    ? Effect.succeed(name)
    : Effect.fail(new InvalidReference({ part, value: name, reason: problem }))
}

// FNV-1a, 128 bits: a published, well-spread hash that needs no platform crypto (core has no node: imports and
// must stay synchronous); collisions only matter between the services of one server.
const fnvOffset = 0x6c62272e07bb014262b821756295c58dn
const fnvPrime = 0x0000000001000000000000000000013bn
const mask128 = (1n << 128n) - 1n

/**
 * The `service_id` GeoJobs derives for a service: `s` + 20 base-36 digits of a hash of its folder and name.
 *
 * @category constructors
 */
export const deriveServiceId = (folder: string | undefined, name: string): string => {
  let hash = fnvOffset
  const key = `${folder ?? ""}/${name}/GPServer`
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i) // both bytes of each UTF-16 code unit, high first
    hash = ((hash ^ BigInt(unit >> 8)) * fnvPrime) & mask128
    hash = ((hash ^ BigInt(unit & 0xff)) * fnvPrime) & mask128
  }
  return `s${(hash % 36n ** 20n).toString(36).padStart(20, "0")}`
}

/**
 * Makes a service reference, checking every name.
 *
 * @category constructors
 */
export const make = (options: {
  readonly folder?: string | undefined
  readonly name: string
  readonly serviceId?: string | undefined
}): Effect.Effect<ServiceRef, InvalidReference> =>
  Effect.gen(function* () {
    const folder =
      options.folder === undefined || options.folder === "" ? undefined : yield* checkName("folder", options.folder)
    const name = yield* checkName("service", options.name)
    const serviceId = options.serviceId ?? deriveServiceId(folder, name)
    if (!serviceIdPattern.test(serviceId)) {
      return yield* new InvalidReference({
        part: "serviceId",
        value: serviceId,
        reason: "it must be 21 lowercase letters or digits"
      })
    }
    return folder === undefined ? { name, type: "GPServer", serviceId } : { folder, name, type: "GPServer", serviceId }
  })

/**
 * The part of a service reference that names it in URLs and in the services directory: optional folder and name.
 *
 * @category models
 */
export type ServicePath = Pick<ServiceRef, "folder" | "name">

/**
 * Reads `Folder/Name` or `Name` (the form of the services directory's `services[].name`, and how people type a
 * service), checking both names. The one reader of that form: the URL grammar, the client and the CLI use it.
 *
 * @category constructors
 */
export const parsePath = (path: string): Effect.Effect<ServicePath, InvalidReference> => {
  const parts = path.split("/")
  if (parts.length === 1) return Effect.map(checkName("service", path), (name) => ({ name }))
  if (parts.length === 2) {
    const [folder = "", name = ""] = parts
    return Effect.flatMap(checkName("folder", folder), (f) =>
      Effect.map(checkName("service", name), (n) => ({ folder: f, name: n }))
    )
  }
  return Effect.fail(
    new InvalidReference({ part: "path", value: path, reason: "a service path is Name or Folder/Name" })
  )
}

/**
 * Reads `Folder/Name` or `Name` into a service reference (its id derived).
 *
 * @category constructors
 */
export const fromPath = (path: string): Effect.Effect<ServiceRef, InvalidReference> =>
  Effect.flatMap(parsePath(path), (p) => make(p))

/**
 * `Folder/Name` or `Name`, unencoded: how the services directory lists a service.
 *
 * @category combinators
 */
export const path = (ref: ServicePath): string => (ref.folder === undefined ? ref.name : `${ref.folder}/${ref.name}`)

/** Whether two references name the same service. @category guards */
export const equals = (a: ServicePath, b: ServicePath): boolean => a.folder === b.folder && a.name === b.name

/**
 * zod schema of a stored service reference (names are checked by the same rules as {@link make}).
 *
 * @category models
 */
export const schema = z.object({
  folder: z
    .string()
    .refine((s) => nameProblem(s) === undefined, "invalid folder name")
    .optional(),
  name: z.string().refine((s) => nameProblem(s) === undefined, "invalid service name"),
  type: z.literal("GPServer"),
  serviceId: z.string().regex(serviceIdPattern)
})
