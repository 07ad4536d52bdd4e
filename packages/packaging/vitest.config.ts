import { mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.ts"

// Packing and installing takes a while on a cold npm cache.
export default mergeConfig(shared, { test: { testTimeout: 300_000, hookTimeout: 300_000 } })
