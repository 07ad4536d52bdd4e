// A user's tool module, loaded from its path by the tests (named export).
import { defineTool } from "../../src/Tool.ts"

export const shout = defineTool({
  name: "Shout",
  parameters: [
    { name: "text", dataType: "GPString" },
    { name: "loud", dataType: "GPString", direction: "output" }
  ],
  execute: ({ text }) => ({ loud: String(text).toUpperCase() })
})

export const notATool = { execute: () => ({}) }
