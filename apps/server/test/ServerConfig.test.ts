import { hostname } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { fromEnv, redactUrl, type ServerConfig } from "../src/ServerConfig.ts"
import * as Storage from "../src/Storage.ts"

const read = (env: Record<string, string>): ServerConfig => {
  const result = fromEnv(env)
  if (!result.ok) throw new Error(result.problems.join("\n"))
  return result.config
}

const problems = (env: Record<string, string>): string => {
  const result = fromEnv(env)
  assert.isFalse(result.ok, `expected ${JSON.stringify(env)} to be refused`)
  return result.ok ? "" : result.problems.join("\n")
}

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

  it("defaults of the proxy, timeout, CORS, metrics and worker settings: the libraries' own", () => {
    const config = read({})
    assert.isFalse(config.trustProxy)
    assert.isUndefined(config.headersTimeoutMs)
    assert.isUndefined(config.requestTimeoutMs)
    assert.isUndefined(config.keepAliveTimeoutMs)
    assert.isUndefined(config.connectionTimeoutMs)
    assert.isUndefined(config.allowedOrigins)
    assert.isUndefined(config.adminAllowedOrigins)
    assert.isUndefined(config.metricsToken)
    assert.isFalse(config.publicMetrics)
    assert.isUndefined(config.workerLimits)
  })

  it("GEOJOBS_OGC_PATH: /ogcapi by default, another path when set, a path that is not one refused", () => {
    assert.strictEqual(read({}).ogcPath, "/ogcapi")
    assert.strictEqual(read({ GEOJOBS_OGC_PATH: "/geo/processes" }).ogcPath, "/geo/processes")
    for (const bad of ["ogcapi", "/", "/a b", "/x?y"])
      assert.include(problems({ GEOJOBS_OGC_PATH: bad }), "GEOJOBS_OGC_PATH")
  })

  it("GEOJOBS_LEASE_MS and GEOJOBS_HEARTBEAT_MS: 10 s and 2 s by default; a heartbeat not under half the lease refused", () => {
    assert.strictEqual(read({}).leaseMs, 10_000)
    assert.strictEqual(read({}).heartbeatMs, 2000)
    const set = read({ GEOJOBS_LEASE_MS: "30000", GEOJOBS_HEARTBEAT_MS: "5000" })
    assert.deepStrictEqual([set.leaseMs, set.heartbeatMs], [30_000, 5000])
    assert.include(problems({ GEOJOBS_LEASE_MS: "4000", GEOJOBS_HEARTBEAT_MS: "2000" }), "GEOJOBS_HEARTBEAT_MS")
    assert.include(problems({ GEOJOBS_LEASE_MS: "soon" }), "GEOJOBS_LEASE_MS")
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

  it("GEOJOBS_TRUST_PROXY: true/false, or addresses, CIDR ranges and named ranges", () => {
    assert.isTrue(read({ GEOJOBS_TRUST_PROXY: "true" }).trustProxy)
    assert.isTrue(read({ GEOJOBS_TRUST_PROXY: "yes" }).trustProxy)
    assert.isFalse(read({ GEOJOBS_TRUST_PROXY: "false" }).trustProxy)
    assert.deepStrictEqual(read({ GEOJOBS_TRUST_PROXY: "10.0.0.1, 10.1.0.0/16,fd00::/8,::1,Loopback" }).trustProxy, [
      "10.0.0.1",
      "10.1.0.0/16",
      "fd00::/8",
      "::1",
      "loopback"
    ])
  })

  it("GEOJOBS_TRUST_PROXY refuses bad addresses and hop counts (the server's trustProxy takes none)", () => {
    for (const bad of ["10.0.0.300", "10.0.0.0/33", "proxy.internal", "10.0.0.1,nope", "2"]) {
      const text = problems({ GEOJOBS_TRUST_PROXY: bad })
      assert.include(text, "GEOJOBS_TRUST_PROXY")
      assert.include(text, "expected true, false, or the proxies' addresses")
    }
    assert.include(problems({ GEOJOBS_TRUST_PROXY: "2" }), "hop count is not supported")
    assert.include(problems({ GEOJOBS_TRUST_PROXY: "10.0.0.1,nope" }), "not an address or CIDR range: nope")
  })

  it("the four timeouts, in milliseconds (0: no limit)", () => {
    const config = read({
      GEOJOBS_HEADERS_TIMEOUT_MS: "10000",
      GEOJOBS_REQUEST_TIMEOUT_MS: "120000",
      GEOJOBS_KEEP_ALIVE_TIMEOUT_MS: "65000",
      GEOJOBS_CONNECTION_TIMEOUT_MS: "0"
    })
    assert.strictEqual(config.headersTimeoutMs, 10_000)
    assert.strictEqual(config.requestTimeoutMs, 120_000)
    assert.strictEqual(config.keepAliveTimeoutMs, 65_000)
    assert.strictEqual(config.connectionTimeoutMs, 0)
    for (const name of [
      "GEOJOBS_HEADERS_TIMEOUT_MS",
      "GEOJOBS_REQUEST_TIMEOUT_MS",
      "GEOJOBS_KEEP_ALIVE_TIMEOUT_MS",
      "GEOJOBS_CONNECTION_TIMEOUT_MS"
    ]) {
      for (const bad of ["30s", "-1", "1.5"]) {
        const text = problems({ [name]: bad })
        assert.include(text, `${name}=${JSON.stringify(bad)}`)
        assert.include(text, "expected milliseconds")
      }
      assert.include(problems({ [name]: "3000000000" }), "at most 2147483647 ms")
    }
  })

  it("GEOJOBS_ALLOWED_ORIGINS and GEOJOBS_ADMIN_ALLOWED_ORIGINS: origins (normalized), *, or none", () => {
    const config = read({
      GEOJOBS_ALLOWED_ORIGINS: "https://App.Example.com/, http://localhost:5173,https://app.example.com:443",
      GEOJOBS_ADMIN_ALLOWED_ORIGINS: "https://admin.example.com"
    })
    assert.deepStrictEqual(config.allowedOrigins, ["https://app.example.com", "http://localhost:5173"])
    assert.deepStrictEqual(config.adminAllowedOrigins, ["https://admin.example.com"])
    assert.deepStrictEqual(read({ GEOJOBS_ALLOWED_ORIGINS: "*" }).allowedOrigins, ["*"])
    assert.deepStrictEqual(read({ GEOJOBS_ADMIN_ALLOWED_ORIGINS: "*" }).adminAllowedOrigins, ["*"])
    assert.deepStrictEqual(read({ GEOJOBS_ALLOWED_ORIGINS: "none" }).allowedOrigins, [])
    for (const name of ["GEOJOBS_ALLOWED_ORIGINS", "GEOJOBS_ADMIN_ALLOWED_ORIGINS"]) {
      for (const bad of ["app.example.com", "https://app.example.com/path", "ftp://files.example.com", ","]) {
        const text = problems({ [name]: bad })
        assert.include(text, name)
        assert.include(text, "expected origins such as https://app.example.com")
      }
      assert.include(problems({ [name]: "*,https://app.example.com" }), "cannot be combined")
    }
  })

  it("GEOJOBS_METRICS_TOKEN is kept Redacted: never in the printed, JSON or logged config, nor in a problem", () => {
    const token = "s3cret-metrics-token-0123456789"
    const config = read({ GEOJOBS_METRICS_TOKEN: token })
    assert.isDefined(config.metricsToken)
    if (config.metricsToken === undefined) return
    assert.strictEqual(Redacted.value(config.metricsToken), token)
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.metricsToken)]) {
      assert.notInclude(shown, token)
    }
    const refused = "short secret"
    const text = problems({ GEOJOBS_METRICS_TOKEN: refused })
    assert.include(text, "GEOJOBS_METRICS_TOKEN=[redacted]")
    assert.include(text, "at least 16 characters")
    assert.include(text, "cannot contain spaces")
    assert.notInclude(text, refused)
    assert.notInclude(problems({ GEOJOBS_ADMIN_PASSWORD: "hunter2" }), "hunter2")
  })

  it("GEOJOBS_PUBLIC_METRICS: a flag, and not together with a metrics token", () => {
    assert.isTrue(read({ GEOJOBS_PUBLIC_METRICS: "true" }).publicMetrics)
    assert.isFalse(read({ GEOJOBS_PUBLIC_METRICS: "no" }).publicMetrics)
    assert.include(problems({ GEOJOBS_PUBLIC_METRICS: "sometimes" }), 'GEOJOBS_PUBLIC_METRICS="sometimes"')
    const both = problems({ GEOJOBS_PUBLIC_METRICS: "true", GEOJOBS_METRICS_TOKEN: "a-long-enough-metrics-token" })
    assert.include(both, "GEOJOBS_PUBLIC_METRICS")
    assert.include(both, "set one of them")
    assert.notInclude(both, "a-long-enough-metrics-token")
  })

  it("GEOJOBS_WORKER_MAX_OLD_MB and GEOJOBS_WORKER_RETIRE_ABOVE_MB: the engine's workerLimits, in MB", () => {
    assert.deepStrictEqual(
      read({ GEOJOBS_WORKER_MAX_OLD_MB: "1024", GEOJOBS_WORKER_RETIRE_ABOVE_MB: "600" }).workerLimits,
      {
        maxOldGenerationSizeMb: 1024,
        retireAboveHeapMb: 600
      }
    )
    assert.deepStrictEqual(read({ GEOJOBS_WORKER_MAX_OLD_MB: "256" }).workerLimits, { maxOldGenerationSizeMb: 256 })
    assert.deepStrictEqual(read({ GEOJOBS_WORKER_RETIRE_ABOVE_MB: "128" }).workerLimits, { retireAboveHeapMb: 128 })
    for (const name of ["GEOJOBS_WORKER_MAX_OLD_MB", "GEOJOBS_WORKER_RETIRE_ABOVE_MB"]) {
      for (const bad of ["0", "1.5", "512MB", "-5"]) {
        const text = problems({ [name]: bad })
        assert.include(text, `${name}=${JSON.stringify(bad)}`)
        assert.include(text, "whole number of MB")
      }
      assert.include(problems({ [name]: "536870912" }), "number of bytes")
    }
    assert.include(
      problems({ GEOJOBS_WORKER_RETIRE_ABOVE_MB: "600" }),
      'GEOJOBS_WORKER_RETIRE_ABOVE_MB="600": above the worker threads\' old generation (512 MB, the default)'
    )
    assert.include(
      problems({ GEOJOBS_WORKER_MAX_OLD_MB: "256", GEOJOBS_WORKER_RETIRE_ABOVE_MB: "300" }),
      "GEOJOBS_WORKER_RETIRE_ABOVE_MB"
    )
  })

  it("stores: SQLite in the data folder by default; GEOJOBS_DATABASE_URL picks PostgreSQL, schema public unless told", () => {
    const sqlite = read({ GEOJOBS_DATA_DIR: "/srv/geojobs" })
    assert.deepStrictEqual(sqlite.database, { kind: "sqlite" })
    assert.strictEqual(Storage.describe(sqlite), "SQLite in /srv/geojobs")
    const pg = read({ GEOJOBS_DATABASE_URL: "postgres://geojobs@db.example.com:5432/gis" })
    assert.strictEqual(pg.database.kind, "postgres")
    if (pg.database.kind !== "postgres") return
    assert.strictEqual(pg.database.schema, "public")
    assert.strictEqual(Redacted.value(pg.database.url), "postgres://geojobs@db.example.com:5432/gis")
    assert.strictEqual(Storage.describe(pg), "PostgreSQL postgres://geojobs@db.example.com:5432/gis, schema public")
    const named = read({ GEOJOBS_DATABASE_URL: "postgresql://db/gis", GEOJOBS_DATABASE_SCHEMA: "geojobs_prod" })
    assert.deepInclude(named.database, { schema: "geojobs_prod" })
  })

  it("GEOJOBS_DATABASE_URL's password is never shown: not in the config, its description, a problem or a scrubbed error", () => {
    const url = "postgres://geojobs:pa%40ss-w0rd@db.example.com/gis?sslmode=require"
    const config = read({ GEOJOBS_DATABASE_URL: url })
    const shown = [JSON.stringify(config), inspect(config, { depth: 10 }), Storage.describe(config)]
    for (const text of shown) {
      assert.notInclude(text, "pa%40ss-w0rd")
      assert.notInclude(text, "pa@ss-w0rd")
    }
    assert.strictEqual(
      Storage.describe(config),
      "PostgreSQL postgres://geojobs:[redacted]@db.example.com/gis?sslmode=require, schema public"
    )
    assert.strictEqual(
      Storage.scrub(config, `could not connect to ${url}: password pa@ss-w0rd refused`),
      "could not connect to postgres://geojobs:[redacted]@db.example.com/gis?sslmode=require: password [redacted] refused"
    )
    assert.strictEqual(redactUrl("postgres://u@h/db?password=hunter2&x=1"), "postgres://u@h/db?password=[redacted]&x=1")
    assert.strictEqual(redactUrl("not a url with hunter2"), "[redacted]")
    const text = problems({ GEOJOBS_DATABASE_URL: "mysql://root:hunter2@db/gis" })
    assert.include(text, 'GEOJOBS_DATABASE_URL="mysql://root:[redacted]@db/gis": expected a PostgreSQL URL')
    assert.notInclude(text, "hunter2")
    assert.notInclude(problems({ GEOJOBS_DATABASE_URL: "hunter2 is not a URL" }), "hunter2")
  })

  it("GEOJOBS_DATABASE_SCHEMA: a plain schema name, and only with GEOJOBS_DATABASE_URL", () => {
    for (const bad of ["Geo Jobs", "1st", 'x"; DROP', "a".repeat(64)]) {
      assert.include(
        problems({ GEOJOBS_DATABASE_URL: "postgres://db/gis", GEOJOBS_DATABASE_SCHEMA: bad }),
        "expected a schema name"
      )
    }
    assert.include(
      problems({ GEOJOBS_DATABASE_SCHEMA: "geojobs" }),
      'GEOJOBS_DATABASE_SCHEMA="geojobs": names a PostgreSQL schema, but GEOJOBS_DATABASE_URL is not set'
    )
  })

  it("GEOJOBS_DATABASE_POOL_SIZE: connections per pool, 10 unless told, a whole number from 1, only with PostgreSQL", () => {
    const pgUrl = "postgres://db/gis"
    assert.deepInclude(read({ GEOJOBS_DATABASE_URL: pgUrl }).database, { poolSize: 10 })
    assert.deepInclude(read({ GEOJOBS_DATABASE_URL: pgUrl, GEOJOBS_DATABASE_POOL_SIZE: "3" }).database, { poolSize: 3 })
    for (const [bad, says] of [
      ["0", "expected at least 1 connection"],
      ["2.5", "expected a whole number of connections"],
      ["many", "expected a number of connections"],
      ["5000", "expected at most 1000 connections"]
    ] as const) {
      assert.include(
        problems({ GEOJOBS_DATABASE_URL: pgUrl, GEOJOBS_DATABASE_POOL_SIZE: bad }),
        `GEOJOBS_DATABASE_POOL_SIZE="${bad}": ${says}`
      )
    }
    assert.include(
      problems({ GEOJOBS_DATABASE_POOL_SIZE: "4" }),
      'GEOJOBS_DATABASE_POOL_SIZE="4": sizes the PostgreSQL connection pools, but GEOJOBS_DATABASE_URL is not set'
    )
  })

  it("GEOJOBS_JOBS_DIR: <data folder>/jobs by default; another folder named jobs", () => {
    assert.strictEqual(read({ GEOJOBS_DATA_DIR: "/srv/geojobs" }).jobsDir, join("/srv/geojobs", "jobs"))
    assert.strictEqual(read({ GEOJOBS_JOBS_DIR: "/mnt/shared/jobs" }).jobsDir, "/mnt/shared/jobs")
    assert.include(problems({ GEOJOBS_JOBS_DIR: "/mnt/shared/output" }), "expected a folder named jobs")
  })

  it("GEOJOBS_UPLOADS_DIR: <data folder>/uploads by default; any folder when set", () => {
    assert.strictEqual(read({ GEOJOBS_DATA_DIR: "/srv/geojobs" }).uploadsDir, join("/srv/geojobs", "uploads"))
    assert.strictEqual(read({ GEOJOBS_UPLOADS_DIR: "/mnt/shared/items" }).uploadsDir, "/mnt/shared/items")
  })

  it("GEOJOBS_URL_INPUT_*: no host allowed beyond public addresses by default; hosts, MB and ms when set", () => {
    assert.deepStrictEqual(read({}).urlInputs, { allowedHosts: [], maxBytes: undefined, timeoutMs: undefined })
    assert.deepStrictEqual(
      read({
        GEOJOBS_URL_INPUT_ALLOWED_HOSTS: "gis.intranet.example, 10.0.0.5",
        GEOJOBS_URL_INPUT_MAX_MB: "20",
        GEOJOBS_URL_INPUT_TIMEOUT_MS: "5000"
      }).urlInputs,
      { allowedHosts: ["gis.intranet.example", "10.0.0.5"], maxBytes: 20 * 1024 * 1024, timeoutMs: 5000 }
    )
    const bad = fromEnv({ GEOJOBS_URL_INPUT_ALLOWED_HOSTS: "http://x/y" })
    assert.isFalse(bad.ok)
  })

  it("GEOJOBS_CALLBACK_*: the secret kept Redacted and never shown; hosts, attempts and delays when set", () => {
    assert.deepStrictEqual(read({}).callbacks, {
      secret: undefined,
      allowedHosts: [],
      maxAttempts: undefined,
      retryMs: undefined,
      retryMaxMs: undefined,
      timeoutMs: undefined
    })
    const secret = "whsec-0123456789abcdef-callbacks"
    const config = read({
      GEOJOBS_CALLBACK_SECRET: secret,
      GEOJOBS_CALLBACK_ALLOW_HOSTS: "hooks.intranet.example, 10.0.0.9",
      GEOJOBS_CALLBACK_MAX_ATTEMPTS: "5",
      GEOJOBS_CALLBACK_RETRY_MS: "500",
      GEOJOBS_CALLBACK_RETRY_MAX_MS: "60000",
      GEOJOBS_CALLBACK_TIMEOUT_MS: "3000"
    })
    assert.strictEqual(config.callbacks.secret === undefined ? "" : Redacted.value(config.callbacks.secret), secret)
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 })]) assert.notInclude(shown, secret)
    assert.deepStrictEqual(
      { ...config.callbacks, secret: undefined },
      {
        secret: undefined,
        allowedHosts: ["hooks.intranet.example", "10.0.0.9"],
        maxAttempts: 5,
        retryMs: 500,
        retryMaxMs: 60000,
        timeoutMs: 3000
      }
    )
    const short = problems({ GEOJOBS_CALLBACK_SECRET: "tiny-secret" })
    assert.include(short, "GEOJOBS_CALLBACK_SECRET=[redacted]: the callback secret needs at least 16 characters")
    assert.notInclude(short, "tiny-secret")
    assert.include(problems({ GEOJOBS_CALLBACK_ALLOW_HOSTS: "http://x/y" }), "GEOJOBS_CALLBACK_ALLOW_HOSTS")
    assert.include(problems({ GEOJOBS_CALLBACK_MAX_ATTEMPTS: "0" }), "GEOJOBS_CALLBACK_MAX_ATTEMPTS")
    assert.include(
      problems({ GEOJOBS_CALLBACK_RETRY_MS: "5000", GEOJOBS_CALLBACK_RETRY_MAX_MS: "1000" }),
      "GEOJOBS_CALLBACK_RETRY_MS"
    )
  })

  it("GEOJOBS_NODE_NAME: host and process id by default; no spaces", () => {
    assert.strictEqual(read({}).nodeName, `${hostname()}-${process.pid}`)
    assert.strictEqual(read({ GEOJOBS_NODE_NAME: "gis-node-1.example.com" }).nodeName, "gis-node-1.example.com")
    assert.include(problems({ GEOJOBS_NODE_NAME: "node one" }), "expected a node name")
  })

  it("GEOJOBS_ROLE: all by default, api or worker", () => {
    assert.strictEqual(read({}).role, "all")
    assert.strictEqual(read({ GEOJOBS_ROLE: "api" }).role, "api")
    assert.strictEqual(read({ GEOJOBS_ROLE: "worker" }).role, "worker")
    assert.include(problems({ GEOJOBS_ROLE: "scheduler" }), 'GEOJOBS_ROLE="scheduler": expected all, api or worker')
  })
})
