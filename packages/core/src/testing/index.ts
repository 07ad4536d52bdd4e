/**
 * `@geojobs/core/testing`: test support for the job model — fast-check arbitraries, one sample job per status, and
 * the JobStore and JobFiles contract suites that every adapter runs. Runner-agnostic; needs `fast-check` installed.
 *
 * @module
 */
export * as Arbitraries from "./Arbitraries.ts"
export * as JobFilesSuite from "./JobFilesSuite.ts"
export * as JobStoreSuite from "./JobStoreSuite.ts"
export * as SampleJobs from "./SampleJobs.ts"
