/**
 * The `geojobs` command tree (effect/cli), assembled from the modules that own each theme: `SignIn` (login, logout),
 * `Directory` (services, task), `Jobs` (submit, job, watch, results, cancel), `Admin` (jobs, delete, purge, stats, service), `Upload` (upload) and `Ogc` (the `ogc` group:
 * OGC API – Processes).
 * Each command reads its flags, talks to the server through `@geojobs/client`, and prints through `Output`; failures
 * travel as tagged errors to `main`, which prints one line and picks the exit code.
 *
 * @module
 */
import { Command } from "effect/cli"
import * as Admin from "./Admin.ts"
import * as Directory from "./Directory.ts"
import * as Jobs from "./Jobs.ts"
import * as Ogc from "./Ogc.ts"
import * as SignIn from "./SignIn.ts"
import * as Upload from "./Upload.ts"

/** The `geojobs` command. */
export const root = Command.make("geojobs").pipe(
  Command.withDescription("Run and follow geoprocessing jobs on a GeoJobs or ArcGIS server"),
  Command.withSubcommands([
    SignIn.login,
    SignIn.logout,
    Directory.services,
    Directory.task,
    Jobs.submit,
    Jobs.job,
    Jobs.watch,
    Jobs.results,
    Jobs.cancel,
    Admin.jobs,
    Admin.deleteJob,
    Admin.purge,
    Admin.stats,
    Admin.service,
    Upload.upload,
    Ogc.ogc
  ])
)
