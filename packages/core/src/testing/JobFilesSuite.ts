/**
 * The JobFiles contract: named Effects every adapter (memory, local folder, …) runs unchanged, needing only
 * `JobFiles` and no test runner. A broken promise fails with a `ContractViolation` saying what was expected. Give each
 * case a fresh, empty adapter:
 *
 * ```ts
 * for (const [name, test] of Object.entries(JobFilesSuite.cases)) it.effect(name, () => test.pipe(Effect.provide(layer)))
 * ```
 *
 * @module
 */
import { Data, Effect } from "effect"
import { JobFiles } from "../JobFiles.ts"

/**
 * An adapter broke the contract.
 *
 * @category errors
 */
export class ContractViolation extends Data.TaggedError("ContractViolation")<{ readonly expectation: string }> {
  override get message(): string {
    return `JobFiles contract: ${this.expectation}`
  }
}

const expect = (ok: boolean, expectation: string): Effect.Effect<void, ContractViolation> =>
  ok ? Effect.void : Effect.fail(new ContractViolation({ expectation }))

const a = "j0123456789abcdef0123456789abcdef"
const b = "jfedcba9876543210fedcba9876543210"
// Contents are ASCII, so char codes are bytes (core builds without the DOM or Node text codecs).
const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0))
const text = (data: Uint8Array) => String.fromCharCode(...data)

/** Fails unless `effect` fails with NoSuchFile. */
const refused = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>, what: string) =>
  Effect.flatMap(
    Effect.result(effect),
    (r): Effect.Effect<void, ContractViolation> =>
      expect(r._tag === "Failure" && r.failure._tag === "NoSuchFile", `${what} is NoSuchFile`)
  )

/** Paths that must never be read: every escape a relative path can try. */
export const escapes: ReadonlyArray<string> = [
  "",
  ".",
  "..",
  "../x.txt",
  "a/../../x.txt",
  "a/./x.txt",
  "a//x.txt",
  "/etc/passwd",
  "\\etc\\passwd",
  "C:/Windows/win.ini",
  "x.txt\u0000.png",
  `../${b}/secret.txt`
]

/**
 * The contract cases, by name.
 *
 * @category suites
 */
export const cases: Readonly<Record<string, Effect.Effect<void, ContractViolation, JobFiles>>> = {
  "a written file reads back byte for byte, nested folders included": Effect.gen(function* () {
    const files = yield* JobFiles
    yield* files.write(a, "out.txt", bytes("hello")).pipe(Effect.orDie)
    yield* files.write(a, "sub/dir/Ünïcode name.json", bytes("{}")).pipe(Effect.orDie)
    yield* expect(text(yield* files.read(a, "out.txt").pipe(Effect.orDie)) === "hello", "out.txt reads back")
    yield* expect(
      text(yield* files.read(a, "sub/dir/Ünïcode name.json").pipe(Effect.orDie)) === "{}",
      "a nested file reads back"
    )
    const where = yield* files.resolve(a, "out.txt").pipe(Effect.orDie)
    yield* expect(where.startsWith(files.folder(a)), "a resolved file lies in the job's folder")
  }),
  "each job has its own folder": Effect.gen(function* () {
    const files = yield* JobFiles
    yield* expect(files.folder(a) !== files.folder(b), "two jobs have two folders")
    yield* files.write(a, "x.txt", bytes("a")).pipe(Effect.orDie)
    yield* refused(files.read(b, "x.txt"), "another job's file")
  }),
  "missing files, folders and malformed job ids are NoSuchFile": Effect.gen(function* () {
    const files = yield* JobFiles
    yield* refused(files.read(a, "none.txt"), "a file of a job with no files")
    yield* files.write(a, "dir/x.txt", bytes("x")).pipe(Effect.orDie)
    yield* refused(files.read(a, "none.txt"), "a missing file")
    yield* refused(files.resolve(a, "dir"), "a folder")
    yield* refused(files.read("../jobs", "x.txt"), "a malformed job id")
    yield* refused(files.write("j1/../..", "x.txt", bytes("x")), "writing under a malformed job id")
  }),
  "no path escapes the job's folder": Effect.gen(function* () {
    const files = yield* JobFiles
    yield* files.write(a, "a/x.txt", bytes("x")).pipe(Effect.orDie)
    yield* files.write(b, "secret.txt", bytes("secret")).pipe(Effect.orDie)
    for (const path of escapes) {
      yield* refused(files.resolve(a, path), `resolve ${JSON.stringify(path)}`)
      yield* refused(files.read(a, path), `read ${JSON.stringify(path)}`)
      yield* refused(files.write(a, path, bytes("x")), `write ${JSON.stringify(path)}`)
    }
  }),
  "remove takes every file of the job and only that job's; removing nothing is fine": Effect.gen(function* () {
    const files = yield* JobFiles
    yield* files.write(a, "x.txt", bytes("x")).pipe(Effect.orDie)
    yield* files.write(a, "d/y.txt", bytes("y")).pipe(Effect.orDie)
    yield* files.write(b, "x.txt", bytes("b")).pipe(Effect.orDie)
    yield* files.remove(a).pipe(Effect.orDie)
    yield* refused(files.read(a, "x.txt"), "a removed file")
    yield* refused(files.read(a, "d/y.txt"), "a removed nested file")
    yield* expect(text(yield* files.read(b, "x.txt").pipe(Effect.orDie)) === "b", "the other job keeps its file")
    yield* files.remove(a).pipe(Effect.orDie)
    yield* files.remove("jffffffffffffffffffffffffffffffff").pipe(Effect.orDie)
  })
}
