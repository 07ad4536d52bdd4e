/**
 * The Uploads contract: named Effects every adapter (memory, local folder, …) runs unchanged, needing only `Uploads`
 * and no test runner. A broken promise fails with a `ContractViolation` saying what was expected. Give each case a
 * fresh, empty adapter:
 *
 * ```ts
 * for (const [name, test] of Object.entries(UploadsSuite.cases)) it.effect(name, () => test.pipe(Effect.provide(layer)))
 * ```
 *
 * The cases run on the real clock; the sweep is checked with instants around the items' own expiry.
 *
 * @module
 */
import { Effect } from "effect"
import * as Uploads from "../Uploads.ts"
import { type ContractViolation, expect, failsWith } from "./Contract.ts"

// Contents are ASCII, so char codes are bytes (core builds without the DOM or Node text codecs).
const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0))
const text = (data: Uint8Array) => String.fromCharCode(...data)

/** Content as a request body streams it: the bytes in chunks of `size`. */
export const chunked = (data: Uint8Array, size = 7): Uploads.Content => ({
  async *[Symbol.asyncIterator]() {
    for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
  }
})

const limits: Uploads.Limits = { maxBytes: 1000, retentionMs: 3_600_000 }
const alice: Uploads.Access = { service: "Analysis/DataConversion", owner: "alice" }
const bob: Uploads.Access = { service: "Analysis/DataConversion", owner: "bob" }
const anonymous: Uploads.Access = { service: "Analysis/DataConversion", owner: null }
const elsewhere: Uploads.Access = { service: "System/Utilities", owner: "alice" }
const geojson = bytes('{"type":"FeatureCollection","features":[]}')
/** The start of a zip archive (a local file header), enough for the content check. */
const zipBytes = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, ...bytes("rest of an archive")])

const newItem = (access: Uploads.Access, itemName: string): Uploads.NewItem => ({
  itemName,
  description: "a test item",
  service: access.service,
  owner: access.owner
})

const noSuchItem = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>, what: string) =>
  failsWith(effect, "NoSuchItem", what)

/**
 * The contract cases, by name.
 *
 * @category suites
 */
export const cases: Readonly<Record<string, Effect.Effect<void, ContractViolation, Uploads.Uploads>>> = {
  "an uploaded file is a committed item that reads back byte for byte": Effect.gen(function* () {
    const uploads = yield* Uploads.Uploads
    const item = yield* uploads
      .upload(chunked(geojson), limits, Effect.succeed(newItem(alice, "points.geojson")))
      .pipe(Effect.orDie)
    yield* expect(Uploads.isItemId(item.itemID), `an item id is i + a UUID (${item.itemID})`)
    yield* expect(item.committed && item.size === geojson.length, "the item is committed with its size")
    yield* expect(item.itemName === "points.geojson" && item.description === "a test item", "name and description")
    yield* expect(item.expires === item.date + limits.retentionMs, "it expires after the retention")
    const back = yield* uploads.read(alice, item.itemID).pipe(Effect.orDie)
    yield* expect(text(back) === text(geojson), "the file reads back")
    const got = yield* uploads.get(alice, item.itemID).pipe(Effect.orDie)
    yield* expect(got.itemID === item.itemID && got.committed, "get answers the item")
    yield* expect((yield* uploads.resolve(alice, item.itemID).pipe(Effect.orDie)).length > 0, "it resolves to a file")
  }),
  "two uploads get two ids": Effect.gen(function* () {
    const uploads = yield* Uploads.Uploads
    const a = yield* uploads
      .upload(chunked(zipBytes), limits, Effect.succeed(newItem(alice, "a.zip")))
      .pipe(Effect.orDie)
    const b = yield* uploads
      .upload(chunked(zipBytes), limits, Effect.succeed(newItem(alice, "a.zip")))
      .pipe(Effect.orDie)
    yield* expect(a.itemID !== b.itemID, "ids are unique")
  }),
  "another user, another service and unknown ids all get NoSuchItem; anonymous items go by their id": Effect.gen(
    function* () {
      const uploads = yield* Uploads.Uploads
      const item = yield* uploads
        .upload(chunked(bytes("x,y\n1,2\n")), limits, Effect.succeed(newItem(alice, "a.csv")))
        .pipe(Effect.orDie)
      for (const [who, what] of [
        [bob, "another user"],
        [anonymous, "an anonymous caller"],
        [elsewhere, "the same user through another service"]
      ] as const) {
        yield* noSuchItem(uploads.get(who, item.itemID), `get by ${what}`)
        yield* noSuchItem(uploads.read(who, item.itemID), `read by ${what}`)
        yield* noSuchItem(uploads.resolve(who, item.itemID), `resolve by ${what}`)
        yield* noSuchItem(uploads.remove(who, item.itemID), `remove by ${what}`)
        yield* noSuchItem(uploads.parts(who, item.itemID), `parts by ${what}`)
      }
      yield* noSuchItem(uploads.get(alice, "i00000000-0000-4000-8000-000000000000"), "an unknown id")
      yield* noSuchItem(uploads.get(alice, "../../etc/passwd"), "a malformed id")
      const mine = yield* uploads.list(alice).pipe(Effect.orDie)
      yield* expect(
        mine.length === 1 && mine[0]?.itemID === item.itemID,
        "the owner's list has the item (and only theirs)"
      )
      yield* expect((yield* uploads.list(bob).pipe(Effect.orDie)).length === 0, "another user's list is empty")
      yield* expect(
        (yield* uploads.all.pipe(Effect.orDie)).some((i) => i.itemID === item.itemID && i.owner === item.owner),
        "an administrator's listing of every item has it"
      )
      const open = yield* uploads
        .upload(chunked(bytes("hello")), limits, Effect.succeed(newItem(anonymous, "b.txt")))
        .pipe(Effect.orDie)
      yield* expect(open.owner === null, "an anonymous upload has no owner")
      yield* expect(
        (yield* uploads.all.pipe(Effect.orDie)).some((i) => i.itemID === open.itemID),
        "the administrators' listing has anonymous items too"
      )
      yield* expect(
        (yield* uploads.get(bob, open.itemID).pipe(Effect.orDie)).itemID === open.itemID,
        "whoever holds an anonymous item's id may use it"
      )
      yield* noSuchItem(
        uploads.get({ service: elsewhere.service, owner: null }, open.itemID),
        "an anonymous item through another service"
      )
    }
  ),
  "a file past the limit is refused and leaves nothing behind": Effect.gen(function* () {
    const uploads = yield* Uploads.Uploads
    const big = bytes("x".repeat(1001))
    yield* failsWith(
      uploads.upload(chunked(big, 100), limits, Effect.succeed(newItem(alice, "big.txt"))),
      "UploadTooLarge",
      "1001 B"
    )
    yield* expect((yield* uploads.list(alice).pipe(Effect.orDie)).length === 0, "no item was made")
    const exact = bytes("x".repeat(1000))
    const ok = yield* uploads
      .upload(chunked(exact, 100), limits, Effect.succeed(newItem(alice, "ok.txt")))
      .pipe(Effect.orDie)
    yield* expect(ok.size === 1000, "a file of exactly the limit is taken")
  }),
  "types: extensions are checked, and zip, GeoPackage and JSON content by their first bytes": Effect.gen(function* () {
    const uploads = yield* Uploads.Uploads
    const refused = (name: string, content: Uint8Array, what: string) =>
      failsWith(
        uploads.upload(chunked(content), limits, Effect.succeed(newItem(alice, name))),
        "UnsupportedFileType",
        what
      )
    yield* refused("tool.exe", zipBytes, "an .exe")
    yield* refused("noextension", geojson, "a name without extension")
    yield* refused("data.zip", geojson, "a .zip that is not a zip")
    yield* refused("data.gpkg", zipBytes, "a .gpkg that is not SQLite")
    yield* refused("data.json", zipBytes, "a .json that is binary")
    yield* refused("empty.csv", new Uint8Array(), "an empty file")
    yield* expect((yield* uploads.list(alice).pipe(Effect.orDie)).length === 0, "nothing refused was kept")
    const gpkg = Uint8Array.from([...bytes("SQLite format 3"), 0, 1, 2, 3])
    yield* uploads.upload(chunked(gpkg), limits, Effect.succeed(newItem(alice, "data.gpkg"))).pipe(Effect.orDie)
    yield* uploads.upload(chunked(zipBytes), limits, Effect.succeed(newItem(alice, "DATA.ZIP"))).pipe(Effect.orDie)
    yield* uploads
      .upload(chunked(bytes(' <?xml version="1.0"?><kml/>')), limits, Effect.succeed(newItem(alice, "x.kml")))
      .pipe(Effect.orDie)
    yield* failsWith(uploads.register(newItem(alice, "big.exe"), limits), "UnsupportedFileType", "registering an .exe")
  }),
  "an upload in parts: register, parts in any order, commit in the listed (or ascending) order": Effect.gen(
    function* () {
      const uploads = yield* Uploads.Uploads
      const item = yield* uploads.register(newItem(alice, "big.csv"), limits).pipe(Effect.orDie)
      yield* expect(!item.committed && item.size === 0, "a registered item is not committed")
      yield* failsWith(uploads.read(alice, item.itemID), "InvalidItemState", "reading an item not committed")
      yield* failsWith(uploads.commit(alice, item.itemID, undefined, limits), "InvalidItemState", "commit, no parts")
      yield* uploads
        .uploadPart(item.itemID, chunked(bytes("3,4\n")), limits, Effect.succeed({ access: alice, partId: 2 }))
        .pipe(Effect.orDie)
      yield* uploads
        .uploadPart(item.itemID, chunked(bytes("wrong")), limits, Effect.succeed({ access: alice, partId: 1 }))
        .pipe(Effect.orDie)
      yield* uploads
        .uploadPart(item.itemID, chunked(bytes("x,y\n1,2\n")), limits, Effect.succeed({ access: alice, partId: 1 }))
        .pipe(Effect.orDie)
      yield* noSuchItem(
        uploads.uploadPart(item.itemID, chunked(bytes("x")), limits, Effect.succeed({ access: bob, partId: 3 })),
        "another user's part"
      )
      yield* failsWith(
        uploads.uploadPart(item.itemID, chunked(bytes("x")), limits, Effect.succeed({ access: alice, partId: 0 })),
        "InvalidItemState",
        "part 0"
      )
      const parts = yield* uploads.parts(alice, item.itemID).pipe(Effect.orDie)
      yield* expect(parts.join(",") === "1,2", `the parts are listed in order (${parts.join(",")})`)
      yield* failsWith(uploads.commit(alice, item.itemID, [1, 5], limits), "InvalidItemState", "a part not sent")
      const committed = yield* uploads.commit(alice, item.itemID, undefined, limits).pipe(Effect.orDie)
      yield* expect(committed.committed && committed.size === 12, `committed with the parts' size (${committed.size})`)
      yield* expect(
        text(yield* uploads.read(alice, item.itemID).pipe(Effect.orDie)) === "x,y\n1,2\n3,4\n",
        "the file is the parts joined in ascending order (a part sent twice counts by its last)"
      )
      yield* failsWith(
        uploads.uploadPart(item.itemID, chunked(bytes("x")), limits, Effect.succeed({ access: alice, partId: 3 })),
        "InvalidItemState",
        "a part after the commit"
      )
      yield* failsWith(uploads.commit(alice, item.itemID, undefined, limits), "InvalidItemState", "a second commit")
      const other = yield* uploads.register(newItem(alice, "b.txt"), limits).pipe(Effect.orDie)
      yield* uploads
        .uploadPart(other.itemID, chunked(bytes("one ")), limits, Effect.succeed({ access: alice, partId: 1 }))
        .pipe(Effect.orDie)
      yield* uploads
        .uploadPart(other.itemID, chunked(bytes("two ")), limits, Effect.succeed({ access: alice, partId: 2 }))
        .pipe(Effect.orDie)
      yield* uploads.commit(alice, other.itemID, [2, 1], limits).pipe(Effect.orDie)
      yield* expect(
        text(yield* uploads.read(alice, other.itemID).pipe(Effect.orDie)) === "two one ",
        "listed parts are joined in the listed order"
      )
    }
  ),
  "parts count against the limit together; a refused commit keeps the parts": Effect.gen(function* () {
    const uploads = yield* Uploads.Uploads
    const item = yield* uploads.register(newItem(alice, "big.zip"), limits).pipe(Effect.orDie)
    yield* uploads
      .uploadPart(item.itemID, chunked(bytes("x".repeat(600))), limits, Effect.succeed({ access: alice, partId: 1 }))
      .pipe(Effect.orDie)
    yield* failsWith(
      uploads.uploadPart(
        item.itemID,
        chunked(bytes("x".repeat(500))),
        limits,
        Effect.succeed({ access: alice, partId: 2 })
      ),
      "UploadTooLarge",
      "parts past the limit together"
    )
    yield* failsWith(
      uploads.commit(alice, item.itemID, undefined, limits),
      "UnsupportedFileType",
      "a .zip whose parts are no zip"
    )
    yield* uploads
      .uploadPart(item.itemID, chunked(zipBytes), limits, Effect.succeed({ access: alice, partId: 1 }))
      .pipe(Effect.orDie)
    const committed = yield* uploads.commit(alice, item.itemID, undefined, limits).pipe(Effect.orDie)
    yield* expect(committed.committed, "after replacing the bad part the commit succeeds")
  }),
  "what describes an item is asked after its content, and its failure keeps nothing": Effect.gen(function* () {
    const uploads = yield* Uploads.Uploads
    let asked = false
    const content: Uploads.Content = {
      async *[Symbol.asyncIterator]() {
        yield bytes("late ")
        yield* chunked(bytes("description"))
        // Everything was read before describe runs.
        if (asked) throw new Error("describe ran before the content was read")
      }
    }
    const item = yield* uploads
      .upload(
        content,
        limits,
        Effect.sync(() => {
          asked = true
          return { ...newItem(alice, "late.txt"), description: "told after the file" }
        })
      )
      .pipe(Effect.orDie)
    yield* expect(item.description === "told after the file", "the description told after the content")
    yield* failsWith(
      uploads.upload(chunked(bytes("x")), limits, Effect.fail({ _tag: "Refused" as const })),
      "Refused",
      "a describe that fails"
    )
    yield* expect((yield* uploads.list(alice).pipe(Effect.orDie)).length === 1, "nothing kept of the refused upload")
  }),
  "remove takes the item and only that one": Effect.gen(function* () {
    const uploads = yield* Uploads.Uploads
    const a = yield* uploads
      .upload(chunked(bytes("a")), limits, Effect.succeed(newItem(alice, "a.txt")))
      .pipe(Effect.orDie)
    const b = yield* uploads
      .upload(chunked(bytes("b")), limits, Effect.succeed(newItem(alice, "b.txt")))
      .pipe(Effect.orDie)
    yield* uploads.remove(alice, a.itemID).pipe(Effect.orDie)
    yield* noSuchItem(uploads.get(alice, a.itemID), "a removed item")
    yield* noSuchItem(uploads.remove(alice, a.itemID), "removing it again")
    yield* expect(text(yield* uploads.read(alice, b.itemID).pipe(Effect.orDie)) === "b", "the other item stays")
  }),
  "the sweep removes items (committed or not) whose retention ran out, and no others": Effect.gen(function* () {
    const uploads = yield* Uploads.Uploads
    const short = { ...limits, retentionMs: 1000 }
    const old = yield* uploads
      .upload(chunked(bytes("old")), short, Effect.succeed(newItem(alice, "old.txt")))
      .pipe(Effect.orDie)
    const pending = yield* uploads.register(newItem(alice, "pending.txt"), short).pipe(Effect.orDie)
    const kept = yield* uploads
      .upload(chunked(bytes("kept")), limits, Effect.succeed(newItem(alice, "kept.txt")))
      .pipe(Effect.orDie)
    yield* expect((yield* uploads.sweep(old.expires - 1).pipe(Effect.orDie)) === 0, "nothing before the expiry")
    const swept = yield* uploads.sweep(Math.max(old.expires, pending.expires)).pipe(Effect.orDie)
    yield* expect(swept === 2, `two expired items removed (${swept})`)
    yield* noSuchItem(uploads.get(alice, old.itemID), "an expired item")
    yield* noSuchItem(uploads.get(alice, pending.itemID), "an expired registration")
    yield* expect((yield* uploads.get(alice, kept.itemID).pipe(Effect.orDie)).committed, "an item still kept")
  })
}
