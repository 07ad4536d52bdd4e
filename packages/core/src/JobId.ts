/**
 * Job ids: `j` followed by 32 lowercase hex digits (128 random bits), the shape every ArcGIS client expects.
 *
 * @module
 */
import { Effect } from "effect"
import { z } from "zod"
import { Entropy } from "./Entropy.ts"

/**
 * A job id such as `j0550714f334d4114af9f7a5d05cb145e`.
 *
 * @category models
 */
export type JobId = string

const pattern = /^j[0-9a-f]{32}$/

/**
 * zod schema of a job id.
 *
 * @category models
 */
export const schema = z.string().regex(pattern, "a job id is j followed by 32 lowercase hex digits")

/** @category guards */
export const isJobId = (u: unknown): u is JobId => typeof u === "string" && pattern.test(u)

/**
 * A new random job id, from the `Entropy` service.
 *
 * @category constructors
 */
export const make: Effect.Effect<JobId, never, Entropy> = Effect.gen(function* () {
  const entropy = yield* Entropy
  const bytes = yield* entropy.bytes(16)
  return `j${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`
})
