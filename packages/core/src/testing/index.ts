/**
 * `@geojobs/core/testing`: test support for the job model — fast-check arbitraries, one sample job per status, and
 * the contract suites (JobStore, JobQueue, CallbackOutbox, QueueSignals, SecurityStore, JobFiles) that every adapter runs. Runner-agnostic; needs
 * `fast-check` installed.
 *
 * @module
 */
export * as Arbitraries from "./Arbitraries.ts"
export * as CallbackOutboxSuite from "./CallbackOutboxSuite.ts"
export * as Contract from "./Contract.ts"
export * as JobFilesSuite from "./JobFilesSuite.ts"
export * as JobQueueSuite from "./JobQueueSuite.ts"
export * as JobStoreSuite from "./JobStoreSuite.ts"
export * as QueueSignalsSuite from "./QueueSignalsSuite.ts"
export * as SampleJobs from "./SampleJobs.ts"
export * as SecurityStoreSuite from "./SecurityStoreSuite.ts"
export * as UploadsSuite from "./UploadsSuite.ts"
