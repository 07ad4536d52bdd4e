// The official OGC API – Processes 1.0.0 schemas (the OpenAPI 3.0 schema objects of OGC 18-062r2; a copy in
// ./ogcapi-processes-1.0/schemas/, see its PROVENANCE.md), compiled with a draft-04 validator, for checking every OGC document the server
// renders in the tests.
//
// One erratum is applied, the one the reference's README describes: inputValueNoObject.yaml is a `oneOf` of `number`
// and `integer`, and of `string` and a `format: byte` string, so any integer and any string that happens to be valid
// base64 ("test") match two branches and fail `oneOf`. It is read as `anyOf`, which is what it means; every other
// schema is used byte for byte.
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert } from "@effect/vitest"
import AjvDraft04 from "ajv-draft-04"
import AjvFormats from "ajv-formats"
import { parse } from "yaml"

export const folder =
  process.env.GEOJOBS_OGC_SCHEMAS ?? fileURLToPath(new URL("./ogcapi-processes-1.0/schemas/", import.meta.url))

const base = "https://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi/schemas/"

// CommonJS modules: under NodeNext their default import is `module.exports`, whose `default` is the export proper.
const ajv = new AjvDraft04.default({ strict: false, allErrors: true })
AjvFormats.default(ajv)

for (const file of readdirSync(folder).filter((f) => f.endsWith(".yaml"))) {
  const schema = parse(readFileSync(join(folder, file), "utf8")) as Record<string, unknown>
  if (file === "inputValueNoObject.yaml") {
    schema.anyOf = schema.oneOf
    delete schema.oneOf
  }
  ajv.addSchema({ ...schema, id: `${base}${file}` })
}

export type SchemaName =
  | "landingPage"
  | "confClasses"
  | "processList"
  | "process"
  | "statusInfo"
  | "jobList"
  | "results"
  | "exception"
  | "execute"

/** How many documents were checked, by schema (a test can assert that every kind was). */
export const checked = new Map<SchemaName, number>()

/** Asserts that a document follows one of the official schemas. */
export const validate = (name: SchemaName, document: unknown): void => {
  const check = ajv.getSchema(`${base}${name}.yaml`)
  assert.isDefined(check, name)
  const ok = check?.(document) === true
  assert.isTrue(ok, `${name}: ${ajv.errorsText(check?.errors)}\n${JSON.stringify(document).slice(0, 600)}`)
  checked.set(name, (checked.get(name) ?? 0) + 1)
}

const openApiSchema = parse(readFileSync(new URL("./openapi-3.0.schema.yaml", import.meta.url), "utf8")) as Record<
  string,
  unknown
>
const openApiCheck = ajv.compile({ ...openApiSchema, id: "https://spec.openapis.org/oas/3.0/schema/geojobs-test" })

/** Asserts that a document is valid OpenAPI 3.0 (the OAI's own schema of it). */
export const validateOpenApi = (document: unknown): void => {
  const ok = openApiCheck(document) === true
  assert.isTrue(ok, `OpenAPI 3.0: ${ajv.errorsText(openApiCheck.errors)}`)
}
