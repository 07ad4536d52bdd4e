/**
 * Echo: a string in, the same string out. For testing clients and for the OGC test suite.
 *
 * @module
 */
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "Echo",
  displayName: "Echo",
  description: "Returns the string it is given.",
  execution: "io",
  parameters: [
    { name: "input_string", dataType: "GPString", description: "The string to echo." },
    { name: "output_string", dataType: "GPString", direction: "output", description: "The same string." }
  ],
  execute: ({ input_string }) => ({ output_string: input_string })
})
