import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
import { JobUrls } from "../src/index.ts"
import { Arbitraries } from "../src/testing/index.ts"

const base = "https://organization.example.com/arcgis"
const id = "j0550714f334d4114af9f7a5d05cb145e"
const publishing = { folder: "System", name: "PublishingTools" }

const parseSync = (url: string, b = base) => Effect.runSync(Effect.exit(JobUrls.parse(b, url)))

// Fails the test (runSync throws) when the URL is accepted.
const rejected = (url: string, b = base) => Effect.runSync(Effect.flip(JobUrls.parse(b, url)))

describe("JobUrls", () => {
  it("builds the three job URLs of the seed's service", () => {
    assert.strictEqual(
      JobUrls.adminJob(base, publishing, id),
      `${base}/admin/services/System/PublishingTools.GPServer/jobs/${id}`
    )
    assert.strictEqual(
      JobUrls.restJob(base, publishing, "Publish Tiles", id),
      `${base}/rest/services/System/PublishingTools/GPServer/Publish%20Tiles/jobs/${id}`
    )
    assert.strictEqual(
      JobUrls.restServiceJob(base, publishing, id),
      `${base}/rest/services/System/PublishingTools/GPServer/jobs/${id}`
    )
  })

  it("leaves out a missing folder, keeps a literal context such as <context>, ignores a trailing slash", () => {
    assert.strictEqual(
      JobUrls.restServiceJob("https://organization.example.com/<context>/", { name: "Buffer" }, id),
      `https://organization.example.com/<context>/rest/services/Buffer/GPServer/jobs/${id}`
    )
  })

  it("builds the sub-resources", () => {
    const at = (resource: JobUrls.Resource, api: "admin" | "rest" = "rest") =>
      JobUrls.build(base, {
        api,
        service: { name: "Geometry" },
        task: api === "rest" ? "Buffer" : undefined,
        jobId: id,
        resource
      })
    const job = `${base}/rest/services/Geometry/GPServer/Buffer/jobs/${id}`
    assert.strictEqual(at({ kind: "cancel" }), `${job}/cancel`)
    assert.strictEqual(at({ kind: "results" }), `${job}/results`)
    assert.strictEqual(at({ kind: "results", param: "Output Features" }), `${job}/results/Output%20Features`)
    assert.strictEqual(at({ kind: "inputs", param: "Distance" }), `${job}/inputs/Distance`)
    assert.strictEqual(at({ kind: "delete" }, "admin"), `${base}/admin/services/Geometry.GPServer/jobs/${id}/delete`)
  })

  it.effect("parses each URL family, ignoring a query string", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(
        yield* JobUrls.parse(base, `${base}/admin/services/System/PublishingTools.GPServer/jobs/${id}?f=pjson`),
        { api: "admin", service: publishing, jobId: id, resource: { kind: "job" } }
      )
      assert.deepStrictEqual(
        yield* JobUrls.parse(base, `${base}/rest/services/Geometry/GPServer/Buffer%20Points/jobs/${id}/results/Out`),
        {
          api: "rest",
          service: { name: "Geometry" },
          task: "Buffer Points",
          jobId: id,
          resource: { kind: "results", param: "Out" }
        }
      )
      assert.deepStrictEqual(yield* JobUrls.parse(base, `${base}/rest/services/Geometry/GPServer/jobs/${id}/cancel`), {
        api: "rest",
        service: { name: "Geometry" },
        jobId: id,
        resource: { kind: "cancel" }
      })
      // A task may be called "jobs": the job id decides which level is meant.
      assert.deepStrictEqual(yield* JobUrls.parse(base, `${base}/rest/services/A/GPServer/jobs/jobs/${id}`), {
        api: "rest",
        service: { name: "A" },
        task: "jobs",
        jobId: id,
        resource: { kind: "job" }
      })
    })
  )

  const rejects: ReadonlyArray<readonly [string, string, string]> = [
    ["an empty segment", `${base}/rest/services/System//GPServer/jobs/${id}`, "path"],
    ["a trailing slash", `${base}/rest/services/Geometry/GPServer/jobs/${id}/`, "path"],
    ["a dot-dot folder", `${base}/rest/services/../Geometry/GPServer/jobs/${id}`, "folder"],
    ["an encoded dot-dot task", `${base}/rest/services/Geometry/GPServer/%2E%2E/jobs/${id}`, "task"],
    ["an encoded slash in a name", `${base}/rest/services/Geo%2Fmetry/GPServer/jobs/${id}`, "service"],
    ["a control character", `${base}/rest/services/Geo%0Ametry/GPServer/jobs/${id}`, "service"],
    ["bad percent-encoding", `${base}/rest/services/Geo%E0metry/GPServer/jobs/${id}`, "service"],
    ["an over-long task name", `${base}/rest/services/Geometry/GPServer/${"t".repeat(121)}/jobs/${id}`, "task"],
    ["an upper-case job id", `${base}/rest/services/Geometry/GPServer/jobs/${id.toUpperCase()}`, "jobId"],
    ["a short job id", `${base}/admin/services/Geometry.GPServer/jobs/j123`, "jobId"],
    ["a MapServer", `${base}/admin/services/Geometry.MapServer/jobs/${id}`, "serviceType"],
    ["a missing GPServer", `${base}/rest/services/A/B/C/jobs/${id}`, "serviceType"],
    ["another base URL", `https://elsewhere.example.com/arcgis/rest/services/A/GPServer/jobs/${id}`, "baseUrl"],
    ["results under admin", `${base}/admin/services/A.GPServer/jobs/${id}/results`, "path"],
    ["delete under rest", `${base}/rest/services/A/GPServer/jobs/${id}/delete`, "path"],
    ["too deep", `${base}/rest/services/A/GPServer/jobs/${id}/results/a/b`, "path"],
    ["not a services URL", `${base}/rest/info`, "path"]
  ]
  for (const [what, url, part] of rejects) {
    it(`rejects ${what}, naming the ${part}`, () => {
      const error = rejected(url)
      assert.strictEqual(error._tag, "InvalidReference")
      assert.strictEqual(error.part, part)
      assert.include(error.message, part)
    })
  }

  it("rejects a base URL that is not http(s)", () => {
    assert.strictEqual(rejected(`ftp://x/rest/services/A/GPServer/jobs/${id}`, "ftp://x").part, "baseUrl")
  })

  it("property: parse ∘ build is the identity for any service, task, parameter and id", () => {
    fc.assert(
      fc.property(
        Arbitraries.jobLocation,
        fc.constantFrom(base, "http://127.0.0.1:6080/arcgis", "https://h/<context>"),
        (location, b) => {
          const url = JobUrls.build(b, location)
          const exit = parseSync(url, b)
          assert.isTrue(Exit.isSuccess(exit), `${url} should parse`)
          if (Exit.isSuccess(exit)) {
            assert.deepStrictEqual(exit.value, location)
            assert.strictEqual(JobUrls.build(b, exit.value), url)
          }
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("property: names with spaces and non-ASCII letters are percent-encoded (the URL stays ASCII without spaces)", () => {
    fc.assert(
      fc.property(Arbitraries.jobLocation, (location) => {
        assert.match(JobUrls.build("https://h/arcgis", location), /^[\x21-\x7e]+$/)
      })
    )
  })
})
