/**
 * The memory a tool's worker thread may use: Node's `resourceLimits` for the thread (V8's old and young generation,
 * the stack) and the heap size after a job above which the thread is retired. Set per engine, and per service over
 * the engine's (a service whose tools need more, or should get less).
 *
 * Why a limit at all: without one a worker thread gets V8's default heap limit, which Node derives from the machine's
 * memory (measured: `heap_size_limit` 4496 MB per worker on a 24 GB host), and every worker has its own. A few runaway
 * tools then take the server process — HTTP, every other job — into the operating system's OOM killer. With a limit,
 * V8 ends only that thread (`ERR_WORKER_OUT_OF_MEMORY`): its job fails and the pool starts a fresh thread.
 *
 * Why 512 MB: the heap of one job's in-memory features and rasters; the whole process stays within
 * `maxWorkers × 512 MB` plus the server's own ~70 MB RSS (with the default one worker per core, 4 cores ≈ 2 GB). V8
 * adds the young generation on top (measured: `heap_size_limit` 738 MB for a 512 MB old generation).
 *
 * Why retire: measured on Node 24 (a job allocating 245 MB of arrays, then idle; RSS of the whole process):
 * - garbage: V8 gave it back by itself while the thread sat idle — used heap 246 → 6 MB and RSS 313 → 72 MB within 2 s
 *   under a 512 MB limit, within 19 s without a limit — so nothing is needed for it;
 * - retained (a tool module caching at module level, kept because the worker imports each tool module once): never
 *   given back — 244 MB used and RSS 308 MB after 40 s, 484 MB after a second job — until the thread ended (RSS 66 MB).
 * Right after a job the two look alike (246 MB used either way), so a thread whose used heap is above
 * `retireAboveHeapMb` (default half the old generation) after a job is retired and replaced: a thread start for the
 * next job, against a heap that may never come back. A limit on the number of jobs per thread is not needed for this.
 *
 * @module
 */

/**
 * Limits of a tool's worker thread, in MB.
 *
 * @category models
 */
export interface WorkerLimits {
  /** V8's old generation (most of the JS heap); a tool going past it fails its job. */
  readonly maxOldGenerationSizeMb: number
  /** V8's young generation; V8 sizes it from the old generation when absent. */
  readonly maxYoungGenerationSizeMb?: number | undefined
  /** The thread's stack (Node's default 4). */
  readonly stackSizeMb?: number | undefined
  /** A thread whose used heap is above this after a job is replaced by a fresh one (default half the old generation). */
  readonly retireAboveHeapMb: number
}

/**
 * Limits as configured: any of them, the rest from the defaults (or the engine's, for a service).
 *
 * @category models
 */
export type Settings = Partial<WorkerLimits>

/** @category models */
export const defaultMaxOldGenerationSizeMb = 512

/**
 * The limits of a service's threads: the service's settings over the engine's over the defaults. A service that
 * sets its own old generation gets half of it as its retire threshold unless it sets that too.
 *
 * @category constructors
 */
export const resolve = (engine: Settings | undefined, service?: Settings | undefined): WorkerLimits => {
  const maxOldGenerationSizeMb =
    service?.maxOldGenerationSizeMb ?? engine?.maxOldGenerationSizeMb ?? defaultMaxOldGenerationSizeMb
  const ownOld = service?.maxOldGenerationSizeMb !== undefined
  return {
    maxOldGenerationSizeMb,
    maxYoungGenerationSizeMb: service?.maxYoungGenerationSizeMb ?? engine?.maxYoungGenerationSizeMb,
    stackSizeMb: service?.stackSizeMb ?? engine?.stackSizeMb,
    retireAboveHeapMb:
      service?.retireAboveHeapMb ??
      (ownOld ? undefined : engine?.retireAboveHeapMb) ??
      Math.floor(maxOldGenerationSizeMb / 2)
  }
}

/**
 * Node's `resourceLimits` for a worker thread (absent values left to V8).
 *
 * @category combinators
 */
export const toResourceLimits = (
  limits: WorkerLimits
): { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number } => ({
  maxOldGenerationSizeMb: limits.maxOldGenerationSizeMb,
  ...(limits.maxYoungGenerationSizeMb === undefined
    ? {}
    : { maxYoungGenerationSizeMb: limits.maxYoungGenerationSizeMb }),
  ...(limits.stackSizeMb === undefined ? {} : { stackSizeMb: limits.stackSizeMb })
})

/**
 * Threads with equal `resourceLimits` share a pool; this names the pool.
 *
 * @category combinators
 */
export const poolKey = (limits: WorkerLimits): string =>
  `${limits.maxOldGenerationSizeMb}/${limits.maxYoungGenerationSizeMb ?? ""}/${limits.stackSizeMb ?? ""}`

/**
 * The job message of a tool that went past its thread's old generation.
 *
 * @category combinators
 */
export const outOfMemoryMessage = (limits: WorkerLimits): string =>
  `The tool ran out of memory (limit ${limits.maxOldGenerationSizeMb} MB).`
