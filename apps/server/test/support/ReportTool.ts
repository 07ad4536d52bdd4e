// A tool that writes an output file into its job's folder and answers it as a GPDataFile, naming the process it ran
// in: which node ran a job, and whether another node can serve its file from the shared jobs folder.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { defineTool } from "@geojobs/tools"

export default defineTool({
  name: "Report",
  parameters: [
    { name: "title", dataType: "GPString" },
    { name: "report", dataType: "GPDataFile", direction: "output" }
  ],
  execute: ({ title }, ctx) => {
    writeFileSync(join(ctx.outputDir, "report.txt"), `Report: ${String(title)}; ran in ${process.pid}\n`)
    return { report: { path: "report.txt" } }
  }
})
