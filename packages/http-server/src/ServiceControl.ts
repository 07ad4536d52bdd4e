/**
 * Starting and stopping services, as ArcGIS's admin API does: a stopped service refuses new jobs (`submitJob`,
 * `execute`, an OGC execution) with {@link ServiceStopped}, while jobs already submitted run to completion and stay
 * readable. The status lives in core's `SecurityStore` — the configuration every node shares — and is read there on
 * every submission, never cached: a service stopped through one node takes no job on any other, and stays stopped
 * across restarts. A service without a stored status is `STARTED`.
 *
 * @module
 */
import { SecurityStore, ServiceRef } from "@geojobs/core"
import { Clock, Context, Data, Effect, Layer } from "effect"

/**
 * A new job for a service an administrator stopped.
 *
 * @category errors
 */
export class ServiceStopped extends Data.TaggedError("ServiceStopped")<{ readonly service: string }> {
  override get message(): string {
    return `Service ${this.service} is stopped: it takes no new jobs.`
  }
}

/**
 * A service's status as the directory shows it: `STARTED` or `STOPPED`, and who changed it when (absent for a
 * service never started or stopped).
 *
 * @category models
 */
export interface Status {
  readonly status: SecurityStore.ServiceStatus
  readonly changed?: number | undefined
  readonly changedBy?: string | undefined
}

/** @category services */
export interface ServiceControlShape {
  readonly statusOf: (service: ServiceRef.ServicePath) => Effect.Effect<Status, SecurityStore.SecurityStoreError>
  /** Every service's status by its path (`ServiceRef.path`); services not listed are `STARTED`. */
  readonly statuses: Effect.Effect<ReadonlyMap<string, Status>, SecurityStore.SecurityStoreError>
  /** Starts or stops a service, in the name of `by`. Idempotent: stopping a stopped service keeps it stopped. */
  readonly set: (
    service: ServiceRef.ServicePath,
    status: SecurityStore.ServiceStatus,
    by: string
  ) => Effect.Effect<void, SecurityStore.SecurityStoreError>
  /** Succeeds for a started service; fails with {@link ServiceStopped} for a stopped one. */
  readonly ensureStarted: (
    service: ServiceRef.ServicePath
  ) => Effect.Effect<void, ServiceStopped | SecurityStore.SecurityStoreError>
}

const started: Status = { status: "STARTED" }

const statusOfRecord = (record: SecurityStore.ServiceStatusRecord | undefined): Status =>
  record === undefined ? started : { status: record.status, changed: record.changed, changedBy: record.changedBy }

const make = (store: SecurityStore.SecurityStoreShape): ServiceControlShape => ({
  statusOf: (service) => Effect.map(store.getServiceStatus(ServiceRef.path(service)), statusOfRecord),
  statuses: Effect.map(
    store.listServiceStatuses,
    (records) => new Map(records.map((r) => [r.service, statusOfRecord(r)] as const))
  ),
  set: (service, status, by) =>
    Effect.flatMap(Clock.currentTimeMillis, (changed) =>
      store.putServiceStatus({ service: ServiceRef.path(service), status, changed, changedBy: by })
    ),
  ensureStarted: (service) =>
    Effect.flatMap(store.getServiceStatus(ServiceRef.path(service)), (record) =>
      record?.status === "STOPPED"
        ? Effect.fail(new ServiceStopped({ service: ServiceRef.path(service) }))
        : Effect.void
    )
})

/**
 * The service-control service.
 *
 * @category services
 */
export class ServiceControl extends Context.Service<ServiceControl, ServiceControlShape>()(
  "@geojobs/http-server/ServiceControl"
) {
  /**
   * Service control over the security store (whichever adapter the app chose).
   *
   * @category layers
   */
  static readonly layer: Layer.Layer<ServiceControl, never, SecurityStore.SecurityStore> = Layer.effect(
    ServiceControl,
    Effect.gen(function* () {
      return make(yield* SecurityStore.SecurityStore)
    })
  )
}
