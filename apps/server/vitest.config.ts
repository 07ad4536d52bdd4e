import { mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.ts"

// These tests start real server processes (up to a dozen at once in FirstStart): run the files one after another, so
// that one file's processes do not starve another's of the machine's cores (Cluster's jobs timed out at 30 s in CI
// beside FirstStart's twelve processes, and pass in 1 s alone). The shared settings give each test 90 s.
export default mergeConfig(shared, { test: { fileParallelism: false } })
