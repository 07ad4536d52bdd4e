/**
 * `@geojobs/core/testing`: test support for the job model — fast-check arbitraries, one sample job per status, and
 * the JobStore contract suite that every store adapter runs. Runner-agnostic; needs `fast-check` installed.
 *
 * @module
 */
export * as Arbitraries from "./Arbitraries.ts"
export * as JobStoreSuite from "./JobStoreSuite.ts"
export * as SampleJobs from "./SampleJobs.ts"
