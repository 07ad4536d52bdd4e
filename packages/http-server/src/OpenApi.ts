/**
 * The OGC API's OpenAPI 3.0 document (`service-desc`, `application/vnd.oai.openapi+json;version=3.0`), generated —
 * not written by hand — from core's zod schemas, the same ones the OGC routes render and check with
 * (`z.toJSONSchema` with the `openapi-3.0` target), and its readable HTML page (`service-doc`).
 *
 * @module
 */
import { JobStatus, OgcDocument, OgcException, OgcLink, OgcProcess, OgcStatusInfo } from "@geojobs/core"
import { z } from "zod"
import * as Html from "./Html.ts"

type Json = Record<string, unknown>

const components = (() => {
  const registry = z.registry<{ id: string }>()
  registry.add(OgcLink.schema, { id: "link" })
  registry.add(OgcDocument.landingSchema, { id: "landingPage" })
  registry.add(OgcDocument.conformanceSchema, { id: "confClasses" })
  registry.add(OgcProcess.summarySchema, { id: "processSummary" })
  registry.add(OgcProcess.listSchema, { id: "processList" })
  registry.add(OgcProcess.inputDescriptionSchema, { id: "inputDescription" })
  registry.add(OgcProcess.outputDescriptionSchema, { id: "outputDescription" })
  registry.add(OgcProcess.descriptionSchema, { id: "process" })
  registry.add(OgcProcess.outputSchema, { id: "output" })
  registry.add(OgcProcess.subscriberSchema, { id: "subscriber" })
  registry.add(OgcProcess.executeSchema, { id: "execute" })
  registry.add(OgcProcess.resultsSchema, { id: "results" })
  registry.add(OgcStatusInfo.schema, { id: "statusInfo" })
  registry.add(OgcDocument.jobListSchema, { id: "jobList" })
  registry.add(OgcException.schema, { id: "exception" })
  const generated = z.toJSONSchema(registry, {
    target: "openapi-3.0",
    unrepresentable: "any",
    io: "input",
    uri: (id) => `#/components/schemas/${id}`
  })
  return openApiSchemas(generated.schemas as Record<string, unknown>) as Record<string, Json>
})()

/** Keywords JSON Schema has and OpenAPI 3.0's schema objects do not; `const` becomes a one-value `enum`. */
function openApiSchemas(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(openApiSchemas)
  if (value === null || typeof value !== "object") return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === "$id" || k === "$schema" || k === "propertyNames" || k === "examples") continue
    if (k === "const") out.enum = [v]
    else out[k] = openApiSchemas(v)
  }
  return out
}

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` })
const json = (id: string) => ({ "application/json": { schema: ref(id) } })
const html = { "text/html": { schema: { type: "string" } } }
const ok = (id: string, description: string) => ({ description, content: { ...json(id), ...html } })
const exception = (description: string) => ({ description, content: json("exception") })

const f = {
  name: "f",
  in: "query",
  required: false,
  description: "The representation: json or html (else the Accept header decides; */* is JSON).",
  schema: { type: "string", enum: ["json", "html"] }
}
const limit = (fallback: number) => ({
  name: "limit",
  in: "query",
  required: false,
  schema: { type: "integer", minimum: 1, maximum: 10000, default: fallback }
})
const offset = {
  name: "offset",
  in: "query",
  required: false,
  description: "How many items to skip (the next and prev links carry it).",
  schema: { type: "integer", minimum: 0, default: 0 }
}
const processID = {
  name: "processID",
  in: "path",
  required: true,
  description: "[<folder>.]<service>.<task>, each name with characters other than letters, digits, _ and - as ~XX.",
  schema: { type: "string" }
}
const jobID = { name: "jobID", in: "path", required: true, schema: { type: "string" } }
const list = (name: string, description: string, items: Json = { type: "string" }) => ({
  name,
  in: "query",
  required: false,
  description,
  style: "form",
  explode: false,
  schema: { type: "array", items }
})
const unauthorized = exception("A token is required (Authorization: Bearer), or the token is not valid.")
const forbidden = exception("The caller may not use this process.")

/**
 * The OpenAPI 3.0 document of the OGC API under `root` (`https://host/ogcapi`).
 *
 * @category constructors
 */
export const document = (options: { readonly root: string; readonly version: string }): Json => ({
  openapi: "3.0.3",
  info: {
    title: "GeoJobs – OGC API – Processes",
    version: options.version,
    description:
      "OGC API – Processes – Part 1: Core 1.0 over the jobs of a GeoJobs server. Tokens are sent as Authorization: Bearer.",
    license: { name: "Apache-2.0", url: "https://www.apache.org/licenses/LICENSE-2.0" }
  },
  servers: [{ url: options.root.replace(/\/+$/, "") }],
  tags: [{ name: "Capabilities" }, { name: "Processes" }, { name: "Jobs" }],
  paths: {
    "/": {
      get: {
        tags: ["Capabilities"],
        summary: "Landing page",
        operationId: "getLandingPage",
        parameters: [f],
        responses: { "200": ok("landingPage", "The landing page") }
      }
    },
    "/conformance": {
      get: {
        tags: ["Capabilities"],
        summary: "Conformance classes",
        operationId: "getConformance",
        parameters: [f],
        responses: { "200": ok("confClasses", "The conformance classes the server meets") }
      }
    },
    "/api": {
      get: {
        tags: ["Capabilities"],
        summary: "This API definition",
        operationId: "getApi",
        parameters: [f],
        responses: {
          "200": {
            description: "The OpenAPI 3.0 document, or its page",
            content: { [OgcLink.mediaTypes.openapi]: { schema: { type: "object" } }, ...html }
          }
        }
      }
    },
    "/processes": {
      get: {
        tags: ["Processes"],
        summary: "The processes: every task of every service the caller may use",
        operationId: "getProcesses",
        parameters: [f, limit(1000), offset],
        responses: { "200": ok("processList", "The process list"), "401": unauthorized }
      }
    },
    "/processes/{processID}": {
      get: {
        tags: ["Processes"],
        summary: "A process description",
        operationId: "getProcessDescription",
        parameters: [processID, f],
        responses: {
          "200": ok("process", "The process description"),
          "401": unauthorized,
          "403": forbidden,
          "404": exception("No such process (no-such-process)")
        }
      }
    },
    "/processes/{processID}/execution": {
      post: {
        tags: ["Processes"],
        summary: "Execute a process",
        description:
          "Synchronous for synchronous services, asynchronous (201 Created, Location, statusInfo) for asynchronous ones; Prefer: respond-async is honoured where the service allows it. response raw (default: one output answers its bare value in its media type) or document.",
        operationId: "execute",
        parameters: [
          processID,
          { name: "Prefer", in: "header", required: false, schema: { type: "string", example: "respond-async" } }
        ],
        requestBody: { required: true, content: json("execute") },
        responses: {
          "200": {
            description: "The results (synchronous execution)",
            content: { ...json("results"), "*/*": { schema: {} } }
          },
          "201": {
            description: "The job was created (asynchronous execution); Location is its status",
            headers: { Location: { schema: { type: "string" } } },
            content: json("statusInfo")
          },
          "204": { description: "A raw output sent by reference: the Link header holds it" },
          "400": exception("An input that the process cannot take; the exception names it"),
          "401": unauthorized,
          "403": forbidden,
          "404": exception("No such process (no-such-process)"),
          "415": exception("The body is not JSON"),
          "500": exception("The job failed (job-failed)")
        }
      }
    },
    "/jobs": {
      get: {
        tags: ["Jobs"],
        summary: "The jobs the caller may see",
        operationId: "getJobs",
        parameters: [
          f,
          list("type", "Only jobs of these types (process).", { type: "string", enum: ["process"] }),
          list("processID", "Only jobs of these processes."),
          list("status", "Only jobs in these statuses (default: all but accepted).", {
            type: "string",
            enum: [...JobStatus.ogcStatuses]
          }),
          {
            name: "datetime",
            in: "query",
            required: false,
            description: "Created at this RFC 3339 instant, or in the interval start/end (.. for an open end).",
            schema: { type: "string" }
          },
          { name: "minDuration", in: "query", required: false, schema: { type: "number", minimum: 0 } },
          { name: "maxDuration", in: "query", required: false, schema: { type: "number", minimum: 0 } },
          limit(10),
          offset
        ],
        responses: { "200": ok("jobList", "The job list"), "400": exception("A filter that cannot be read") }
      }
    },
    "/jobs/{jobID}": {
      get: {
        tags: ["Jobs"],
        summary: "A job's status",
        operationId: "getStatus",
        parameters: [jobID, f],
        responses: { "200": ok("statusInfo", "The job's status"), "404": exception("No such job (no-such-job)") }
      },
      delete: {
        tags: ["Jobs"],
        summary: "Dismiss a job: cancel it if it runs, and remove it",
        operationId: "dismiss",
        parameters: [jobID],
        responses: {
          "200": { description: "The job was dismissed", content: json("statusInfo") },
          "403": exception("The caller may see the job but not dismiss it"),
          "404": exception("No such job (no-such-job)")
        }
      }
    },
    "/jobs/{jobID}/results": {
      get: {
        tags: ["Jobs"],
        summary: "A successful job's results",
        operationId: "getResult",
        parameters: [jobID, f],
        responses: {
          "200": ok("results", "The results document"),
          "404": exception("No such job (no-such-job), or the job has not finished (result-not-ready)"),
          "500": exception("The job failed or was dismissed (job-failed)")
        }
      }
    }
  },
  components: { schemas: components }
})

/**
 * The readable page of the API (`service-doc`): every operation with its parameters and answers.
 *
 * @category constructors
 */
export const page = (
  doc: Json,
  options: {
    readonly home: string
    readonly account?: { readonly signIn: string; readonly signOut: string } | undefined
    readonly signedIn?: string | undefined
  }
): string => {
  const paths = doc.paths as Record<string, Record<string, Json>>
  const rows = Object.entries(paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, op]) => {
      const params = ((op.parameters ?? []) as Array<Json>)
        .map((p) => `<code>${Html.escapeHtml(String(p.name))}</code> (${Html.escapeHtml(String(p.in))})`)
        .join(", ")
      const answers = Object.entries((op.responses ?? {}) as Record<string, Json>)
        .map(
          ([code, r]) =>
            `<li><strong>${Html.escapeHtml(code)}</strong> ${Html.escapeHtml(String(r.description ?? ""))}</li>`
        )
        .join("")
      return `<section><h2><code>${Html.escapeHtml(method.toUpperCase())} ${Html.escapeHtml(path)}</code></h2>
<p>${Html.escapeHtml(String(op.summary ?? ""))}${op.description === undefined ? "" : ` — ${Html.escapeHtml(String(op.description))}`}</p>
${params === "" ? "" : `<p>Parameters: ${params}</p>`}<ul>${answers}</ul></section>`
    })
  )
  const info = doc.info as Json
  return Html.page({
    title: String(info.title),
    home: options.home,
    account: options.account,
    signedIn: options.signedIn,
    extra: `<p>${Html.escapeHtml(String(info.description ?? ""))}</p><p>Server: <code>${Html.escapeHtml(
      String((doc.servers as Array<Json>)[0]?.url ?? "")
    )}</code> · <a href="?f=json">OpenAPI 3.0 document</a></p>${rows.join("\n")}`
  })
}
