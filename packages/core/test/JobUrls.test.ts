import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { JobUrls } from "../src/index.ts"
import { Arbitraries } from "../src/testing/index.ts"

const base = "https://organization.example.com/arcgis"
const id = "j0550714f334d4114af9f7a5d05cb145e"
const publishing = { folder: "System", name: "PublishingTools" }

// The parsing and sub-resource cases that were here live in ArcGISResource.test.ts, with the grammar.
describe("JobUrls (builders over ArcGISResource)", () => {
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

  it("property: names with spaces and non-ASCII letters are percent-encoded (the URL stays ASCII without spaces)", () => {
    fc.assert(
      fc.property(Arbitraries.servicePath, Arbitraries.name, Arbitraries.jobId, (service, task, id) => {
        for (const url of [
          JobUrls.restService("https://h/arcgis", service),
          JobUrls.restTask("https://h/arcgis", service, task),
          JobUrls.restJob("https://h/arcgis", service, task, id),
          JobUrls.restServiceJob("https://h/arcgis", service, id),
          JobUrls.adminJob("https://h/arcgis", service, id)
        ])
          assert.match(url, /^[\x21-\x7e]+$/)
      })
    )
  })
})
