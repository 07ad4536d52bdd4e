/**
 * Prometheus metrics (`GET /metrics`, prom-client): jobs by status and the queue depth, read from the store at scrape
 * time (so they are right across every process sharing it), HTTP request latency by route, and the process defaults.
 *
 * @module
 */
import type { JobStatus } from "@geojobs/core"
import { collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"

/**
 * The server's metrics.
 *
 * @category constructors
 */
export const make = (options: {
  readonly jobCounts: () => Promise<Readonly<Partial<Record<JobStatus.JobStatus, number>>>>
  /** This node's name: a `node` label on every series, so a cluster's scrapes tell the nodes apart. */
  readonly nodeName?: string | undefined
}) => {
  const registry = new Registry()
  if (options.nodeName !== undefined) registry.setDefaultLabels({ node: options.nodeName })
  collectDefaultMetrics({ register: registry, prefix: "geojobs_process_" })
  let counts: Readonly<Partial<Record<JobStatus.JobStatus, number>>> = {}
  const jobs = new Gauge({
    name: "geojobs_jobs",
    help: "Jobs in the store, by status.",
    labelNames: ["status"],
    registers: [registry],
    collect() {
      this.reset()
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n ?? 0)
    }
  })
  const queue = new Gauge({
    name: "geojobs_queue_depth",
    help: "Jobs submitted and waiting for a worker.",
    registers: [registry],
    collect() {
      this.set((counts.Submitted ?? 0) + (counts.Waiting ?? 0) + (counts.New ?? 0))
    }
  })
  const requests = new Histogram({
    name: "geojobs_http_request_duration_seconds",
    help: "HTTP request latency by method, route and status.",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry]
  })
  void jobs
  void queue
  const durations = new Histogram({
    name: "geojobs_job_duration_seconds",
    help: "How long jobs finished by this process executed, by service, task and final status.",
    labelNames: ["service", "task", "status"],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600],
    registers: [registry]
  })
  // prom-client hashes the label set on every observe; keep one child per label set instead.
  const children = new Map<string, ReturnType<typeof requests.labels>>()
  return {
    contentType: registry.contentType,
    observeRequest: (method: string, route: string, status: number, seconds: number) => {
      const key = `${method} ${status} ${route}`
      let child = children.get(key)
      if (child === undefined) {
        child = requests.labels({ method, route, status: String(status) })
        children.set(key, child)
      }
      child.observe(seconds)
    },
    observeJob: (service: string, task: string, status: string, seconds: number) =>
      durations.observe({ service, task, status }, seconds),
    render: async (): Promise<string> => {
      counts = await options.jobCounts()
      return registry.metrics()
    }
  }
}
