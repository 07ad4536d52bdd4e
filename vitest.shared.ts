// Shared vitest settings: every package's vitest.config.ts merges this, so turbo can run and cache each package alone.
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests that run tools wait for the tool threads, which run at a lower priority (nice 10, engine ThreadPriority):
    // on a machine busy with other processes — turbo runs the packages' suites side by side — they get little of it.
    // Measured 2026-12-06: the client's upload-and-convert test, 1 s alone, took 18.8 s beside six busy processes
    // (3.5 s with the threads at nice 0), and it and another client test timed out at 30 s in full runs.
    testTimeout: 90_000,
    hookTimeout: 90_000
  }
})
