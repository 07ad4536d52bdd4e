/**
 * Python clients against the OGC API over a real port: OWSLib (Debian's python3-owslib) lists and describes the
 * processes unmodified, and a script with `requests` runs Buffer asynchronously, watches it and fetches its GeoJSON
 * result — what issue 12 asks of an analyst scripting in Python. Needs /usr/bin/python3 with owslib; where it is
 * absent the test says so and checks nothing (CI's machine has it: `apt-get install python3-owslib`).
 */
import { execFile, spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type PortServer, start } from "./support/PortServer.ts"

const python = "/usr/bin/python3"
const hasOwsLib = spawnSync(python, ["-c", "import owslib.ogcapi.processes"], { encoding: "utf8" }).status === 0
if (!hasOwsLib)
  console.warn("OwsLib.test: /usr/bin/python3 with owslib not found (apt-get install python3-owslib); skipped")

let server: PortServer
beforeAll(async () => {
  if (hasOwsLib) server = await start()
})
afterAll(async () => server?.close())

// Asynchronously: the server answering the script runs on this process's event loop.
const run = (script: string, ...args: ReadonlyArray<string>) =>
  new Promise<Record<string, unknown>>((resolve, reject) => {
    const file = join(mkdtempSync(join(tmpdir(), "geojobs-py-")), "client.py")
    writeFileSync(file, script)
    execFile(python, [file, ...args], { encoding: "utf8", timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`python failed: ${error.message}: ${stderr}`))
      else resolve(JSON.parse(stdout) as Record<string, unknown>)
    })
  })

describe.skipIf(!hasOwsLib)("Python clients on /ogcapi", () => {
  it("OWSLib lists the processes, describes Buffer and reads the conformance classes, unmodified", async () => {
    const answer = await run(
      `import json, sys
from owslib.ogcapi.processes import Processes
p = Processes(sys.argv[1])
ids = [x["id"] for x in p.processes()["processes"]]
buffer = p.process("Analysis.Geometry.Buffer")
print(json.dumps({"ids": ids, "id": buffer["id"], "inputs": sorted(buffer["inputs"].keys()),
  "outputs": sorted(buffer["outputs"].keys()), "control": buffer["jobControlOptions"],
  "conformance": p.conformance()["conformsTo"]}))`,
      `http://127.0.0.1:${server.port}/ogcapi/`
    )
    assert.includeMembers(answer.ids as Array<string>, ["System.Utilities.Echo", "Analysis.Geometry.Buffer"])
    assert.strictEqual(answer.id, "Analysis.Geometry.Buffer")
    assert.deepStrictEqual(answer.inputs, ["Dissolve", "Distance", "Input_Features"])
    assert.include(answer.control as Array<string>, "async-execute")
    assert.include(
      answer.conformance as Array<string>,
      "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/callback"
    )
  })

  it("a requests script runs Buffer asynchronously, polls its status and fetches the GeoJSON result", async () => {
    const answer = await run(
      `import json, sys, time, requests
root = sys.argv[1]
body = {"inputs": {"Input_Features": {"type": "FeatureCollection", "features": [{"type": "Feature",
  "properties": {"name": "a"}, "geometry": {"type": "Point", "coordinates": [-117.2, 34.05]}}]},
  "Distance": {"distance": 100, "units": "esriMeters"}}}
r = requests.post(root + "/processes/Analysis.Geometry.Buffer/execution", json=body, headers={"Prefer": "respond-async"})
location = r.headers["Location"]
statuses = []
for _ in range(300):
    info = requests.get(location).json()
    statuses.append(info["status"])
    if info["status"] in ("successful", "failed", "dismissed"):
        break
    time.sleep(0.1)
results = [l["href"] for l in info["links"] if l["rel"].endswith("/results")]
doc = requests.get(results[0]).json()
output = next(iter(doc.values()))
value = output.get("value", output)
print(json.dumps({"created": r.status_code, "last": statuses[-1], "results": len(results),
  "type": value.get("type"), "geometry": value["features"][0]["geometry"]["type"]}))`,
      `http://127.0.0.1:${server.port}/ogcapi`
    )
    assert.strictEqual(answer.created, 201)
    assert.strictEqual(answer.last, "successful")
    assert.strictEqual(answer.results, 1)
    assert.strictEqual(answer.type, "FeatureCollection")
    assert.strictEqual(answer.geometry, "Polygon")
  })
})
