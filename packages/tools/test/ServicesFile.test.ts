import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { load, samplePath } from "../src/ServicesFile.ts"
import { describeTask, encodeResult } from "../src/TaskDescription.ts"
import { loadTool, moduleUrl } from "../src/ToolModule.ts"

const dir = mkdtempSync(join(tmpdir(), "geojobs-services-"))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const userTool = new URL("./support/UserTool.ts", import.meta.url).pathname

describe("ServicesFile", () => {
  it.effect("loads the sample: System/Utilities (Echo, Sleep) and Analysis/Geometry (the geometry tools)", () =>
    Effect.gen(function* () {
      const services = yield* load(samplePath)
      const utilities = services.find((s) => s.ref.name === "Utilities")
      assert.strictEqual(utilities?.ref.folder, "System")
      assert.deepStrictEqual(
        utilities?.tasks.map((t) => t.name),
        ["Echo", "Sleep"]
      )
      assert.strictEqual(utilities?.maxConcurrentJobs, 4)
      assert.strictEqual(utilities?.maxExecutionTime, 600)
      assert.strictEqual(utilities?.jobRetention, 21_600)
      assert.strictEqual(utilities?.access, "public")
      const geometry = services.find((s) => s.ref.name === "Geometry")
      assert.deepStrictEqual(
        geometry?.tasks.map((t) => t.name),
        ["Buffer", "Clip", "Dissolve", "Simplify", "ConvexHull", "Centroids", "CalculateGeometry", "Project"]
      )
      assert.match(geometry?.ref.serviceId ?? "", /^[a-z0-9]{21}$/)
    })
  )

  it.effect("loads a user's tool module from a path relative to the file, and JSON files too", () =>
    Effect.gen(function* () {
      const path = file(
        "user.json",
        JSON.stringify({
          services: [
            {
              name: "Custom",
              executionType: "sync",
              access: { roles: ["publisher"] },
              tasks: [
                { module: userTool, export: "shout", retryable: true },
                { name: "Echo Again", tool: "Echo" }
              ]
            }
          ]
        })
      )
      const [custom] = yield* load(path)
      assert.strictEqual(custom?.executionType, "sync")
      assert.deepStrictEqual(custom?.access, { roles: ["publisher"] })
      assert.deepStrictEqual(
        custom?.tasks.map((t) => [t.name, t.retryable]),
        [
          ["Shout", true],
          ["Echo Again", false]
        ]
      )
      const outputs = yield* Effect.promise(async () =>
        custom?.tasks[0]?.tool.execute(
          { text: "hi" },
          { jobId: "j0", signal: new AbortController().signal, progress: () => {}, message: () => {}, outputDir: dir }
        )
      )
      assert.deepStrictEqual(outputs, { loud: "HI" })
    })
  )

  it.effect("reads a service's workerLimits (MB), leaving the ones it does not set to the engine", () =>
    Effect.gen(function* () {
      const path = file(
        "limits.yaml",
        [
          "services:",
          "  - name: Big",
          "    workerLimits: { maxOldGenerationSizeMb: 2048, retireAboveHeapMb: 1024, stackSizeMb: 8 }",
          "    tasks: [{tool: Echo}]",
          "  - name: Young",
          "    workerLimits: { maxYoungGenerationSizeMb: 64 }",
          "    tasks: [{tool: Echo}]",
          "  - name: Plain",
          "    tasks: [{tool: Echo}]",
          ""
        ].join("\n")
      )
      const [big, young, plain] = yield* load(path)
      assert.deepStrictEqual(big?.workerLimits, {
        maxOldGenerationSizeMb: 2048,
        retireAboveHeapMb: 1024,
        stackSizeMb: 8
      })
      assert.deepStrictEqual(young?.workerLimits, { maxYoungGenerationSizeMb: 64 })
      assert.isFalse(Object.hasOwn(young?.workerLimits ?? {}, "maxOldGenerationSizeMb"))
      assert.isUndefined(plain?.workerLimits)
    })
  )

  it.effect("reads a service's maxAttempts for its retryable tasks; absent, the engine's default applies", () =>
    Effect.gen(function* () {
      const path = file(
        "attempts.yaml",
        "services:\n  - name: Patient\n    maxAttempts: 7\n    tasks: [{tool: Sleep, retryable: true}]\n  - name: Plain\n    tasks: [{tool: Echo}]\n"
      )
      const [patient, plain] = yield* load(path)
      assert.strictEqual(patient?.maxAttempts, 7)
      assert.isUndefined(plain?.maxAttempts)
    })
  )

  it.effect("reads a service's uploads: true for 100 MB and a day, or its own limit and retention", () =>
    Effect.gen(function* () {
      const path = file(
        "uploads.yaml",
        [
          "services:",
          "  - name: Defaults",
          "    uploads: true",
          "    tasks: [{tool: ConvertFeatures}]",
          "  - name: Own",
          "    uploads: { maxUploadFileSize: 2048, retention: 600 }",
          "    tasks: [{tool: ConvertFeatures}]",
          "  - name: None",
          "    tasks: [{tool: Echo}]",
          ""
        ].join("\n")
      )
      const [defaults, own, none] = yield* load(path)
      assert.deepStrictEqual(defaults?.uploads, { maxUploadFileSize: 100, retention: 86_400 })
      assert.deepStrictEqual(own?.uploads, { maxUploadFileSize: 2048, retention: 600 })
      assert.isUndefined(none?.uploads)
      const sample = yield* load(samplePath)
      assert.isDefined(sample.find((s) => s.ref.name === "DataConversion")?.uploads)
    })
  )

  const uploads = (text: string) => `services:\n  - name: A\n    uploads: ${text}\n    tasks: [{tool: Echo}]\n`

  const limits = (text: string) => `services:\n  - name: A\n    workerLimits: ${text}\n    tasks: [{tool: Echo}]\n`

  const broken: ReadonlyArray<readonly [string, string, string, string]> = [
    [
      "a worker limit of zero",
      limits("{ maxOldGenerationSizeMb: 0 }"),
      "services[0].workerLimits.maxOldGenerationSizeMb",
      "at least 1"
    ],
    [
      "a fractional worker limit",
      limits("{ stackSizeMb: 1.5 }"),
      "services[0].workerLimits.stackSizeMb",
      "whole number of MB"
    ],
    [
      "a worker limit that is not a number",
      limits('{ maxYoungGenerationSizeMb: "64MB" }'),
      "services[0].workerLimits.maxYoungGenerationSizeMb",
      "whole number of MB"
    ],
    [
      "a worker limit in bytes",
      limits("{ maxOldGenerationSizeMb: 536870912 }"),
      "services[0].workerLimits.maxOldGenerationSizeMb",
      "bytes"
    ],
    [
      "a retire threshold above the old generation",
      limits("{ maxOldGenerationSizeMb: 256, retireAboveHeapMb: 512 }"),
      "services[0].workerLimits.retireAboveHeapMb",
      "ever be retired"
    ],
    [
      "an unknown worker limit",
      limits("{ maxOldSpaceSize: 512 }"),
      "services[0].workerLimits",
      "maxOldGenerationSizeMb"
    ],
    ["uploads: false", uploads("false"), "services[0].uploads", "maxUploadFileSize"],
    [
      "an upload limit in bytes",
      uploads("{ maxUploadFileSize: 104857600 }"),
      "services[0].uploads.maxUploadFileSize",
      "bytes"
    ],
    ["an unknown uploads key", uploads("{ allowedTypes: [zip] }"), "services[0].uploads", "maxUploadFileSize"],
    [
      "an unknown built-in",
      "services:\n  - name: A\n    tasks:\n      - tool: Bufer\n",
      "services[0].tasks[0].tool",
      "built-in tools"
    ],
    ["a bad service name", "services:\n  - name: a/b\n    tasks:\n      - tool: Echo\n", "services[0].name", "slash"],
    [
      "a negative limit",
      "services:\n  - name: A\n    maxConcurrentJobs: 0\n    tasks:\n      - tool: Echo\n",
      "services[0].maxConcurrentJobs",
      "positive"
    ],
    [
      "an unknown key",
      "services:\n  - name: A\n    maxInstances: 3\n    tasks:\n      - tool: Echo\n",
      "services[0]",
      "maxInstances"
    ],
    [
      "a missing module",
      "services:\n  - name: A\n    tasks:\n      - module: ./nowhere.ts\n",
      "services[0].tasks[0].module",
      "defineTool"
    ],
    [
      "a module export that is no tool",
      `services:\n  - name: A\n    tasks:\n      - module: ${userTool}\n        export: notATool\n`,
      "services[0].tasks[0].module",
      "not a tool"
    ],
    [
      "a service published twice",
      "services:\n  - name: A\n    tasks: [{tool: Echo}]\n  - name: A\n    tasks: [{tool: Sleep}]\n",
      "services[1]",
      "twice"
    ],
    [
      "a task published twice",
      "services:\n  - name: A\n    tasks: [{tool: Echo}, {tool: Echo}]\n",
      "services[0].tasks[1].name",
      "twice"
    ],
    [
      "maxAttempts of zero",
      "services:\n  - name: A\n    maxAttempts: 0\n    tasks: [{tool: Echo}]\n",
      "services[0].maxAttempts",
      "1 to 100"
    ],
    ["YAML that does not parse", "services: [\n", "", "YAML"]
  ]
  for (const [what, text, key, words] of broken) {
    it.effect(`refuses ${what}, naming the file, the key (${key || "none"}) and the fix`, () =>
      Effect.gen(function* () {
        const path = file(`${what.replaceAll(" ", "-")}.yaml`, text)
        const error = yield* Effect.flip(load(path))
        assert.strictEqual(error._tag, "ServicesFileError")
        assert.strictEqual(error.file, path)
        assert.strictEqual(error.key, key)
        assert.include(error.message, path)
        assert.include(error.message, words)
        assert.isAbove(error.fix.length, 5)
      })
    )
  }

  it.effect("a missing file is an error that says to check GEOJOBS_SERVICES", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(load(join(dir, "absent.yaml")))
      assert.include(error.message, "GEOJOBS_SERVICES")
    })
  )
})

describe("TaskDescription and ToolModule", () => {
  it.effect("describes a task with every key clients read", () =>
    Effect.gen(function* () {
      const echo = yield* loadTool(moduleUrl("../src/builtin/Echo.ts", new URL(".", import.meta.url).pathname))
      const task = describeTask(echo, { executionType: "async" })
      assert.deepStrictEqual(Object.keys(task), [
        "name",
        "displayName",
        "description",
        "category",
        "helpUrl",
        "executionType",
        "parameters"
      ])
      assert.strictEqual(task.executionType, "esriExecutionTypeAsynchronous")
      const [input, output] = task.parameters
      assert.deepStrictEqual(Object.keys(input ?? {}), [
        "name",
        "dataType",
        "displayName",
        "description",
        "direction",
        "defaultValue",
        "parameterType",
        "category"
      ])
      assert.strictEqual(input?.parameterType, "esriGPParameterTypeRequired")
      assert.strictEqual(output?.direction, "esriGPParameterDirectionOutput")
      assert.strictEqual(output?.parameterType, "esriGPParameterTypeDerived")
      const sleep = yield* loadTool(moduleUrl("../src/builtin/Sleep.ts", new URL(".", import.meta.url).pathname))
      assert.deepStrictEqual(describeTask(sleep, { executionType: "sync" }).parameters[0]?.filter, {
        type: "range",
        minimum: 0,
        maximum: 3600
      })
      assert.deepStrictEqual(encodeResult("out", { dataType: "GPString", value: "x" }), {
        paramName: "out",
        dataType: "GPString",
        value: "x"
      })
    })
  )

  it.effect("loadTool says what is wrong with a module", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(loadTool(moduleUrl(userTool, dir), "nothing"))
      assert.include(missing.message, "no such export")
      const gone = yield* Effect.flip(loadTool(moduleUrl("./gone.ts", dir)))
      assert.strictEqual(gone._tag, "ToolLoadError")
    })
  )
})
