// Shared vitest settings: every package's vitest.config.ts merges this, so turbo can run and cache each package alone.
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
