// A user's tool module, published through a services file by path and run in a worker thread.
import { defineTool } from "@geojobs/tools"

export const wordCount = defineTool({
  name: "WordCount",
  parameters: [
    { name: "text", dataType: "GPString" },
    { name: "words", dataType: "GPLong", direction: "output" }
  ],
  execute: ({ text }, ctx) => {
    ctx.message("informative", `counting in ${ctx.jobId}`)
    return { words: String(text).split(/\s+/).filter(Boolean).length }
  }
})
