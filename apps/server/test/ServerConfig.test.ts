import { assert, describe, it } from "@effect/vitest"
import { fromEnv } from "../src/ServerConfig.ts"

describe("ServerConfig", () => {
  it("defaults: port 6080 on 127.0.0.1, ./data, the bundled sample services, /arcgis", () => {
    const read = fromEnv({})
    assert.isTrue(read.ok)
    if (!read.ok) return
    assert.strictEqual(read.config.port, 6080)
    assert.strictEqual(read.config.host, "127.0.0.1")
    assert.match(read.config.dataDir, /\/data$/)
    assert.match(read.config.servicesFile, /services\.sample\.yaml$/)
    assert.strictEqual(read.config.contextPath, "/arcgis")
    assert.isFalse(read.config.realStatusCodes)
  })

  it("names every wrong variable and says what it should be", () => {
    const read = fromEnv({
      GEOJOBS_PORT: "http",
      GEOJOBS_BASE_URL: "not a url",
      GEOJOBS_ADMIN_PASSWORD: "short",
      GEOJOBS_REAL_STATUS_CODES: "maybe"
    })
    assert.isFalse(read.ok)
    if (read.ok) return
    const text = read.problems.join("\n")
    for (const name of ["GEOJOBS_PORT", "GEOJOBS_BASE_URL", "GEOJOBS_ADMIN_PASSWORD", "GEOJOBS_REAL_STATUS_CODES"])
      assert.include(text, name)
    assert.include(text, "at least 8 characters")
  })
})
