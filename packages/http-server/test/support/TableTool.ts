// A user's tool that answers a table (a GPRecordSet: fields and rows, no geometry), for the results-as-files tests.
import { defineTool } from "@geojobs/tools"

export default defineTool({
  name: "Tabulate",
  parameters: [
    { name: "rows", dataType: "GPLong" },
    { name: "table", dataType: "GPRecordSet", direction: "output" }
  ],
  execute: ({ rows }) => ({
    table: {
      fields: [
        { name: "label", type: "esriFieldTypeString", alias: "label" },
        { name: "n", type: "esriFieldTypeInteger", alias: "n" }
      ],
      features: Array.from({ length: Number(rows) }, (_, i) => ({ attributes: { label: `row ${i + 1}`, n: i + 1 } }))
    }
  })
})
