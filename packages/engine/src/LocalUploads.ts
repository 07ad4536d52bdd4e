/**
 * The Uploads port on a local folder (default `<dataDir>/uploads`): item `i…` lives in `<folder>/<itemID>/` — its
 * metadata in `item.json` (written to a temporary name and renamed, so a reader never sees half of it), its committed
 * file in `file`, the parts of an upload in parts in `parts/<n>`. Content is streamed to disk chunk by chunk and
 * counted as it goes; a file past the limit, or whose first bytes are not what its name says, is removed before
 * anything points at it. An item exists once its `item.json` does: a folder without one (a crash mid-upload) is
 * removed by the sweep after a day.
 *
 * Several nodes of a cluster must share this folder (a network file system mounted at the same path on every node,
 * like the jobs folder): an item uploaded through one node is staged into jobs run by another.
 *
 * @module
 */
import { randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Uploads } from "@geojobs/core"
import { Clock, Effect, Layer } from "effect"
import { z } from "zod"

const itemSchema = z.object({
  itemID: z.string(),
  itemName: z.string(),
  description: z.string(),
  date: z.number(),
  committed: z.boolean(),
  size: z.number(),
  service: z.string(),
  owner: z.string().nullable(),
  expires: z.number()
})

/** How long a folder without `item.json` (an upload that never finished) may stay. */
const abandonedMs = 24 * 3_600_000

const errorOf = (operation: string) => (cause: unknown) => new Uploads.UploadsError({ operation, cause })

const isMissing = (cause: unknown) => (cause as { readonly code?: unknown } | null)?.code === "ENOENT"

/**
 * The adapter over `folder`, which it creates.
 *
 * @category constructors
 */
export const make = (folder: string): Effect.Effect<Uploads.UploadsShape, Uploads.UploadsError> =>
  Effect.gen(function* () {
    yield* Effect.tryPromise({ try: () => mkdir(folder, { recursive: true }), catch: errorOf(`create ${folder}`) })
    // Only an id of the right shape ever becomes a path: nothing a client sends can leave the folder.
    const itemFolder = (itemId: string) => join(folder, itemId)
    const metaPath = (itemId: string) => join(itemFolder(itemId), "item.json")
    const filePath = (itemId: string) => join(itemFolder(itemId), "file")
    const partsFolder = (itemId: string) => join(itemFolder(itemId), "parts")
    const partPath = (itemId: string, partId: number) => join(partsFolder(itemId), String(partId))
    const temporary = (path: string) => `${path}.${randomBytes(6).toString("hex")}.tmp`

    const writeMeta = (item: Uploads.Item) =>
      Effect.tryPromise({
        try: async () => {
          const tmp = temporary(metaPath(item.itemID))
          await writeFile(tmp, JSON.stringify(item))
          await rename(tmp, metaPath(item.itemID))
        },
        catch: errorOf(`write ${item.itemID}`)
      })

    /** The stored item, or undefined when there is none (or its folder is a leftover). */
    const readMeta = (itemId: string) =>
      Effect.tryPromise({
        try: async (): Promise<Uploads.Item | undefined> => {
          if (!Uploads.isItemId(itemId)) return undefined
          try {
            const parsed = itemSchema.safeParse(JSON.parse(await readFile(metaPath(itemId), "utf8")))
            return parsed.success && parsed.data.itemID === itemId ? parsed.data : undefined
          } catch (cause) {
            if (isMissing(cause)) return undefined
            throw cause
          }
        },
        catch: errorOf(`read ${itemId}`)
      })

    const find = (access: Uploads.Access, itemId: string) =>
      Effect.flatMap(readMeta(itemId), (item) =>
        item === undefined || !Uploads.isVisibleTo(item, access)
          ? Effect.fail(new Uploads.NoSuchItem({ itemId }))
          : Effect.succeed(item)
      )

    const committedFile = (access: Uploads.Access, itemId: string) =>
      Effect.flatMap(find(access, itemId), (item) =>
        item.committed
          ? Effect.succeed(filePath(itemId))
          : Effect.fail(new Uploads.InvalidItemState({ itemId, reason: "it has not been committed" }))
      )

    /** Streams content into `path` (through a temporary name), refusing it past `maxBytes - alreadyBytes`. */
    const receive = (content: Uploads.Content, path: string, maxBytes: number, alreadyBytes: number) =>
      Effect.gen(function* () {
        const tmp = temporary(path)
        const handle = yield* Effect.tryPromise({ try: () => open(tmp, "wx"), catch: errorOf(`create ${tmp}`) })
        const read = yield* Uploads.consume(
          content,
          maxBytes,
          alreadyBytes,
          async (chunk) => void (await handle.write(chunk)),
          errorOf("receive the file")
        ).pipe(
          Effect.ensuring(Effect.promise(() => handle.close().catch(() => undefined))),
          Effect.tapError(() => Effect.promise(() => rm(tmp, { force: true })))
        )
        return { ...read, tmp }
      })

    const newItem = (item: Uploads.NewItem, limits: Uploads.Limits, committed: boolean, size: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        return {
          itemID: yield* Uploads.newItemId,
          itemName: item.itemName,
          description: item.description,
          date: now,
          committed,
          size,
          service: item.service,
          owner: item.owner,
          expires: now + limits.retentionMs
        } satisfies Uploads.Item
      })

    const removeFolder = (itemId: string) =>
      Effect.tryPromise({
        try: () => rm(itemFolder(itemId), { recursive: true, force: true }),
        catch: errorOf(`remove ${itemId}`)
      })

    const mkdirs = (path: string) =>
      Effect.tryPromise({ try: () => mkdir(path, { recursive: true }), catch: errorOf(`create ${path}`) })

    const storedParts = (itemId: string) =>
      Effect.tryPromise({
        try: async () => {
          try {
            const names = await readdir(partsFolder(itemId))
            return names
              .filter((n) => /^\d+$/.test(n))
              .map(Number)
              .sort((a, b) => a - b)
          } catch (cause) {
            if (isMissing(cause)) return []
            throw cause
          }
        },
        catch: errorOf(`list the parts of ${itemId}`)
      })

    const sizeOf = (path: string) =>
      Effect.tryPromise({ try: async () => (await stat(path)).size, catch: errorOf(`stat ${path}`) })

    const upload: Uploads.UploadsShape["upload"] = (content, limits, describe) =>
      Effect.gen(function* () {
        const itemId = yield* Uploads.newItemId
        yield* mkdirs(itemFolder(itemId))
        const stored = yield* Effect.gen(function* () {
          const read = yield* receive(content, filePath(itemId), limits.maxBytes, 0)
          const item = yield* describe
          const created = { ...(yield* newItem(item, limits, true, 0)), itemID: itemId }
          const problem = Uploads.contentProblem(item.itemName, read.head)
          if (problem !== undefined) return yield* new Uploads.UnsupportedFileType({ itemName: item.itemName, problem })
          yield* Effect.tryPromise({
            try: () => rename(read.tmp, filePath(created.itemID)),
            catch: errorOf(`keep ${created.itemID}`)
          })
          const done = { ...created, size: read.bytes }
          yield* writeMeta(done)
          return done
        }).pipe(Effect.tapError(() => removeFolder(itemId).pipe(Effect.ignore)))
        return stored
      })

    const register: Uploads.UploadsShape["register"] = (item, limits) =>
      Effect.gen(function* () {
        if (!Uploads.isAllowedName(item.itemName)) {
          return yield* new Uploads.UnsupportedFileType({
            itemName: item.itemName,
            problem: Uploads.contentProblem(item.itemName, new Uint8Array(1)) ?? "its type is not allowed"
          })
        }
        const created = yield* newItem(item, limits, false, 0)
        yield* mkdirs(partsFolder(created.itemID))
        yield* writeMeta(created)
        return created
      })

    const uploadPart: Uploads.UploadsShape["uploadPart"] = (itemId, content, limits, describe) =>
      Effect.gen(function* () {
        // Received before who asks is known (the token may follow the file): into the item's own folder only.
        if ((yield* readMeta(itemId)) === undefined) return yield* new Uploads.NoSuchItem({ itemId })
        yield* mkdirs(partsFolder(itemId))
        const read = yield* receive(content, join(partsFolder(itemId), "incoming"), limits.maxBytes, 0)
        return yield* Effect.gen(function* () {
          const { access, partId } = yield* describe
          const item = yield* find(access, itemId)
          if (item.committed) return yield* new Uploads.InvalidItemState({ itemId, reason: "it is already committed" })
          if (!Uploads.isPartId(partId)) {
            return yield* new Uploads.InvalidItemState({
              itemId,
              reason: `a part id is a whole number from 1 to ${Uploads.maxPartId}`
            })
          }
          const others = yield* Effect.flatMap(storedParts(itemId), (ids) =>
            Effect.forEach(
              ids.filter((id) => id !== partId),
              (id) => sizeOf(partPath(itemId, id))
            )
          )
          if (others.reduce((a, b) => a + b, read.bytes) > limits.maxBytes) {
            return yield* new Uploads.UploadTooLarge({ maxBytes: limits.maxBytes })
          }
          yield* Effect.tryPromise({
            try: () => rename(read.tmp, partPath(itemId, partId)),
            catch: errorOf(`keep part ${partId} of ${itemId}`)
          })
          return item
        }).pipe(Effect.tapError(() => Effect.promise(() => rm(read.tmp, { force: true }))))
      })

    const commit: Uploads.UploadsShape["commit"] = (access, itemId, listed, limits) =>
      Effect.gen(function* () {
        const item = yield* find(access, itemId)
        if (item.committed) return yield* new Uploads.InvalidItemState({ itemId, reason: "it is already committed" })
        const order = yield* Uploads.partsToJoin(itemId, yield* storedParts(itemId), listed)
        const sizes = yield* Effect.forEach(order, (id) => sizeOf(partPath(itemId, id)))
        if (sizes.reduce((a, b) => a + b, 0) > limits.maxBytes) {
          return yield* new Uploads.UploadTooLarge({ maxBytes: limits.maxBytes })
        }
        // The parts streamed one after the other into the file: a big item is never whole in memory.
        const joined: Uploads.Content = {
          async *[Symbol.asyncIterator]() {
            for (const id of order) yield* createReadStream(partPath(itemId, id))
          }
        }
        const read = yield* receive(joined, filePath(itemId), limits.maxBytes, 0)
        const problem = Uploads.contentProblem(item.itemName, read.head)
        if (problem !== undefined) {
          yield* Effect.promise(() => rm(read.tmp, { force: true }))
          return yield* new Uploads.UnsupportedFileType({ itemName: item.itemName, problem })
        }
        yield* Effect.tryPromise({ try: () => rename(read.tmp, filePath(itemId)), catch: errorOf(`keep ${itemId}`) })
        const done = { ...item, committed: true, size: read.bytes }
        yield* writeMeta(done)
        yield* Effect.promise(() => rm(partsFolder(itemId), { recursive: true, force: true }))
        return done
      })

    const list: Uploads.UploadsShape["list"] = (access) =>
      Effect.gen(function* () {
        const names = yield* Effect.tryPromise({ try: () => readdir(folder), catch: errorOf(`list ${folder}`) })
        const items = yield* Effect.forEach(names.filter(Uploads.isItemId), readMeta)
        return items.filter(
          (i): i is Uploads.Item =>
            i !== undefined && i.service === access.service && i.owner !== null && i.owner === access.owner
        )
      })

    const all: Uploads.UploadsShape["all"] = Effect.gen(function* () {
      const names = yield* Effect.tryPromise({ try: () => readdir(folder), catch: errorOf(`list ${folder}`) })
      const items = yield* Effect.forEach(names.filter(Uploads.isItemId), readMeta)
      return items.filter((i): i is Uploads.Item => i !== undefined).sort((a, b) => b.date - a.date)
    })

    const sweep: Uploads.UploadsShape["sweep"] = (now) =>
      Effect.gen(function* () {
        const names = yield* Effect.tryPromise({ try: () => readdir(folder), catch: errorOf(`list ${folder}`) })
        let count = 0
        for (const name of names.filter(Uploads.isItemId)) {
          const item = yield* readMeta(name)
          if (item !== undefined) {
            if (item.expires > now) continue
            yield* removeFolder(name)
            count++
            continue
          }
          // No item.json: an upload still being received, or one a crash left; only an old one is removed.
          const changed = yield* Effect.tryPromise({
            try: async () => (await stat(itemFolder(name))).mtimeMs,
            catch: errorOf(`stat ${name}`)
          }).pipe(Effect.orElseSucceed(() => now))
          if (changed + abandonedMs <= now) yield* removeFolder(name)
        }
        return count
      })

    return {
      upload,
      register,
      uploadPart,
      parts: (access, itemId) => Effect.flatMap(find(access, itemId), () => storedParts(itemId)),
      commit,
      get: find,
      list,
      all,
      resolve: committedFile,
      read: (access, itemId) =>
        Effect.flatMap(committedFile(access, itemId), (path) =>
          Effect.tryPromise({
            try: async () => new Uint8Array(await readFile(path)),
            catch: errorOf(`read ${itemId}`)
          })
        ),
      remove: (access, itemId) => Effect.flatMap(find(access, itemId), () => removeFolder(itemId)),
      sweep
    } satisfies Uploads.UploadsShape
  })

/**
 * The adapter as a layer.
 *
 * @category layers
 */
export const layer = (folder: string): Layer.Layer<Uploads.Uploads, Uploads.UploadsError> =>
  Layer.effect(Uploads.Uploads, make(folder))
