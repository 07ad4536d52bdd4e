/**
 * One sample job per status, made with core's own constructors (so they cannot drift from the model): each walks
 * the shortest legal path through the status table from New, with a message at every step, progress while
 * executing and results on success. Times come from the Clock, so under `TestClock` they are deterministic.
 *
 * @module
 */
import { Effect } from "effect"
import type { Entropy } from "../Entropy.ts"
import * as Job from "../Job.ts"
import type { InvalidReference, InvalidTransition } from "../JobError.ts"
import * as JobStatus from "../JobStatus.ts"
import { deriveServiceId, type ServiceRef } from "../ServiceRef.ts"

/**
 * The service the samples belong to: `Analysis/Geometry`.
 *
 * @category samples
 */
export const service: ServiceRef = {
  folder: "Analysis",
  name: "Geometry",
  type: "GPServer",
  serviceId: deriveServiceId("Analysis", "Geometry")
}

/**
 * The shortest path of legal transitions from New to `status` (inclusive).
 *
 * @category samples
 */
export const pathTo = (status: JobStatus.JobStatus): ReadonlyArray<JobStatus.JobStatus> => {
  const previous = new Map<JobStatus.JobStatus, JobStatus.JobStatus | null>([["New", null]])
  const queue: Array<JobStatus.JobStatus> = ["New"]
  while (queue.length > 0) {
    const current = queue.shift() as JobStatus.JobStatus
    for (const next of JobStatus.table[current].successors) {
      if (!previous.has(next)) {
        previous.set(next, current)
        queue.push(next)
      }
    }
  }
  const path: Array<JobStatus.JobStatus> = []
  for (let at: JobStatus.JobStatus | null | undefined = status; at != null; at = previous.get(at)) path.unshift(at)
  return path
}

/**
 * A sample job in `status`, a Buffer task run by `analyst`.
 *
 * @category samples
 */
export const make = (
  status: JobStatus.JobStatus,
  options: { readonly service?: ServiceRef | undefined; readonly user?: string | null | undefined } = {}
): Effect.Effect<Job.Job, InvalidReference | InvalidTransition, Entropy> =>
  Effect.gen(function* () {
    let job = yield* Job.make({
      service: options.service ?? service,
      task: "Buffer",
      user: options.user === undefined ? "analyst" : options.user,
      status: "New",
      inputs: {
        Input_Features: {
          dataType: "GPFeatureRecordSetLayer",
          value: { geometryType: "esriGeometryPoint", features: [] }
        },
        Distance: { dataType: "GPLinearUnit", value: { distance: 1, units: "esriKilometers" } }
      }
    })
    for (const next of pathTo(status).slice(1)) {
      job = yield* Job.transition(job, next)
      job = yield* Job.addMessage(job, next === "Failed" ? "error" : "informative", `Status: ${next}`)
      if (next === "Executing") job = Job.setProgress(job, 40, "Buffering features")
      if (next === "Succeeded") {
        job = Job.setResults(job, {
          Output_Features: {
            dataType: "GPFeatureRecordSetLayer",
            value: { geometryType: "esriGeometryPolygon", features: [] }
          }
        })
      }
      if (JobStatus.isTerminal(next)) job = Job.expireAfter(job, 6 * 3_600_000)
    }
    return job
  })

/**
 * One sample per status, keyed by status.
 *
 * @category samples
 */
export const all: Effect.Effect<
  { readonly [S in JobStatus.JobStatus]: Job.Job },
  InvalidReference | InvalidTransition,
  Entropy
> = Effect.map(
  Effect.forEach(JobStatus.all, (status) => make(status)),
  (jobs) => Object.fromEntries(jobs.map((job) => [job.status, job])) as { readonly [S in JobStatus.JobStatus]: Job.Job }
)
