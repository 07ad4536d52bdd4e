/**
 * What can go wrong reading or writing a data file (a zipped shapefile, GeoJSON, CSV, KML/KMZ, GeoPackage,
 * FlatGeobuf): one tagged error per kind of problem, each with a message a GIS user can act on. The format modules
 * and `DataFormat` fail with these in Effect's error channel; nothing is thrown across a module boundary.
 *
 * @module
 */
import { Data } from "effect"

/**
 * The bytes are in no format we read (or the format asked for is not one we know).
 *
 * @category errors
 */
export class UnknownFormat extends Data.TaggedError("UnknownFormat")<{
  readonly format?: string | undefined
  readonly detail: string
}> {
  override get message(): string {
    return this.format === undefined
      ? `Unknown data format: ${this.detail}`
      : `Unknown data format ${JSON.stringify(this.format)}: ${this.detail}`
  }
}

/**
 * A zip archive (a zipped shapefile, a KMZ) that cannot be opened.
 *
 * @category errors
 */
export class BadArchive extends Data.TaggedError("BadArchive")<{
  readonly format: string
  readonly detail: string
}> {
  override get message(): string {
    return `The ${this.format} is not a readable zip archive: ${this.detail}`
  }
}

/**
 * A part the format needs is missing: the `.shp` (or `.dbf`) of a zipped shapefile, the `.kml` of a KMZ, the feature
 * table of a GeoPackage, the coordinate columns of a CSV.
 *
 * @category errors
 */
export class MissingPart extends Data.TaggedError("MissingPart")<{
  readonly format: string
  readonly part: string
  readonly detail?: string | undefined
}> {
  override get message(): string {
    return `The ${this.format} has no ${this.part}${this.detail === undefined ? "." : `: ${this.detail}`}`
  }
}

/**
 * The file is of the format but its content cannot be read (corrupt bytes, bad JSON, a geometry that does not parse).
 *
 * @category errors
 */
export class UnreadableData extends Data.TaggedError("UnreadableData")<{
  readonly format: string
  readonly detail: string
}> {
  override get message(): string {
    return `Cannot read the ${this.format}: ${this.detail}`
  }
}

/**
 * Features the chosen output format cannot hold (mixed geometry types in a shapefile, multipoints in a shapefile, …),
 * or a writer that failed.
 *
 * @category errors
 */
export class CannotWrite extends Data.TaggedError("CannotWrite")<{
  readonly format: string
  readonly detail: string
}> {
  override get message(): string {
    return `Cannot write the features as ${this.format}: ${this.detail}`
  }
}

/**
 * A coordinate system that cannot be resolved or reprojected to or from.
 *
 * @category errors
 */
export class UnknownCoordinateSystem extends Data.TaggedError("UnknownCoordinateSystem")<{
  readonly detail: string
}> {
  override get message(): string {
    return `Unknown coordinate system: ${this.detail}`
  }
}

/** Every data-format problem. @category errors */
export type DataFormatError =
  | UnknownFormat
  | BadArchive
  | MissingPart
  | UnreadableData
  | CannotWrite
  | UnknownCoordinateSystem

/** The message of an unknown thrown value. @category errors */
export const describe = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : String(cause)
