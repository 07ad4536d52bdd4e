/**
 * An engine in its own process, for the multi-process, crash and fencing tests:
 * `node EngineProcess.ts <dataDir> [maxWorkers] [nodeName] [leaseMs]` (heartbeats at a fifth of the lease; default
 * lease 2000 ms). Prints "ready" once started; shuts down gracefully on SIGTERM.
 */
import { Effect, Fiber, Layer } from "effect"
import { engineLayer, service, task } from "./Harness.ts"

const [dataDir, workers, nodeName, lease] = process.argv.slice(2)
if (dataDir === undefined) throw new Error("usage: EngineProcess.ts <dataDir> [maxWorkers] [nodeName] [leaseMs]")
const leaseMs = Number(lease ?? 2000)

const services = [
  service("Multi", { maxConcurrentJobs: 16 }, [task("record"), task("nap"), task("echo", true), task("stubborn")]),
  service("Retry", { maxConcurrentJobs: 16 }, [task("nap", true)]),
  service("Fence", { maxConcurrentJobs: 2 }, [task("fenced"), task("fencedRetry", true)])
]

const main = Layer.launch(
  Layer.mergeAll(
    engineLayer(dataDir, services, {
      maxWorkers: Number(workers ?? 2),
      heartbeatMs: Math.round(leaseMs / 5),
      leaseMs,
      ...(nodeName === undefined || nodeName === "" ? {} : { nodeName })
    }),
    Layer.effectDiscard(Effect.sync(() => console.log("ready")))
  )
)
const fiber = Effect.runFork(main)
process.on("SIGTERM", () => {
  // Shut the engine down gracefully, then leave: idle worker-pool timers would keep the process up for a minute.
  Effect.runPromise(Fiber.interrupt(fiber)).then(() => process.exit(0))
})
