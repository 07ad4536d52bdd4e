// A user's tool for the CLI tests: reports step progress and messages, writes a file result, and fails on request.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { defineTool } from "@geojobs/tools"

export default defineTool({
  name: "Survey",
  parameters: [
    { name: "steps", dataType: "GPLong", defaultValue: 2 },
    { name: "fail", dataType: "GPBoolean", defaultValue: false },
    { name: "report", dataType: "GPDataFile", direction: "output" }
  ],
  execute: async ({ steps, fail }, ctx) => {
    const n = typeof steps === "number" ? steps : 2
    for (let i = 1; i <= n; i++) {
      ctx.message("informative", `Surveyed block ${i} of ${n}`)
      ctx.progress(Math.round((i / n) * 100), `Block ${i} of ${n}`)
      await new Promise((resolve) => setTimeout(resolve, 150))
    }
    if (fail === true) throw new Error("the survey layer is locked by another editor")
    writeFileSync(join(ctx.outputDir, "report.txt"), `Surveyed ${n} blocks\n`)
    return { report: { path: "report.txt" } }
  }
})
