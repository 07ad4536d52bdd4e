/**
 * The port for uploaded items (ArcGIS's `…/GPServer/uploads`): files a client sends to a service — in one request, or
 * registered and sent in numbered parts, then committed — kept until their service's retention runs out, and used as
 * job inputs by `{"itemID":…}`. Each item belongs to one service and to the user who uploaded it; an item uploaded
 * anonymously (to a public service) belongs to whoever holds its unguessable id, as an anonymous job does. Every
 * lookup takes an {@link Access} and answers `NoSuchItem` for an item of another service or another user exactly as
 * for one that does not exist.
 *
 * Content arrives as a stream of chunks (never whole in memory) and is size-limited while it is written; what it must
 * look like is {@link contentProblem}, which every adapter applies. The engine's local-folder adapter implements the
 * port on `node:fs`; `layerMemory` keeps items in memory for tests. `@geojobs/core/testing` holds the contract suite.
 *
 * @module
 */
import { Clock, Context, Data, Effect, Layer } from "effect"

// ---------------------------------------------------------------------------------------------------------------
// models

/** An item id: `i` and a UUID, as ArcGIS writes them (`i912f0648-a455-4d08-ae95-44eb5b82de2e`). @category models */
export type ItemId = string

const itemIdPattern = /^i[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** @category guards */
export const isItemId = (u: unknown): u is ItemId => typeof u === "string" && itemIdPattern.test(u)

// Core is built without DOM or Node typings; Web Crypto is on globalThis in both Node and browsers.
const webCrypto = (globalThis as unknown as { crypto: { randomUUID: () => string } }).crypto

/**
 * A new, unguessable item id (122 random bits: the id is the capability for an anonymous item).
 *
 * @category constructors
 */
export const newItemId: Effect.Effect<ItemId> = Effect.sync(() => `i${webCrypto.randomUUID().toLowerCase()}`)

/**
 * An uploaded item. Times are milliseconds since the epoch.
 *
 * @category models
 */
export interface Item {
  readonly itemID: ItemId
  /** The file's name (its extension says its type). */
  readonly itemName: string
  readonly description: string
  /** When it was uploaded or registered. */
  readonly date: number
  /** Whether its file is complete (an upload in parts is not, until committed). */
  readonly committed: boolean
  /** The committed file's size in bytes (0 before). */
  readonly size: number
  /** The service it was uploaded to (`ServiceRef.path`). */
  readonly service: string
  /** Who uploaded it; `null` for an anonymous upload. */
  readonly owner: string | null
  /** When the sweeper removes it. */
  readonly expires: number
}

/**
 * Who asks for an item, and through which service.
 *
 * @category models
 */
export interface Access {
  readonly service: string
  /** The caller's user name; `null` when anonymous. */
  readonly owner: string | null
}

/**
 * A service's upload settings, in bytes and milliseconds.
 *
 * @category models
 */
export interface Limits {
  /** The largest file (the sum of its parts). */
  readonly maxBytes: number
  /** How long an item is kept after it is uploaded or registered. */
  readonly retentionMs: number
}

/**
 * What describes a new item.
 *
 * @category models
 */
export interface NewItem {
  readonly itemName: string
  readonly description: string
  readonly service: string
  readonly owner: string | null
}

/**
 * The ArcGIS document of an item (`uploads/<itemID>`, and the `item` of every upload answer).
 *
 * @category models
 */
export interface ItemDocument {
  readonly itemID: ItemId
  readonly itemName: string
  readonly description: string
  readonly date: number
  readonly committed: boolean
}

/** @category constructors */
export const toDocument = (item: Item): ItemDocument => ({
  itemID: item.itemID,
  itemName: item.itemName,
  description: item.description,
  date: item.date,
  committed: item.committed
})

/**
 * Whether an item is visible to a caller: an item of the caller's service that is the caller's own, or anonymous.
 *
 * @category guards
 */
export const isVisibleTo = (item: Item, access: Access): boolean =>
  item.service === access.service && (item.owner === null || item.owner === access.owner)

/** The largest part number (ArcGIS numbers parts from 1). @category models */
export const maxPartId = 10_000

// ---------------------------------------------------------------------------------------------------------------
// file types

/**
 * The file types an upload may have (by extension, lowercase): what GeoJobs' data tools read, and plain text.
 *
 * @category models
 */
export const fileTypes = [".zip", ".json", ".geojson", ".csv", ".kml", ".kmz", ".gpkg", ".fgb", ".txt"] as const

/** How many first bytes {@link contentProblem} looks at. @category models */
export const headBytes = 512

const extensionOf = (name: string): string => {
  const dot = name.lastIndexOf(".")
  return dot <= 0 ? "" : name.slice(dot).toLowerCase()
}

const startsWith = (head: Uint8Array, bytes: ReadonlyArray<number>): boolean =>
  head.length >= bytes.length && bytes.every((b, i) => head[i] === b)

const zip = [0x50, 0x4b, 0x03, 0x04]
const sqlite = Array.from("SQLite format 3\u0000", (c) => c.charCodeAt(0))
const flatgeobuf = [0x66, 0x67, 0x62]

/** The first byte that is not a BOM or white space, or -1. */
const firstText = (head: Uint8Array): number => {
  let i = startsWith(head, [0xef, 0xbb, 0xbf]) ? 3 : 0
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++
  return i < head.length ? (head[i] ?? -1) : -1
}

const text = (head: Uint8Array) => !head.includes(0)

const checks: Readonly<Record<(typeof fileTypes)[number], (head: Uint8Array) => string | undefined>> = {
  ".zip": (h) => (startsWith(h, zip) ? undefined : "it is not a zip archive"),
  ".kmz": (h) => (startsWith(h, zip) ? undefined : "it is not a KMZ (zip) archive"),
  ".gpkg": (h) => (startsWith(h, sqlite) ? undefined : "it is not a GeoPackage (SQLite) file"),
  ".fgb": (h) => (startsWith(h, flatgeobuf) ? undefined : "it is not a FlatGeobuf file"),
  ".json": (h) => (text(h) && [0x7b, 0x5b].includes(firstText(h)) ? undefined : "it is not JSON"),
  ".geojson": (h) => (text(h) && firstText(h) === 0x7b ? undefined : "it is not GeoJSON"),
  ".kml": (h) => (text(h) && firstText(h) === 0x3c ? undefined : "it is not KML (XML)"),
  ".csv": (h) => (text(h) ? undefined : "it is not text"),
  ".txt": (h) => (text(h) ? undefined : "it is not text")
}

/**
 * What is wrong with a file of this name whose content starts with `head` (its first {@link headBytes} bytes, or all
 * of a smaller file): an extension that is not allowed, an empty file, or content that is not what the extension says
 * (zip and GeoPackage files by their magic bytes, text files by having no NUL). `undefined` when it is fine.
 *
 * @category guards
 */
export const contentProblem = (itemName: string, head: Uint8Array): string | undefined => {
  const type = extensionOf(itemName)
  const check = (checks as Readonly<Record<string, ((head: Uint8Array) => string | undefined) | undefined>>)[type]
  if (check === undefined) {
    return `${type === "" ? "a file without an extension" : `${type} files`} may not be uploaded (allowed: ${fileTypes.join(", ")})`
  }
  if (head.length === 0) return "the file is empty"
  return check(head)
}

/**
 * Whether a name's extension is allowed (what `register` checks before any content exists).
 *
 * @category guards
 */
export const isAllowedName = (itemName: string): boolean =>
  (fileTypes as ReadonlyArray<string>).includes(extensionOf(itemName))

/**
 * A file name made safe to keep: the last path segment, letters, digits, `_`, `-`, `.` and spaces only, at most 200
 * characters, never starting with a dot.
 *
 * @category constructors
 */
export const safeName = (name: string): string => {
  const base = name
    .replace(/^.*[\\/]/, "")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to remove control characters
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .replace(/[^\p{L}\p{N}_ .-]+/gu, "_")
    .replace(/^[.\s]+/, "")
    .trim()
  const cut = base.length > 200 ? `${base.slice(0, 190)}${extensionOf(base).slice(0, 10)}` : base
  return cut === "" ? "upload" : cut
}

// ---------------------------------------------------------------------------------------------------------------
// errors

/**
 * No item with this id that the caller may use here — missing, expired, another service's or another user's. They
 * read alike on purpose: ids of other users' items cannot be told apart from unknown ones.
 *
 * @category errors
 */
export class NoSuchItem extends Data.TaggedError("NoSuchItem")<{ readonly itemId: string }> {
  override get message(): string {
    return `Item ${this.itemId} does not exist or is inaccessible.`
  }
}

/**
 * The operation does not fit the item's state: a part sent to, or a commit of, an item already committed; a commit
 * naming a part that was not sent, or with no parts at all; the file of an item not committed yet.
 *
 * @category errors
 */
export class InvalidItemState extends Data.TaggedError("InvalidItemState")<{
  readonly itemId: string
  readonly reason: string
}> {
  override get message(): string {
    return `Item ${this.itemId}: ${this.reason}.`
  }
}

/**
 * The file (or the sum of its parts) is larger than the service allows.
 *
 * @category errors
 */
export class UploadTooLarge extends Data.TaggedError("UploadTooLarge")<{ readonly maxBytes: number }> {
  override get message(): string {
    return `The file is larger than the maximum upload file size of ${describeSize(this.maxBytes)}.`
  }
}

/**
 * The file's type is not allowed, or its content is not what its name says ({@link contentProblem}).
 *
 * @category errors
 */
export class UnsupportedFileType extends Data.TaggedError("UnsupportedFileType")<{
  readonly itemName: string
  readonly problem: string
}> {
  override get message(): string {
    return `${this.itemName} cannot be uploaded: ${this.problem}.`
  }
}

/**
 * The storage (file system, …) failed.
 *
 * @category errors
 */
export class UploadsError extends Data.TaggedError("UploadsError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `Uploads ${this.operation} failed: ${detail}`
  }
}

/**
 * Every error of the port.
 *
 * @category errors
 */
export type UploadsFailure = NoSuchItem | InvalidItemState | UploadTooLarge | UnsupportedFileType | UploadsError

/** A size as people read it: `10 MB`, `512 KB`, `100 bytes`. @category constructors */
export const describeSize = (bytes: number): string =>
  bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MB`
    : bytes >= 1024 && bytes % 1024 === 0
      ? `${bytes / 1024} KB`
      : `${bytes} bytes`

// ---------------------------------------------------------------------------------------------------------------
// the port

/** Chunks of a file's content, as a request body streams them. @category models */
export type Content = AsyncIterable<Uint8Array>

/**
 * Upload operations.
 *
 * @category services
 */
export interface UploadsShape {
  /**
   * Stores a whole file as a committed item (the `upload` operation), refusing it past `maxBytes` or of a wrong type.
   * `describe` runs once the content is received — a multipart request may send the description, or the token saying
   * who the owner is, after the file — and its failure discards the file.
   */
  readonly upload: <E = never, R = never>(
    content: Content,
    limits: Limits,
    describe: Effect.Effect<NewItem, E, R>
  ) => Effect.Effect<Item, UploadTooLarge | UnsupportedFileType | UploadsError | E, R>
  /** Reserves an item whose file comes in parts (`register`); its name's extension must be allowed. */
  readonly register: (item: NewItem, limits: Limits) => Effect.Effect<Item, UnsupportedFileType | UploadsError>
  /**
   * Stores (or replaces) a part of a registered item; answers the item. `describe` — who asks, and the part number (1
   * to {@link maxPartId}) — runs once the content is received, as for {@link UploadsShape.upload}.
   */
  readonly uploadPart: <E = never, R = never>(
    itemId: string,
    content: Content,
    limits: Limits,
    describe: Effect.Effect<{ readonly access: Access; readonly partId: number }, E, R>
  ) => Effect.Effect<Item, NoSuchItem | InvalidItemState | UploadTooLarge | UploadsError | E, R>
  /** The part numbers stored for an item, in ascending order. */
  readonly parts: (access: Access, itemId: string) => Effect.Effect<ReadonlyArray<number>, NoSuchItem | UploadsError>
  /**
   * Joins the parts — those listed, in that order, or every part in ascending order — into the item's file, checks
   * its size and content, and marks it committed. A refused commit removes nothing: the parts stay to try again.
   */
  readonly commit: (
    access: Access,
    itemId: string,
    parts: ReadonlyArray<number> | undefined,
    limits: Limits
  ) => Effect.Effect<Item, NoSuchItem | InvalidItemState | UploadTooLarge | UnsupportedFileType | UploadsError>
  /** An item the caller may use. */
  readonly get: (access: Access, itemId: string) => Effect.Effect<Item, NoSuchItem | UploadsError>
  /** The caller's items of the service (anonymous items are listed to no one: their id is their only key). */
  readonly list: (access: Access) => Effect.Effect<ReadonlyArray<Item>, UploadsError>
  /** Every item of every service and owner, anonymous ones included, newest first: for administrators (`admin/uploads`). */
  readonly all: Effect.Effect<ReadonlyArray<Item>, UploadsError>
  /** Where a committed item's file is (a local adapter: an absolute path), for copying into a job's folder. */
  readonly resolve: (
    access: Access,
    itemId: string
  ) => Effect.Effect<string, NoSuchItem | InvalidItemState | UploadsError>
  /** A committed item's bytes (tests, small files). */
  readonly read: (
    access: Access,
    itemId: string
  ) => Effect.Effect<Uint8Array, NoSuchItem | InvalidItemState | UploadsError>
  /** Removes an item, its file and its parts. */
  readonly remove: (access: Access, itemId: string) => Effect.Effect<void, NoSuchItem | UploadsError>
  /** Removes every item whose `expires` is at or before `now`; answers how many. */
  readonly sweep: (now: number) => Effect.Effect<number, UploadsError>
}

/**
 * The uploads service.
 *
 * @category services
 */
export class Uploads extends Context.Service<Uploads, UploadsShape>()("@geojobs/core/Uploads") {
  /**
   * Items in memory, empty at start; for tests.
   *
   * @category layers
   */
  static readonly layerMemory: Layer.Layer<Uploads> = Layer.sync(Uploads, () => makeMemory())
}

// ---------------------------------------------------------------------------------------------------------------
// helpers adapters share

/**
 * Reads content into chunks no larger in sum than `maxBytes` (failing with `UploadTooLarge` as soon as it is past),
 * handing each chunk to `write`. Answers the byte count and the first {@link headBytes} bytes.
 *
 * @category combinators
 */
export const consume = <E>(
  content: Content,
  maxBytes: number,
  alreadyBytes: number,
  write: (chunk: Uint8Array) => Promise<void>,
  onError: (cause: unknown) => E
): Effect.Effect<{ readonly bytes: number; readonly head: Uint8Array }, UploadTooLarge | E> =>
  Effect.tryPromise({
    try: async () => {
      let bytes = 0
      const head = new Uint8Array(headBytes)
      let headLength = 0
      for await (const chunk of content) {
        bytes += chunk.length
        if (alreadyBytes + bytes > maxBytes) throw new UploadTooLarge({ maxBytes })
        if (headLength < headBytes) {
          const take = chunk.subarray(0, headBytes - headLength)
          head.set(take, headLength)
          headLength += take.length
        }
        await write(chunk)
      }
      return { bytes, head: head.subarray(0, headLength) }
    },
    catch: (cause) => (cause instanceof UploadTooLarge ? cause : onError(cause))
  })

/**
 * The parts a commit joins: the listed ones (each stored, none twice) or all, in ascending order; at least one.
 *
 * @category combinators
 */
export const partsToJoin = (
  itemId: string,
  stored: ReadonlyArray<number>,
  listed: ReadonlyArray<number> | undefined
): Effect.Effect<ReadonlyArray<number>, InvalidItemState> => {
  const parts = listed ?? [...stored].sort((a, b) => a - b)
  if (parts.length === 0) return Effect.fail(new InvalidItemState({ itemId, reason: "no parts have been uploaded" }))
  const missing = parts.find((p) => !stored.includes(p))
  if (missing !== undefined) {
    return Effect.fail(new InvalidItemState({ itemId, reason: `part ${missing} has not been uploaded` }))
  }
  if (new Set(parts).size !== parts.length) {
    return Effect.fail(new InvalidItemState({ itemId, reason: "a part is listed twice" }))
  }
  return Effect.succeed(parts)
}

/** @category guards */
export const isPartId = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= maxPartId

// ---------------------------------------------------------------------------------------------------------------
// memory

interface MemoryItem {
  item: Item
  file: Uint8Array | undefined
  readonly parts: Map<number, Uint8Array>
}

const join = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

const makeMemory = (): UploadsShape => {
  const items = new Map<string, MemoryItem>()
  const failed = (cause: unknown) => new UploadsError({ operation: "read content", cause })
  const find = (access: Access, itemId: string): Effect.Effect<MemoryItem, NoSuchItem> => {
    const found = items.get(itemId)
    return found === undefined || !isVisibleTo(found.item, access)
      ? Effect.fail(new NoSuchItem({ itemId }))
      : Effect.succeed(found)
  }
  const committedFile = (access: Access, itemId: string) =>
    Effect.flatMap(find(access, itemId), (found) =>
      found.file === undefined
        ? Effect.fail(new InvalidItemState({ itemId, reason: "it has not been committed" }))
        : Effect.succeed(found.file)
    )
  const create = (item: NewItem, limits: Limits, committed: boolean, size: number) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      return {
        itemID: yield* newItemId,
        itemName: item.itemName,
        description: item.description,
        date: now,
        committed,
        size,
        service: item.service,
        owner: item.owner,
        expires: now + limits.retentionMs
      } satisfies Item
    })
  return {
    upload: (content, limits, describe) =>
      Effect.gen(function* () {
        const chunks: Array<Uint8Array> = []
        const read = yield* consume(
          content,
          limits.maxBytes,
          0,
          async (c) => void chunks.push(Uint8Array.from(c)),
          failed
        )
        const item = yield* describe
        const problem = contentProblem(item.itemName, read.head)
        if (problem !== undefined) return yield* new UnsupportedFileType({ itemName: item.itemName, problem })
        const created = yield* create(item, limits, true, read.bytes)
        items.set(created.itemID, { item: created, file: join(chunks), parts: new Map() })
        return created
      }),
    register: (item, limits) =>
      Effect.gen(function* () {
        if (!isAllowedName(item.itemName)) {
          return yield* new UnsupportedFileType({
            itemName: item.itemName,
            problem: contentProblem(item.itemName, new Uint8Array(1)) ?? "its type is not allowed"
          })
        }
        const created = yield* create(item, limits, false, 0)
        items.set(created.itemID, { item: created, file: undefined, parts: new Map() })
        return created
      }),
    uploadPart: (itemId, content, limits, describe) =>
      Effect.gen(function* () {
        if (!items.has(itemId)) return yield* new NoSuchItem({ itemId })
        const chunks: Array<Uint8Array> = []
        yield* consume(content, limits.maxBytes, 0, async (c) => void chunks.push(Uint8Array.from(c)), failed)
        const { access, partId } = yield* describe
        const found = yield* find(access, itemId)
        if (found.item.committed) return yield* new InvalidItemState({ itemId, reason: "it is already committed" })
        if (!isPartId(partId)) {
          return yield* new InvalidItemState({ itemId, reason: `a part id is a whole number from 1 to ${maxPartId}` })
        }
        const part = join(chunks)
        const others = [...found.parts].reduce((n, [id, bytes]) => (id === partId ? n : n + bytes.length), 0)
        if (others + part.length > limits.maxBytes) return yield* new UploadTooLarge({ maxBytes: limits.maxBytes })
        found.parts.set(partId, part)
        return found.item
      }),
    parts: (access, itemId) =>
      Effect.map(find(access, itemId), (found) => [...found.parts.keys()].sort((a, b) => a - b)),
    commit: (access, itemId, listed, limits) =>
      Effect.gen(function* () {
        const found = yield* find(access, itemId)
        if (found.item.committed) return yield* new InvalidItemState({ itemId, reason: "it is already committed" })
        const order = yield* partsToJoin(itemId, [...found.parts.keys()], listed)
        const file = join(order.map((p) => found.parts.get(p) ?? new Uint8Array()))
        if (file.length > limits.maxBytes) return yield* new UploadTooLarge({ maxBytes: limits.maxBytes })
        const problem = contentProblem(found.item.itemName, file.subarray(0, headBytes))
        if (problem !== undefined) return yield* new UnsupportedFileType({ itemName: found.item.itemName, problem })
        found.file = file
        found.parts.clear()
        found.item = { ...found.item, committed: true, size: file.length }
        return found.item
      }),
    get: (access, itemId) => Effect.map(find(access, itemId), (found) => found.item),
    list: (access) =>
      Effect.sync(() =>
        [...items.values()]
          .map((m) => m.item)
          .filter((i) => i.service === access.service && i.owner !== null && i.owner === access.owner)
      ),
    all: Effect.sync(() => [...items.values()].map((m) => m.item).sort((a, b) => b.date - a.date)),
    resolve: (access, itemId) => Effect.map(committedFile(access, itemId), () => `memory:/uploads/${itemId}`),
    read: (access, itemId) => Effect.map(committedFile(access, itemId), (file) => Uint8Array.from(file)),
    remove: (access, itemId) => Effect.map(find(access, itemId), () => void items.delete(itemId)),
    sweep: (now) =>
      Effect.sync(() => {
        let count = 0
        for (const [id, m] of items) {
          if (m.item.expires <= now) {
            items.delete(id)
            count++
          }
        }
        return count
      })
  }
}
