/**
 * The services directory's wire documents: server info (`rest/info`, and a portal's `sharing/rest/info`), the catalog
 * and a folder (`rest/services[/<folder>]`), a GPServer service and one of its tasks. One zod schema each, describing
 * every key a GeoJobs server sends and loose (`z.looseObject`) where ArcGIS Enterprise sends more; keys a portal or an
 * older server may leave out are optional.
 *
 * @module
 */
import { z } from "zod"

/**
 * The two execution types of a GPServer service and its tasks.
 *
 * @category models
 */
export const executionTypeSchema = z.enum(["esriExecutionTypeAsynchronous", "esriExecutionTypeSynchronous"])

/**
 * zod schema of server info (`rest/info`; a portal's `sharing/rest/info` has the same `authInfo`). A federated server
 * names its portal in `owningSystemUrl`; 10.0 servers spelled `tokenServicesUrl` as `tokenServiceUrl`.
 *
 * @category models
 */
export const infoSchema = z.looseObject({
  currentVersion: z.number().optional(),
  fullVersion: z.string().optional(),
  /** The portal a federated server belongs to (10.1 SP1+). */
  owningSystemUrl: z.string().optional(),
  authInfo: z
    .looseObject({
      isTokenBasedSecurity: z.boolean().optional(),
      tokenServicesUrl: z.string().optional(),
      tokenServiceUrl: z.string().optional(),
      shortLivedTokenValidity: z.number().optional()
    })
    .optional()
})

/** Server info. @category models */
export type Info = z.output<typeof infoSchema>

/**
 * zod schema of the catalog or a folder: its folders (only the root lists them) and services, each named
 * `[<folder>/]<Name>` with its type.
 *
 * @category models
 */
export const catalogSchema = z.looseObject({
  currentVersion: z.number().optional(),
  folders: z.array(z.string()).default([]),
  services: z.array(z.looseObject({ name: z.string(), type: z.string() }))
})

/** The catalog or a folder. @category models */
export type Catalog = z.output<typeof catalogSchema>

/**
 * zod schema of a GPServer service resource (`…/GPServer`).
 *
 * @category models
 */
export const serviceSchema = z.looseObject({
  currentVersion: z.number().optional(),
  serviceDescription: z.string().optional(),
  tasks: z.array(z.string()),
  executionType: z.string(),
  resultMapServerName: z.string().optional(),
  maximumRecords: z.number().optional(),
  capabilities: z.string().optional()
})

/** A GPServer service. @category models */
export type Service = z.output<typeof serviceSchema>

/**
 * zod schema of one task parameter. `choiceList` and `filter` appear only where they apply.
 *
 * @category models
 */
export const parameterSchema = z.looseObject({
  name: z.string(),
  dataType: z.string(),
  displayName: z.string().optional(),
  description: z.string().optional(),
  direction: z.string(),
  defaultValue: z.unknown(),
  parameterType: z.string(),
  category: z.string().optional(),
  choiceList: z.array(z.string()).optional(),
  filter: z.looseObject({ type: z.string() }).optional()
})

/** A task parameter. @category models */
export type Parameter = z.output<typeof parameterSchema>

/**
 * zod schema of a task resource (`…/GPServer/<task>`).
 *
 * @category models
 */
export const taskSchema = z.looseObject({
  name: z.string(),
  displayName: z.string().optional(),
  description: z.string().optional(),
  category: z.string().optional(),
  helpUrl: z.string().optional(),
  executionType: z.string().optional(),
  parameters: z.array(parameterSchema)
})

/** A task. @category models */
export type Task = z.output<typeof taskSchema>
