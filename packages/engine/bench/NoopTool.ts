/** The benchmark's tool: does nothing and answers at once. */
export default {
  parameters: [{ name: "ok", dataType: "GPBoolean", direction: "esriGPParameterDirectionOutput" }],
  execute: () => ({ ok: true })
}
