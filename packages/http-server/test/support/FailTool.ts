// A user's tool that always fails: its job ends Failed (for the OGC failedUri callback).
import { defineTool } from "@geojobs/tools"

export default defineTool({
  name: "Fail",
  parameters: [
    { name: "reason", dataType: "GPString" },
    { name: "never", dataType: "GPString", direction: "output" }
  ],
  execute: ({ reason }) => {
    throw new Error(`failing on purpose: ${String(reason)}`)
  }
})
