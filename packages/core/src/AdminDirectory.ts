/**
 * The Administrator API directory's wire documents, after ArcGIS Server's (arcgis-api.md §2, §3): the admin root
 * (`admin/`: version and child resources), the services listing (`admin/services` and a folder: folders and
 * services), a service's settings and status (`admin/services/[<folder>/]<Name>.GPServer`: execution type, limits,
 * retention, access, `configuredState`), its job statistics (`…GPServer/statistics`: jobs by status), and the nodes
 * of the site (`admin/machines`: each node's name, last heartbeat and running jobs). Loose
 * (`z.looseObject`) where ArcGIS sends more; the answer of `start` and `stop` is `AdminQuery.Operation`.
 *
 * @module
 */
import { z } from "zod"
import { executionTypeSchema } from "./ServiceDirectory.ts"

/**
 * zod schema of the admin root: what the server is and which resources it has.
 *
 * @category models
 */
export const rootSchema = z.looseObject({
  currentVersion: z.number(),
  fullVersion: z.string(),
  resources: z.array(z.string())
})

/** The admin root. @category models */
export type Root = z.output<typeof rootSchema>

/**
 * A service's status as ArcGIS's admin API names it: `STARTED` or `STOPPED`.
 *
 * @category models
 */
export const statusSchema = z.enum(["STARTED", "STOPPED"])

/**
 * zod schema of a service as a listing names it (ArcGIS's `serviceName`, `folderName`, `type`), with its status.
 *
 * @category models
 */
export const serviceEntrySchema = z.looseObject({
  folderName: z.string(),
  serviceName: z.string(),
  type: z.literal("GPServer"),
  description: z.string(),
  configuredState: statusSchema
})

/** A listed service. @category models */
export type ServiceEntry = z.output<typeof serviceEntrySchema>

/**
 * zod schema of `admin/services` or a folder: its folders (only the root lists them; `/` is the root's own name in
 * ArcGIS) and its services.
 *
 * @category models
 */
export const servicesSchema = z.looseObject({
  folderName: z.string(),
  folders: z.array(z.string()),
  services: z.array(serviceEntrySchema)
})

/** The services listing. @category models */
export type Services = z.output<typeof servicesSchema>

/**
 * zod schema of a service's settings and status. Times are seconds, as the services file writes them
 * (`maxUsageTime` is ArcGIS's name for `maxExecutionTime`); `access` is `public` or the roles that may use it
 * (`private` says which). `statusChanged` (milliseconds) and `statusChangedBy` are there once an administrator
 * started or stopped it.
 *
 * @category models
 */
export const serviceSchema = z.looseObject({
  folderName: z.string(),
  serviceName: z.string(),
  type: z.literal("GPServer"),
  service_id: z.string(),
  description: z.string(),
  executionType: executionTypeSchema,
  maxConcurrentJobs: z.number(),
  maxExecutionTime: z.number(),
  maxUsageTime: z.number(),
  jobRetention: z.number(),
  access: z.union([z.literal("public"), z.looseObject({ roles: z.array(z.string()) })]),
  private: z.boolean(),
  tasks: z.array(z.string()),
  configuredState: statusSchema,
  statusChanged: z.number().optional(),
  statusChangedBy: z.string().optional(),
  resources: z.array(z.string()),
  operations: z.array(z.string())
})

/** A service's settings and status. @category models */
export type Service = z.output<typeof serviceSchema>

/**
 * zod schema of a service's job statistics: its jobs in total, by admin status word (`Succeeded`, …; statuses with
 * no job are 0), and in the classic buckets of `…/jobs/statistics` plus the ones waiting and running.
 *
 * @category models
 */
export const statisticsSchema = z.looseObject({
  folderName: z.string(),
  serviceName: z.string(),
  configuredState: statusSchema,
  total: z.number(),
  waiting: z.number(),
  executing: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  cancelled: z.number(),
  byStatus: z.record(z.string(), z.number())
})

/** A service's job statistics. @category models */
export type Statistics = z.output<typeof statisticsSchema>

/**
 * zod schema of a node as `admin/machines` lists it: ArcGIS's `machineName` (the node's name, `GEOJOBS_NODE_NAME`), the
 * id of its current start, its host and process, its last heartbeat (milliseconds since the epoch) and how long ago
 * that was, and the jobs it holds now. A node that stopped heartbeating stays listed until a live one takes its jobs
 * over and its record goes.
 *
 * @category models
 */
export const machineSchema = z.looseObject({
  machineName: z.string(),
  nodeId: z.string(),
  host: z.string(),
  pid: z.number().int(),
  lastHeartbeat: z.number().int(),
  secondsSinceHeartbeat: z.number().nonnegative(),
  runningJobs: z.number().int().nonnegative()
})

/** zod schema of `admin/machines`. @category models */
export const machinesSchema = z.looseObject({ machines: z.array(machineSchema) })

/** `admin/machines`. @category models */
export type Machines = z.output<typeof machinesSchema>
