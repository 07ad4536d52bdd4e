import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
import { OgcResource } from "../src/index.ts"
import { Arbitraries } from "../src/testing/index.ts"

type Resource = OgcResource.OgcResource

const root = "https://organization.example.com/ogcapi"
const id = "j0550714f334d4114af9f7a5d05cb145e"
const buffer = { service: { folder: "Analysis", name: "Geometry" }, task: "Buffer" }
const privateEcho = { service: { name: "Private" }, task: "Echo" }

const parsed = (path: string, options?: OgcResource.ParseOptions): Resource =>
  Effect.runSync(OgcResource.parse(path, options))
const rejected = (path: string, options?: OgcResource.ParseOptions) =>
  Effect.runSync(Effect.flip(OgcResource.parse(path, options)))

const examples: ReadonlyArray<readonly [Resource, string]> = [
  [{ _tag: "Landing" }, ""],
  [{ _tag: "Conformance" }, "conformance"],
  [{ _tag: "Api" }, "api"],
  [{ _tag: "Processes" }, "processes"],
  [{ _tag: "Process", process: buffer }, "processes/Analysis.Geometry.Buffer"],
  [{ _tag: "Process", process: privateEcho }, "processes/Private.Echo"],
  [{ _tag: "Execution", process: buffer }, "processes/Analysis.Geometry.Buffer/execution"],
  [
    { _tag: "Execution", process: { service: { folder: "My Tools", name: "v1.2" }, task: "Über~task" } },
    "processes/My~20Tools.v1~2E2.~C3~9Cber~7Etask/execution"
  ],
  [{ _tag: "Jobs" }, "jobs"],
  [{ _tag: "Job", jobId: id }, `jobs/${id}`],
  [{ _tag: "Results", jobId: id }, `jobs/${id}/results`]
]

describe("OgcResource", () => {
  it("builds and parses every kind of location, both ways", () => {
    for (const [resource, path] of examples) {
      assert.strictEqual(OgcResource.build(resource), path)
      assert.deepStrictEqual(parsed(path), resource, path)
      assert.strictEqual(OgcResource.url(root, resource), `${root}/${path}`)
      assert.deepStrictEqual(Effect.runSync(OgcResource.parseUrl(`${root}/`, `${root}/${path}?f=json`)), resource)
    }
  })

  it("process ids: folder, service and task joined by dots; every other character as ~XX of its UTF-8 bytes", () => {
    assert.strictEqual(OgcResource.processId(buffer), "Analysis.Geometry.Buffer")
    assert.strictEqual(OgcResource.processId(privateEcho), "Private.Echo")
    assert.strictEqual(OgcResource.encodeSegment("a.b c~d"), "a~2Eb~20c~7Ed")
    assert.strictEqual(OgcResource.encodeSegment("日本"), "~E6~97~A5~E6~9C~AC")
    assert.match(OgcResource.processId({ service: { folder: "ü ß", name: "x.y" }, task: "(1)" }), /^[A-Za-z0-9_.~-]+$/)
    // A folder and a service may share a task name: the ids stay apart.
    const a = OgcResource.processId({ service: { folder: "A", name: "B" }, task: "Echo" })
    const b = OgcResource.processId({ service: { name: "A.B" }, task: "Echo" })
    assert.notStrictEqual(a, b)
    assert.deepStrictEqual(Effect.runSync(OgcResource.parseProcessId(b)), { service: { name: "A.B" }, task: "Echo" })
  })

  it("property: parseProcessId ∘ processId is the identity, and ids are URL-safe", () => {
    fc.assert(
      fc.property(Arbitraries.servicePath, Arbitraries.name, (service, task) => {
        const process = { service, task }
        const processId = OgcResource.processId(process)
        assert.match(processId, /^[A-Za-z0-9_.~-]+$/)
        assert.strictEqual(encodeURIComponent(processId).replaceAll("%7E", "~"), processId.replaceAll("%7E", "~"))
        const back = Effect.runSync(OgcResource.parseProcessId(processId))
        assert.deepStrictEqual(back, service.folder === undefined ? { service: { name: service.name }, task } : process)
      })
    )
  })

  it("a string that is no process id is no such process (404), a malformed job id no such job", () => {
    for (const bad of ["Echo", "a.b.c.d", "a..b", "A.~41", "A.~4", "A.~zz", "A.b c", "A.GPServer.Echo", "A.~C3"]) {
      const error = Effect.runSync(Effect.flip(OgcResource.parseProcessId(bad)))
      assert.strictEqual(error._tag, "NoSuchProcess", bad)
    }
    assert.strictEqual(rejected("processes/nope")._tag, "NoSuchProcess")
    assert.strictEqual(rejected("jobs/123e4567-e89b-12d3-a456-426614174000")._tag, "NoSuchJob")
    assert.strictEqual(rejected(`jobs/${id}/results/x`)._tag, "NoSuchResource")
    assert.strictEqual(rejected("collections")._tag, "NoSuchResource")
    assert.strictEqual(rejected("processes/")._tag, "NoSuchResource")
    assert.strictEqual(rejected("conformance/")._tag, "NoSuchResource")
  })

  it("requests: the root with or without its slash is the landing page; lenient about a slash and %7E", () => {
    const read = (url: string) => Effect.runSync(OgcResource.parseRequest("/ogcapi", url))
    assert.deepStrictEqual(read("/ogcapi"), { _tag: "Landing" })
    assert.deepStrictEqual(read("/ogcapi/?f=html"), { _tag: "Landing" })
    assert.deepStrictEqual(read("/ogcapi/processes/?limit=2"), { _tag: "Processes" })
    assert.deepStrictEqual(read("/ogcapi/processes/A%7E20B.Echo"), {
      _tag: "Process",
      process: { service: { name: "A B" }, task: "Echo" }
    })
    assert.isTrue(Exit.isFailure(Effect.runSync(Effect.exit(OgcResource.parseRequest("/ogcapi", "/ogcapix/jobs")))))
    assert.isTrue(Exit.isFailure(Effect.runSync(Effect.exit(OgcResource.parseUrl(root, "https://other/ogcapi/jobs")))))
  })

  it("isJobResource picks the job and its results", () => {
    assert.isTrue(OgcResource.isJobResource({ _tag: "Results", jobId: id }))
    assert.isFalse(OgcResource.isJobResource({ _tag: "Jobs" }))
  })
})
