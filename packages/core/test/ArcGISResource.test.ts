import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
import { ArcGISResource, ErrorEnvelope } from "../src/index.ts"
import { Arbitraries } from "../src/testing/index.ts"

type Resource = ArcGISResource.ArcGISResource

const base = "https://organization.example.com/arcgis"
const id = "j0550714f334d4114af9f7a5d05cb145e"
const item = "i912f0648-a455-4d08-ae95-44eb5b82de2e"
const publishing = { folder: "System", name: "PublishingTools" }
const geometry = { name: "Geometry" }

const parseExit = (path: string, options?: ArcGISResource.ParseOptions) =>
  Effect.runSync(Effect.exit(ArcGISResource.parse(path, options)))
const parsed = (path: string, options?: ArcGISResource.ParseOptions): Resource =>
  Effect.runSync(ArcGISResource.parse(path, options))
// Fails the test (runSync throws) when the path is accepted.
const rejected = (path: string, options?: ArcGISResource.ParseOptions) =>
  Effect.runSync(Effect.flip(ArcGISResource.parse(path, options)))

// Every kind, with the path it builds to: each row is checked both ways.
const examples: ReadonlyArray<readonly [Resource, string]> = [
  [{ _tag: "Info" }, "rest/info"],
  [{ _tag: "Catalog" }, "rest/services"],
  [{ _tag: "Folder", folder: "System" }, "rest/services/System"],
  [{ _tag: "Folder", folder: "login" }, "rest/services/login"],
  [{ _tag: "Service", service: publishing }, "rest/services/System/PublishingTools/GPServer"],
  [{ _tag: "Service", service: { name: "login" } }, "rest/services/login/GPServer"],
  [{ _tag: "Service", service: { folder: "login", name: "logout" } }, "rest/services/login/logout/GPServer"],
  [{ _tag: "Task", service: geometry, task: "Buffer Points" }, "rest/services/Geometry/GPServer/Buffer%20Points"],
  [{ _tag: "SubmitJob", service: geometry, task: "Buffer" }, "rest/services/Geometry/GPServer/Buffer/submitJob"],
  [{ _tag: "Execute", service: geometry, task: "Buffer" }, "rest/services/Geometry/GPServer/Buffer/execute"],
  [
    ArcGISResource.jobOf(publishing, "Publish Tiles", id),
    `rest/services/System/PublishingTools/GPServer/Publish%20Tiles/jobs/${id}`
  ],
  [ArcGISResource.jobOf(publishing, undefined, id), `rest/services/System/PublishingTools/GPServer/jobs/${id}`],
  [
    ArcGISResource.jobOf(geometry, "Buffer", id, { kind: "cancel" }),
    `rest/services/Geometry/GPServer/Buffer/jobs/${id}/cancel`
  ],
  [
    ArcGISResource.jobOf(geometry, "Buffer", id, { kind: "results" }),
    `rest/services/Geometry/GPServer/Buffer/jobs/${id}/results`
  ],
  [
    ArcGISResource.jobOf(geometry, "Buffer", id, { kind: "results", param: "Output Features" }),
    `rest/services/Geometry/GPServer/Buffer/jobs/${id}/results/Output%20Features`
  ],
  [
    ArcGISResource.jobOf(geometry, undefined, id, { kind: "inputs" }),
    `rest/services/Geometry/GPServer/jobs/${id}/inputs`
  ],
  [
    ArcGISResource.jobOf(geometry, undefined, id, { kind: "inputs", param: "Distance" }),
    `rest/services/Geometry/GPServer/jobs/${id}/inputs/Distance`
  ],
  // A task named `jobs`: its document, its operations and its jobs stay apart from the service-level jobs.
  [{ _tag: "Task", service: geometry, task: "jobs" }, "rest/services/Geometry/GPServer/jobs"],
  [{ _tag: "SubmitJob", service: geometry, task: "jobs" }, "rest/services/Geometry/GPServer/jobs/submitJob"],
  [{ _tag: "Execute", service: geometry, task: "jobs" }, "rest/services/Geometry/GPServer/jobs/execute"],
  [ArcGISResource.jobOf(geometry, "jobs", id), `rest/services/Geometry/GPServer/jobs/jobs/${id}`],
  // A folder named GPServer is a folder; a task named GPServer is a task.
  [{ _tag: "Service", service: { folder: "GPServer", name: "A" } }, "rest/services/GPServer/A/GPServer"],
  [{ _tag: "Task", service: { name: "A" }, task: "GPServer" }, "rest/services/A/GPServer/GPServer"],
  [
    ArcGISResource.outputFileOf({ name: "Geometry" }, id, "out/buffer zones.zip"),
    `rest/directories/arcgisjobs/geometry_gpserver/${id}/scratch/out/buffer%20zones.zip`
  ],
  [
    { _tag: "AdminJobs", service: publishing, operation: "list" },
    "admin/services/System/PublishingTools.GPServer/jobs"
  ],
  [{ _tag: "AdminJobs", service: geometry, operation: "query" }, "admin/services/Geometry.GPServer/jobs/query"],
  [
    { _tag: "AdminJobs", service: geometry, operation: "statistics" },
    "admin/services/Geometry.GPServer/jobs/statistics"
  ],
  [
    { _tag: "AdminJobs", service: geometry, operation: "purgeQueue" },
    "admin/services/Geometry.GPServer/jobs/purgeQueue"
  ],
  [ArcGISResource.adminJobOf(publishing, id), `admin/services/System/PublishingTools.GPServer/jobs/${id}`],
  [ArcGISResource.adminJobOf(geometry, id, { kind: "cancel" }), `admin/services/Geometry.GPServer/jobs/${id}/cancel`],
  [ArcGISResource.adminJobOf(geometry, id, { kind: "delete" }), `admin/services/Geometry.GPServer/jobs/${id}/delete`],
  [ArcGISResource.adminJobOf({ name: "a.GPServer" }, id), `admin/services/a.GPServer.GPServer/jobs/${id}`],
  [
    ArcGISResource.adminJobOf({ folder: "x.GPServer", name: "jobs" }, id),
    `admin/services/x.GPServer/jobs.GPServer/jobs/${id}`
  ],
  ...ArcGISResource.securityOperations.map(
    (operation) => [{ _tag: "Security", operation }, `admin/security/${operation}`] as const
  ),
  ...ArcGISResource.tokenEndpoints.map((endpoint) => [{ _tag: "Token", endpoint }, endpoint] as const),
  [{ _tag: "SignIn", api: "rest" }, "rest/login"],
  [{ _tag: "SignOut", api: "rest" }, "rest/logout"],
  [{ _tag: "SignIn", api: "admin" }, "admin/login"],
  [{ _tag: "SignOut", api: "admin" }, "admin/logout"],
  [{ _tag: "PortalInfo" }, "sharing/rest/info"],
  // The Administrator API directory above the jobs.
  [{ _tag: "AdminRoot" }, "admin"],
  [{ _tag: "AdminServices" }, "admin/services"],
  [{ _tag: "AdminFolder", folder: "System" }, "admin/services/System"],
  [{ _tag: "AdminFolder", folder: "jobs" }, "admin/services/jobs"],
  [{ _tag: "AdminFolder", folder: "Projekte Süd" }, "admin/services/Projekte%20S%C3%BCd"],
  [
    { _tag: "AdminService", service: publishing, operation: "service" },
    "admin/services/System/PublishingTools.GPServer"
  ],
  [{ _tag: "AdminService", service: geometry, operation: "service" }, "admin/services/Geometry.GPServer"],
  [{ _tag: "AdminService", service: geometry, operation: "start" }, "admin/services/Geometry.GPServer/start"],
  [
    { _tag: "AdminService", service: publishing, operation: "stop" },
    "admin/services/System/PublishingTools.GPServer/stop"
  ],
  [{ _tag: "AdminService", service: geometry, operation: "statistics" }, "admin/services/Geometry.GPServer/statistics"],
  // A service named like an operation, a folder named like a service: the position tells them apart.
  [
    { _tag: "AdminService", service: { folder: "a.GPServer", name: "stop" }, operation: "service" },
    "admin/services/a.GPServer/stop.GPServer"
  ],
  [
    { _tag: "AdminService", service: { name: "a.GPServer" }, operation: "stop" },
    "admin/services/a.GPServer.GPServer/stop"
  ],
  [{ _tag: "AdminSecurity" }, "admin/security"],
  [{ _tag: "AdminMachines" }, "admin/machines"],
  [{ _tag: "AdminUploads" }, "admin/uploads"],
  // A service's uploads (ArcGIS's Uploads capability); a task named `uploads` keeps its operations.
  [ArcGISResource.uploadsOf(geometry), "rest/services/Geometry/GPServer/uploads"],
  [
    ArcGISResource.uploadsOf(publishing, { kind: "info" }),
    "rest/services/System/PublishingTools/GPServer/uploads/info"
  ],
  [ArcGISResource.uploadsOf(geometry, { kind: "upload" }), "rest/services/Geometry/GPServer/uploads/upload"],
  [ArcGISResource.uploadsOf(geometry, { kind: "register" }), "rest/services/Geometry/GPServer/uploads/register"],
  [
    ArcGISResource.uploadsOf(geometry, { kind: "item", itemId: item }),
    `rest/services/Geometry/GPServer/uploads/${item}`
  ],
  [
    ArcGISResource.uploadsOf(geometry, { kind: "uploadPart", itemId: item }),
    `rest/services/Geometry/GPServer/uploads/${item}/uploadPart`
  ],
  [
    ArcGISResource.uploadsOf(geometry, { kind: "commit", itemId: item }),
    `rest/services/Geometry/GPServer/uploads/${item}/commit`
  ],
  [
    ArcGISResource.uploadsOf(geometry, { kind: "parts", itemId: item }),
    `rest/services/Geometry/GPServer/uploads/${item}/parts`
  ],
  [
    ArcGISResource.uploadsOf(geometry, { kind: "delete", itemId: item }),
    `rest/services/Geometry/GPServer/uploads/${item}/delete`
  ],
  [{ _tag: "SubmitJob", service: geometry, task: "uploads" }, "rest/services/Geometry/GPServer/uploads/submitJob"],
  // The seed page's sample request: the admin spelling of the service under the REST root.
  [{ _tag: "SeedJob", service: publishing, jobId: id }, `rest/services/System/PublishingTools.GPServer/jobs/${id}`],
  [{ _tag: "SeedJob", service: geometry, jobId: id }, `rest/services/Geometry.GPServer/jobs/${id}`]
]

describe("ArcGISResource", () => {
  for (const [resource, path] of examples) {
    it(`${resource._tag} ⇄ ${path}`, () => {
      assert.strictEqual(ArcGISResource.build(resource), path)
      assert.deepStrictEqual(parsed(path), resource)
    })
  }

  it("a service or folder named login is an ordinary one; sign-in lives at rest/login and admin/login", () => {
    assert.strictEqual(parsed("rest/services/login")._tag, "Folder")
    assert.strictEqual(parsed("rest/services/logout")._tag, "Folder")
    assert.strictEqual(parsed("rest/services/login/GPServer")._tag, "Service")
    assert.deepStrictEqual(parsed("rest/login"), { _tag: "SignIn", api: "rest" })
  })

  it("every token endpoint builds back as it was asked (tokens and tokens/ are two)", () => {
    assert.deepStrictEqual(parsed("tokens/"), { _tag: "Token", endpoint: "tokens/" })
    assert.deepStrictEqual(parsed("tokens"), { _tag: "Token", endpoint: "tokens" })
    assert.deepStrictEqual(parsed("tokens/", { spelling: "lenient" }), { _tag: "Token", endpoint: "tokens/" })
  })

  it("a task named jobs with an id below is that task's job, never a service-level job", () => {
    assert.deepStrictEqual(parsed(`rest/services/A/GPServer/jobs/jobs/${id}/results/x`), {
      _tag: "Job",
      service: { name: "A" },
      task: "jobs",
      jobId: id,
      part: { kind: "results", param: "x" }
    })
  })

  it("below uploads, anything but the upload resources is a task named uploads (or no location)", () => {
    assert.deepStrictEqual(parsed(`rest/services/Geometry/GPServer/uploads/jobs/${id}`), {
      _tag: "Job",
      service: geometry,
      task: "uploads",
      jobId: id,
      part: { kind: "job" }
    })
    assert.strictEqual(parsed("rest/services/Geometry/GPServer/uploads/execute")._tag, "Execute")
    // Not an item id (ArcGIS's `i` + UUID): no upload resource, and no task resource either.
    rejected("rest/services/Geometry/GPServer/uploads/j0550714f334d4114af9f7a5d05cb145e")
    rejected(`rest/services/Geometry/GPServer/uploads/${item}/nothing`)
    rejected(`rest/services/Geometry/GPServer/uploads/${item.toUpperCase()}`)
    rejected("rest/services/Geometry/GPServer/uploads/info/x")
  })

  it("isOutputOf matches an output file with its job's service (in any case), not another", () => {
    const file = parsed(`rest/directories/arcgisjobs/geometry_gpserver/${id}/scratch/a.txt`)
    assert.isTrue(ArcGISResource.isOutputOf(file, { name: "Geometry" }))
    assert.isTrue(ArcGISResource.isOutputOf(file, { folder: "F", name: "GEOMETRY" }))
    assert.isFalse(ArcGISResource.isOutputOf(file, { name: "Geometry2" }))
    assert.isFalse(ArcGISResource.isOutputOf({ _tag: "Info" }, { name: "Geometry" }))
  })

  // A malformed name in a known place: InvalidReference naming the part (400).
  const invalid: ReadonlyArray<readonly [string, string, string]> = [
    ["undecodable percent-encoding", "rest/services/Geo%zzmetry/GPServer", "service"],
    ["undecodable percent-encoding in a folder", "rest/services/%zz", "folder"],
    ["undecodable percent-encoding in a task", "rest/services/A/GPServer/%zz/submitJob", "task"],
    ["undecodable percent-encoding in a parameter", `rest/services/A/GPServer/jobs/${id}/results/%zz`, "param"],
    ["bad UTF-8", `rest/services/Geo%E0metry/GPServer/jobs/${id}`, "service"],
    ["an empty folder segment", `rest/services//GPServer/jobs/${id}`, "service"],
    ["an empty folder before a service", `rest/services//A/GPServer`, "folder"],
    ["an empty task segment", "rest/services/A/GPServer//submitJob", "task"],
    ["a trailing slash (strict)", "rest/services/A/GPServer/", "task"],
    ["a trailing slash on the catalog (strict)", "rest/services/", "folder"],
    ["a dot-dot folder", `rest/services/../Geometry/GPServer/jobs/${id}`, "folder"],
    ["an encoded dot-dot task", `rest/services/Geometry/GPServer/%2E%2E/jobs/${id}`, "task"],
    ["an encoded slash in a name", `rest/services/Geo%2Fmetry/GPServer/jobs/${id}`, "service"],
    ["a control character", `rest/services/Geo%0Ametry/GPServer/jobs/${id}`, "service"],
    ["an over-long task name", `rest/services/Geometry/GPServer/${"t".repeat(121)}/jobs/${id}`, "task"],
    ["a service named GPServer", "rest/services/F/gpserver/GPServer", "service"],
    ["an upper-case job id", `rest/services/Geometry/GPServer/jobs/${id.toUpperCase()}`, "jobId"],
    ["a short admin job id", "admin/services/Geometry.GPServer/jobs/j123", "jobId"],
    ["a service-level job id that is a word", "rest/services/A/GPServer/jobs/status", "jobId"],
    ["a non-canonical spelling (strict)", "rest/services/a%28b%29/GPServer", "service"],
    ["a raw space (strict)", "rest/services/a b/GPServer", "service"],
    ["lower-case hex (strict)", "rest/services/%c3%9cber/GPServer", "service"],
    ["an output file with ..", `rest/directories/arcgisjobs/a_gpserver/${id}/scratch/../../../etc/passwd`, "file"],
    ["an output file with encoded ..", `rest/directories/arcgisjobs/a_gpserver/${id}/scratch/%2E%2E/x`, "file"],
    ["an output file with an encoded slash", `rest/directories/arcgisjobs/a_gpserver/${id}/scratch/a%2Fb`, "file"],
    ["an output file with an empty segment", `rest/directories/arcgisjobs/a_gpserver/${id}/scratch/a//b`, "file"],
    ["an output file of a bad job", "rest/directories/arcgisjobs/a_gpserver/jxyz/scratch/a", "jobId"],
    ["an output file with a backslash", `rest/directories/arcgisjobs/a_gpserver/${id}/scratch/..%5Cx`, "file"],
    ["a seed job with a short id", "rest/services/System/PublishingTools.GPServer/jobs/j123", "jobId"],
    ["an admin folder with bad percent-encoding", "admin/services/%zz", "folder"],
    ["an admin service with a dot-dot folder", "admin/services/../A.GPServer/stop", "folder"]
  ]
  for (const [what, path, part] of invalid) {
    it(`rejects ${what} as an InvalidReference of the ${part}`, () => {
      const error = rejected(path)
      assert.strictEqual(error._tag, "InvalidReference")
      if (error._tag === "InvalidReference") assert.strictEqual(error.part, part)
      assert.include(error.message, part)
      assert.strictEqual(ErrorEnvelope.codes[error._tag], 400)
    })
  }

  // No location at all: NoSuchResource (404).
  const nowhere: ReadonlyArray<readonly [string, string]> = [
    ["the empty path", ""],
    ["a leading slash", "/rest/info"],
    ["rest alone", "rest"],
    ["a folder and something", "rest/services/A/B"],
    ["a missing GPServer", `rest/services/A/B/C/jobs/${id}`],
    ["a MapServer", `admin/services/Geometry.MapServer/jobs/${id}`],
    ["an admin service without its type", "admin/services/Geometry/jobs"],
    ["an unknown task operation", "rest/services/A/GPServer/Buffer/run"],
    ["a task's jobs without an id", "rest/services/A/GPServer/Buffer/jobs"],
    ["results under admin", `admin/services/A.GPServer/jobs/${id}/results`],
    ["delete under rest", `rest/services/A/GPServer/jobs/${id}/delete`],
    ["too deep below results", `rest/services/A/GPServer/jobs/${id}/results/a/b`],
    ["too deep below cancel", `admin/services/A.GPServer/jobs/${id}/cancel/now`],
    ["an unknown security operation", "admin/security/users/purge"],
    ["an output file without scratch", `rest/directories/arcgisjobs/a_gpserver/${id}/x/a`],
    ["an output folder without its suffix", `rest/directories/arcgisjobs/a/${id}/scratch/a`],
    ["an output file with no file", `rest/directories/arcgisjobs/a_gpserver/${id}/scratch`],
    ["the old sign-in path's neighbour", "rest/signin"],
    ["a token endpoint with a trailing slash", "tokens/generateToken/"],
    ["an upper-case keyword", "rest/services/A/gpserver"],
    ["an unknown admin service operation", "admin/services/A.GPServer/restart"],
    ["an admin operation of a folder", "admin/services/System/stop"],
    ["too deep below an admin service", "admin/services/F/A.GPServer/stop/now"],
    ["a seed job without an id", "rest/services/A.GPServer/jobs"],
    ["a seed job's cancel", `rest/services/A.GPServer/jobs/${id}/cancel`],
    ["an admin security page that is not one", "admin/security/groups"]
  ]
  for (const [what, path] of nowhere) {
    it(`rejects ${what} as NoSuchResource`, () => {
      const error = rejected(path)
      assert.strictEqual(error._tag, "NoSuchResource")
      assert.strictEqual(ErrorEnvelope.codes[error._tag], 404)
    })
  }

  it("lenient spelling takes other valid percent-encodings and one trailing slash", () => {
    const lenient = { spelling: "lenient" } as const
    assert.deepStrictEqual(parsed("rest/services/a%28b%29/GPServer", lenient), {
      _tag: "Service",
      service: { name: "a(b)" }
    })
    assert.deepStrictEqual(parsed("rest/services/%c3%9cber/GPServer/", lenient), {
      _tag: "Service",
      service: { name: "Über" }
    })
    assert.deepStrictEqual(parsed("rest/services/", lenient), { _tag: "Catalog" })
    // Still not: bad encodings, bad names, and two trailing slashes.
    assert.strictEqual(rejected("rest/services/%zz/GPServer", lenient)._tag, "InvalidReference")
    assert.strictEqual(
      rejected(`rest/directories/arcgisjobs/a_gpserver/${id}/scratch/..`, lenient)._tag,
      "InvalidReference"
    )
    assert.strictEqual(rejected("rest/services/A/GPServer//", lenient)._tag, "InvalidReference")
  })

  it.effect("parseRequest reads a raw request URL under the context path, ignoring the query string", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* ArcGISResource.parseRequest("/arcgis", "/arcgis/rest/services/A/GPServer?f=json"), {
        _tag: "Service",
        service: { name: "A" }
      })
      assert.deepStrictEqual(yield* ArcGISResource.parseRequest("", "/rest/info#x"), { _tag: "Info" })
      assert.deepStrictEqual(yield* ArcGISResource.parseRequest("/arcgis/", "/arcgis/tokens/?f=json"), {
        _tag: "Token",
        endpoint: "tokens/"
      })
      const elsewhere = yield* Effect.flip(ArcGISResource.parseRequest("/arcgis", "/server/rest/info"))
      assert.strictEqual(elsewhere._tag, "NoSuchResource")
    })
  )

  it.effect("url and parseUrl work under a base URL (a trailing slash or a literal <context> in it is kept)", () =>
    Effect.gen(function* () {
      const job = ArcGISResource.jobOf(publishing, undefined, id)
      assert.strictEqual(
        ArcGISResource.url(`${base}/`, job),
        `${base}/rest/services/System/PublishingTools/GPServer/jobs/${id}`
      )
      assert.deepStrictEqual(yield* ArcGISResource.parseUrl(base, `${ArcGISResource.url(base, job)}?f=pjson`), job)
      const context = "https://organization.example.com/<context>"
      assert.deepStrictEqual(yield* ArcGISResource.parseUrl(context, ArcGISResource.url(context, job)), job)
      const other = yield* Effect.flip(
        ArcGISResource.parseUrl(base, `https://elsewhere.example.com/arcgis/rest/services/A/GPServer/jobs/${id}`)
      )
      assert.strictEqual(other._tag === "InvalidReference" && other.part, "baseUrl")
      const ftp = yield* Effect.flip(ArcGISResource.parseUrl("ftp://x", `ftp://x/rest/info`))
      assert.strictEqual(ftp._tag === "InvalidReference" && ftp.part, "baseUrl")
    })
  )

  it("baseOf finds the server of a services or admin URL", () => {
    assert.strictEqual(ArcGISResource.baseOf(`${base}/rest/services/A/GPServer/jobs/${id}`), base)
    assert.strictEqual(ArcGISResource.baseOf(`${base}/admin/services/A.GPServer/jobs?f=json`), base)
    assert.strictEqual(ArcGISResource.baseOf("System/Utilities"), undefined)
  })

  it("property: parse ∘ build is the identity on every location", () => {
    fc.assert(
      fc.property(Arbitraries.resource, (resource) => {
        const path = ArcGISResource.build(resource)
        const exit = parseExit(path)
        assert.isTrue(Exit.isSuccess(exit), `${path} should parse`)
        if (Exit.isSuccess(exit)) assert.deepStrictEqual(exit.value, resource)
        // The lenient reader agrees on every path build writes.
        assert.deepStrictEqual(parsed(path, { spelling: "lenient" }), resource)
      }),
      { numRuns: 2000 }
    )
  })

  it("property: url and parseUrl are inverses under any base", () => {
    fc.assert(
      fc.property(
        Arbitraries.resource,
        fc.constantFrom(base, "http://127.0.0.1:6080/arcgis", "https://h/<context>", "https://h"),
        (resource, b) => {
          const full = ArcGISResource.url(b, resource)
          assert.match(full, /^[\x21-\x7e]+$/)
          assert.deepStrictEqual(Effect.runSync(ArcGISResource.parseUrl(b, full)), resource)
        }
      ),
      { numRuns: 500 }
    )
  })

  // Paths near the grammar: built paths with one segment replaced, added or removed.
  const segment = fc.oneof(
    fc.constantFrom(
      "",
      "rest",
      "admin",
      "services",
      "GPServer",
      "A.GPServer",
      "jobs",
      "submitJob",
      "execute",
      "results",
      "inputs",
      "cancel",
      "delete",
      "query",
      "scratch",
      "a_gpserver",
      "login",
      "tokens",
      "%zz",
      "%41",
      "a%20b",
      "a b",
      "..",
      "%2E%2E",
      id
    ),
    fc.string({ maxLength: 6 })
  )
  const nearPath = fc
    .tuple(Arbitraries.resource, fc.nat(), segment, fc.constantFrom("replace", "insert", "remove"))
    .map(([resource, at, s, edit]) => {
      const segments = ArcGISResource.build(resource).split("/")
      const i = at % (segments.length + 1)
      if (edit === "replace") segments[Math.min(i, segments.length - 1)] = s
      else if (edit === "insert") segments.splice(i, 0, s)
      else segments.splice(Math.min(i, segments.length - 1), 1)
      return segments.join("/")
    })

  it("property: build ∘ parse is the identity on every path parse accepts", () => {
    let accepted = 0
    fc.assert(
      fc.property(fc.oneof(nearPath, Arbitraries.resource.map(ArcGISResource.build)), (path) => {
        const exit = parseExit(path)
        if (Exit.isSuccess(exit)) {
          accepted++
          assert.strictEqual(ArcGISResource.build(exit.value), path)
        }
      }),
      { numRuns: 3000 }
    )
    // The property says something only if many paths parse.
    assert.isAbove(accepted, 1000)
  })

  it("property: a path re-spelt (other percent-encodings) reads leniently as the same location, strictly not at all", () => {
    const respell = (path: string) =>
      path
        .replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())
        .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    fc.assert(
      fc.property(Arbitraries.resource, (resource) => {
        const path = ArcGISResource.build(resource)
        const other = respell(path)
        fc.pre(other !== path)
        assert.deepStrictEqual(parsed(other, { spelling: "lenient" }), resource)
        assert.strictEqual(rejected(other)._tag, "InvalidReference")
      }),
      { numRuns: 500 }
    )
  })
})
