/**
 * Uploading files: `geojobs upload <service> <file>` (a service's ArcGIS `uploads/upload`), and the upload behind
 * `-p name=@file` for a file-typed parameter (whose value then is `{"itemID": …}`). Owns which parameters take an
 * upload, and the byte progress bar (cli-progress, as `watch` draws its bar) on a terminal.
 *
 * @module
 */
import { openAsBlob } from "node:fs"
import { basename } from "node:path"
import type { Client, ClientError, UploadItem } from "@geojobs/client"
import { SingleBar } from "cli-progress"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Session from "./Session.ts"

// Feature and record sets take an upload too (ArcGIS's `{"itemID": …}`), but a JSON file for one is its value, sent
// as text as `@file` always did.
const featureTypes: ReadonlySet<string> = new Set(["GPFeatureRecordSetLayer", "GPRecordSet"])

/**
 * Whether `-p name=@path` uploads the file (and sends its itemID) rather than sending its text: always for a
 * GPDataFile parameter; for a feature or record set when the service takes uploads and the file is no JSON.
 */
export const takesUpload = (dataType: string | undefined, serviceUploads: boolean, path: string): boolean =>
  dataType === "GPDataFile" ||
  (serviceUploads && dataType !== undefined && featureTypes.has(dataType) && !/\.(geo)?json$/i.test(path))

/** Whether a GPServer's `capabilities` (comma-separated) include Uploads. */
export const hasUploads = (capabilities: string | undefined): boolean =>
  (capabilities ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .includes("uploads")

const size = (bytes: number): string =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} KB`
      : `${(bytes / 1024 / 1024).toFixed(1)} MB`

/**
 * Uploads the file at `path` to the service: the item. On a terminal (and not `--json`) a progress bar of the bytes
 * sent is drawn on stderr. A file that cannot be read is a usage error starting with `label`.
 */
export const send = (
  client: Client,
  service: string,
  path: string,
  out: Output.Output,
  options: { readonly label: string; readonly description?: string | undefined }
): Effect.Effect<UploadItem, ClientError | Failure.Failure> =>
  Effect.gen(function* () {
    // A Blob backed by the file: read as it is sent, never whole in memory.
    const file = yield* Effect.tryPromise({
      try: () => openAsBlob(path),
      catch: (e) =>
        Failure.badUsage(
          `${options.label}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`
        )
    })
    const onTerminal = out.mode !== "json" && process.stderr.isTTY === true
    const bar = onTerminal
      ? new SingleBar({
          stream: process.stderr,
          format: ` Uploading ${out.errColor.cyan("{bar}")} {percentage}% | {sent} of {size} | {file}`,
          barCompleteChar: "█",
          barIncompleteChar: "░",
          barsize: 30,
          hideCursor: true,
          clearOnComplete: false,
          fps: 10
        })
      : undefined
    const name = basename(path)
    bar?.start(file.size, 0, { sent: size(0), size: size(file.size), file: name })
    const item = yield* client
      .upload(service, file, {
        fileName: name,
        description: options.description,
        // The body's bytes include the multipart framing: the bar shows the file's share of them.
        onProgress:
          bar === undefined
            ? undefined
            : (sent, total) => {
                const fileSent = Math.max(0, Math.min(file.size, sent - (total - file.size)))
                bar.update(sent === total ? file.size : fileSent, { sent: size(sent === total ? file.size : fileSent) })
              }
      })
      .pipe(Effect.ensuring(Effect.sync(() => bar?.stop())))
    return item
  })

/** `geojobs upload <service> <file> [--description text]`. */
export const upload = Command.make(
  "upload",
  {
    ...Output.flags,
    ...Session.flags,
    service: Argument.String("service").pipe(Argument.withDescription("Folder/Name (a service with uploads)")),
    file: Argument.String("file").pipe(
      Argument.withDescription("The file: .zip (shapefile), .geojson, .json, .csv, .kml, .kmz, .gpkg, .fgb, .txt")
    ),
    description: Flag.String("description").pipe(Flag.withDescription("A description of the item"), Flag.optional)
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connect(input)
    const item = yield* send(client, input.service, input.file, out, {
      label: input.file,
      description: Option.getOrUndefined(input.description)
    })
    if (out.mode === "json") return out.json(item)
    out.line(item.itemID)
    out.note(`Uploaded ${item.itemName} to ${input.service}: pass it as -p <param>='{"itemID":"${item.itemID}"}'`)
  })
).pipe(
  Command.withDescription("Upload a file to a service (its uploads): prints the itemID a file parameter takes"),
  Command.withExamples([
    {
      command: "geojobs upload Analysis/DataConversion parcels.zip --description 'parcels from the county'",
      description: "Upload a zipped shapefile; prints its itemID"
    },
    {
      command: "geojobs submit Analysis/DataConversion ConvertFeatures -p Input_File=@parcels.zip --wait",
      description: "Or let submit upload it for a file parameter"
    }
  ])
)
