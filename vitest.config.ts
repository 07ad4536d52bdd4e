// Root config for watch mode across every package (`pnpm vitest`); CI runs each package's own config through turbo.
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: { projects: ["packages/*", "apps/*"] }
})
