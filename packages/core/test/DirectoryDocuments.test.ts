import { assert, describe, it } from "@effect/vitest"
import * as Fixtures from "@geojobs/fixtures"
import { AdminQuery, RestJob, ServiceDirectory, Token } from "../src/index.ts"

// The documents as a GeoJobs server renders them today (http-server RestApi, AdminApi, TokenApi; tools
// TaskDescription), and as ArcGIS Enterprise sends them (arcgis-api.md §6, §5): every key must decode.
const geojobs = {
  info: {
    currentVersion: 11.3,
    fullVersion: "11.3.0",
    authInfo: {
      isTokenBasedSecurity: true,
      tokenServicesUrl: "https://h/arcgis/tokens/",
      shortLivedTokenValidity: 60
    }
  },
  catalog: { currentVersion: 11.3, folders: ["System"], services: [{ name: "Geometry", type: "GPServer" }] },
  service: {
    currentVersion: 11.3,
    serviceDescription: "",
    tasks: ["Buffer"],
    executionType: "esriExecutionTypeAsynchronous",
    resultMapServerName: "",
    maximumRecords: 1000,
    capabilities: ""
  },
  task: {
    name: "Buffer",
    displayName: "Buffer",
    description: "",
    category: "",
    helpUrl: "",
    executionType: "esriExecutionTypeAsynchronous",
    parameters: [
      {
        name: "Distance",
        dataType: "GPDouble",
        displayName: "Distance",
        description: "",
        direction: "esriGPParameterDirectionInput",
        defaultValue: 1,
        parameterType: "esriGPParameterTypeRequired",
        category: "",
        filter: { type: "range", minimum: 0, maximum: null }
      },
      {
        name: "Units",
        dataType: "GPString",
        displayName: "Units",
        description: "",
        direction: "esriGPParameterDirectionInput",
        defaultValue: null,
        parameterType: "esriGPParameterTypeOptional",
        category: "",
        choiceList: ["Meters", "Feet"]
      }
    ]
  },
  token: { token: "abc", expires: 1_700_000_000_000, ssl: false },
  execute: {
    results: [{ paramName: "Out", dataType: "GPString", value: "x" }],
    messages: [{ type: "esriJobMessageTypeInformative", description: "done" }]
  },
  cancel: { jobId: Fixtures.seedValues.jobId, jobStatus: "esriJobCancelling" },
  page: {
    total: 1,
    query: {
      serviceName: "PublishingTools",
      folderName: "System",
      userName: "",
      jobStatus: "",
      startTime: "",
      endTime: "",
      number: 10
    },
    num: 1,
    start: 1,
    nextStart: -1,
    results: [Fixtures.seedAdminJob()]
  },
  statistics: { total: 3, cancelled: 1, failed: 1, succeeded: 1 },
  operation: { status: "success" }
}

const schemas = {
  info: ServiceDirectory.infoSchema,
  catalog: ServiceDirectory.catalogSchema,
  service: ServiceDirectory.serviceSchema,
  task: ServiceDirectory.taskSchema,
  token: Token.schema,
  execute: RestJob.executeSchema,
  cancel: RestJob.cancelSchema,
  page: AdminQuery.pageSchema,
  statistics: AdminQuery.statisticsSchema,
  operation: AdminQuery.operationSchema
} as const

describe("directory, token and admin query documents", () => {
  for (const key of Object.keys(schemas) as Array<keyof typeof schemas>) {
    it(`${key}: the document GeoJobs renders decodes with every key kept`, () => {
      const decoded = schemas[key].parse(geojobs[key])
      assert.deepStrictEqual(decoded, geojobs[key] as unknown)
    })
  }

  it("the query page carries the seed document (the golden) as its result", () => {
    const page = AdminQuery.pageSchema.parse(geojobs.page)
    assert.strictEqual(page.results[0]?.job_id, Fixtures.seedValues.jobId)
  })

  it("ArcGIS Enterprise's extra keys pass (loose), and a portal's info has no version", () => {
    const portal = ServiceDirectory.infoSchema.parse({
      owningSystemUrl: "https://portal.example.com/portal",
      authInfo: {
        isTokenBasedSecurity: true,
        tokenServicesUrl: "https://portal.example.com/portal/sharing/rest/generateToken"
      },
      isPortal: true
    })
    assert.strictEqual(portal.owningSystemUrl, "https://portal.example.com/portal")
    const service = ServiceDirectory.serviceSchema.parse({ ...geojobs.service, cimVersion: "2.9.0", schema: {} })
    assert.strictEqual(service.cimVersion, "2.9.0")
    // A string `expires` (some servers) is read as a number; a catalog without folders has none.
    assert.strictEqual(Token.schema.parse({ token: "t", expires: "1700000000000" }).expires, 1_700_000_000_000)
    assert.deepStrictEqual(ServiceDirectory.catalogSchema.parse({ services: [] }).folders, [])
  })

  it("documents missing what clients need are refused", () => {
    assert.isFalse(ServiceDirectory.taskSchema.safeParse({ name: "Buffer" }).success)
    assert.isFalse(ServiceDirectory.serviceSchema.safeParse({ tasks: "Buffer", executionType: "x" }).success)
    assert.isFalse(Token.schema.safeParse({ expires: 1 }).success)
    assert.isFalse(AdminQuery.operationSchema.safeParse({ status: "error" }).success)
    assert.isFalse(AdminQuery.pageSchema.safeParse({ ...geojobs.page, results: [{ job_id: "x" }] }).success)
    assert.isFalse(RestJob.executeSchema.safeParse({ messages: [] }).success)
  })
})
