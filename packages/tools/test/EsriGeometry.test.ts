import { assert, describe, it } from "@effect/vitest"
import * as Fixtures from "@geojobs/fixtures"
import type { FeatureCollection, Geometry } from "geojson"
import * as EsriGeometry from "../src/EsriGeometry.ts"

const utm33nWkt =
  'PROJCS["WGS_1984_UTM_Zone_33N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],' +
  'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],' +
  'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",15.0],' +
  'PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'

/** Asserts two nested coordinate arrays have the same shape and numbers within `tolerance`. */
const assertClose = (actual: unknown, expected: unknown, tolerance: number, path = "coordinates"): void => {
  if (typeof expected === "number") {
    assert.isNumber(actual, path)
    assert.closeTo(actual as number, expected, tolerance, path)
    return
  }
  assert.isArray(actual, path)
  assert.isArray(expected, path)
  const [a, e] = [actual as Array<unknown>, expected as Array<unknown>]
  assert.strictEqual(a.length, e.length, `${path}.length`)
  e.forEach((item, i) => {
    assertClose(a[i], item, tolerance, `${path}[${i}]`)
  })
}

/** The geometry of a feature that must have one, as the shape the test expects. */
const geometryOf = <G>(feature: { readonly geometry?: unknown } | undefined): G => {
  assert.isOk(feature?.geometry, "a geometry")
  return feature?.geometry as G
}

const twin = (kind: Fixtures.FeatureKind) => Fixtures.geojson(kind) as FeatureCollection

/** Esri rings of a polygon geometry, in a canonical order (Terraformer writes a multipolygon's holes first). */
const sortedRings = (geometry: unknown) =>
  [...((geometry as { rings: Array<Array<[number, number]>> }).rings ?? [])].sort(
    (a, b) => (a[0]?.[0] ?? 0) - (b[0]?.[0] ?? 0) || (a[0]?.[1] ?? 0) - (b[0]?.[1] ?? 0)
  )

// Meridian arc length from the equator to φ on the WGS84 ellipsoid (the series every UTM text gives), for known
// UTM northings on the central meridian: N = k0·M(φ).
const meridianArc = (latitude: number) => {
  const a = 6378137
  const f = 1 / 298.257223563
  const e2 = f * (2 - f)
  const [e4, e6] = [e2 * e2, e2 * e2 * e2]
  const phi = (latitude * Math.PI) / 180
  return (
    a *
    ((1 - e2 / 4 - (3 * e4) / 64 - (5 * e6) / 256) * phi -
      ((3 * e2) / 8 + (3 * e4) / 32 + (45 * e6) / 1024) * Math.sin(2 * phi) +
      ((15 * e4) / 256 + (45 * e6) / 1024) * Math.sin(4 * phi) -
      ((35 * e6) / 3072) * Math.sin(6 * phi))
  )
}

describe("EsriGeometry.toGeoJSON", () => {
  for (const kind of Fixtures.featureKinds) {
    it(`reads the 4326 ${kind} as their GeoJSON twin, holes and multi-parts included`, () => {
      const read = EsriGeometry.toGeoJSON(Fixtures.esriFeatureSet(kind, 4326))
      assert.strictEqual(read.wkid, 4326)
      const expected = twin(kind).features
      assert.strictEqual(read.features.features.length, expected.length)
      read.features.features.forEach((feature, i) => {
        const geometry = feature.geometry as Exclude<Geometry, { type: "GeometryCollection" }>
        const twinGeometry = expected[i]?.geometry as typeof geometry
        assert.strictEqual(geometry.type, twinGeometry.type)
        assertClose(geometry.coordinates, twinGeometry.coordinates, 1e-12)
        assert.deepStrictEqual(feature.properties, expected[i]?.properties)
      })
    })

    it(`reads the Web Mercator ${kind} (wkid 102100, latestWkid 3857) back to their WGS84 twin`, () => {
      const read = EsriGeometry.toGeoJSON(Fixtures.esriFeatureSet(kind, 3857))
      assert.strictEqual(read.wkid, 3857)
      read.features.features.forEach((feature, i) => {
        const geometry = feature.geometry as Exclude<Geometry, { type: "GeometryCollection" }>
        const twinGeometry = twin(kind).features[i]?.geometry as typeof geometry
        assert.strictEqual(geometry.type, twinGeometry.type)
        assertClose(geometry.coordinates, twinGeometry.coordinates, 1e-9)
      })
    })
  }

  it("keeps the polygons' holes as inner rings: the park with its pond, the islands as a multipolygon", () => {
    const [park, , islands] = EsriGeometry.toGeoJSON(Fixtures.esriFeatureSet("polygons", 4326)).features.features
    assert.strictEqual(park?.geometry.type, "Polygon")
    assert.lengthOf(geometryOf<{ coordinates: Array<unknown> }>(park).coordinates, 2)
    assert.strictEqual(islands?.geometry.type, "MultiPolygon")
    assert.lengthOf(geometryOf<{ coordinates: Array<unknown> }>(islands).coordinates, 2)
  })

  it("resolves the input's spatial reference: none is 4326, latestWkid first, every Web Mercator alias is 3857", () => {
    const at = (spatialReference: unknown) =>
      EsriGeometry.toGeoJSON({ spatialReference, features: [{ geometry: { x: 0, y: 0 } }] }).wkid
    assert.strictEqual(at(undefined), 4326)
    assert.strictEqual(at(null), 4326)
    assert.strictEqual(at({ wkid: 102100, latestWkid: 3857 }), 3857)
    for (const alias of [102100, 102113, 900913, 3857]) assert.strictEqual(at({ wkid: alias }), 3857)
    assert.strictEqual(at({ wkid: 32633, latestWkid: 32633 }), 32633)
    assert.strictEqual(at({ wkid: 4326, latestWkid: 99999 }), 4326, "an unknown latestWkid falls back to the wkid")
    assert.strictEqual(at({ wkt: utm33nWkt }), utm33nWkt)
  })

  it("reprojects from a UTM zone given as WKT: the central meridian at the equator is 15°E, 0°", () => {
    const read = EsriGeometry.toGeoJSON({
      spatialReference: { wkt: utm33nWkt },
      features: [{ geometry: { x: 500_000, y: 0 } }]
    })
    assertClose(geometryOf<{ coordinates: unknown }>(read.features.features[0]).coordinates, [15, 0], 1e-9)
  })

  it("gives missing and empty geometries a null geometry and keeps their attributes", () => {
    const read = EsriGeometry.toGeoJSON({
      geometryType: "esriGeometryPolygon",
      features: [{ attributes: { a: 1 } }, { geometry: null }, { geometry: { rings: [] }, attributes: { a: 3 } }]
    })
    assert.deepStrictEqual(
      read.features.features.map((f) => [f.geometry, f.properties]),
      [
        [null, { a: 1 }],
        [null, {}],
        [null, { a: 3 }]
      ]
    )
  })

  it("refuses what is not a feature set, naming the parameter, and coordinates that are no place in the input SR", () => {
    assert.throws(() => EsriGeometry.toGeoJSON({ features: 3 }, "Clip_Features"), /Clip_Features.*features/)
    assert.throws(() => EsriGeometry.toGeoJSON("nope"), EsriGeometry.GeometryError)
    assert.throws(
      () => EsriGeometry.toGeoJSON({ spatialReference: { wkid: 4326 }, features: [{ geometry: { x: 1e6, y: 5e6 } }] }),
      /feature 1.*4326/
    )
    assert.throws(
      () => EsriGeometry.toGeoJSON({ spatialReference: { wkid: 2154 }, features: [{ geometry: { x: 0, y: 0 } }] }),
      /2154/
    )
  })
})

describe("EsriGeometry.fromGeoJSON", () => {
  for (const kind of Fixtures.featureKinds) {
    it(`round-trips the Web Mercator ${kind} to within a micrometre, with SR, fields and attributes`, () => {
      const original = Fixtures.esriFeatureSet(kind, 3857) as EsriGeometry.EsriFeatureSet
      const read = EsriGeometry.toGeoJSON(original)
      const written = EsriGeometry.fromGeoJSON(read.features, { wkid: read.wkid, fields: read.fields })
      assert.deepStrictEqual(written.spatialReference, { wkid: 102100, latestWkid: 3857 })
      assert.strictEqual(written.geometryType, original.geometryType)
      assert.deepStrictEqual(written.fields, original.fields)
      assert.strictEqual(written.features.length, original.features.length)
      written.features.forEach((feature, i) => {
        const source = original.features[i]
        assert.deepStrictEqual(feature.attributes, source?.attributes)
        assert.notProperty(feature.geometry, "spatialReference")
        if (kind === "polygons") assertClose(sortedRings(feature.geometry), sortedRings(source?.geometry), 1e-6)
        else if (kind === "polylines") assertClose(feature.geometry?.paths, source?.geometry?.paths, 1e-6)
        else assertClose([feature.geometry?.x, feature.geometry?.y], [source?.geometry?.x, source?.geometry?.y], 1e-6)
      })
    })
  }

  it("writes outer rings clockwise and holes counter-clockwise, as Esri JSON wants", () => {
    const written = EsriGeometry.fromGeoJSON(twin("polygons"), { wkid: 4326 })
    const rings = geometryOf<{ rings: Array<Array<[number, number]>> }>(written.features[0]).rings
    // Shoelace sum: negative for clockwise in x-east, y-north coordinates.
    const signed = (ring: Array<[number, number]>) =>
      ring.slice(1).reduce((s, [x, y], i) => s + ((ring[i]?.[0] ?? 0) * y - x * (ring[i]?.[1] ?? 0)), 0)
    assert.lengthOf(rings, 2)
    assert.isBelow(signed(rings[0] ?? []), 0, "the outer ring is clockwise")
    assert.isAbove(signed(rings[1] ?? []), 0, "the hole is counter-clockwise")
    assert.deepStrictEqual(written.spatialReference, { wkid: 4326, latestWkid: 4326 })
  })

  it("writes into a definition as `wkt`, derives the geometry type, keeps null geometries and z", () => {
    const written = EsriGeometry.fromGeoJSON(
      {
        type: "FeatureCollection",
        features: [
          {
            type: "Feature",
            geometry: {
              type: "LineString",
              coordinates: [
                [15, 10, 7],
                [15, -10, 8]
              ]
            },
            properties: {}
          },
          { type: "Feature", geometry: null, properties: { empty: true } }
        ]
      },
      { wkid: utm33nWkt }
    )
    assert.deepStrictEqual(written.spatialReference, { wkt: utm33nWkt })
    assert.strictEqual(written.geometryType, "esriGeometryPolyline")
    assert.isTrue(written.hasZ)
    const path = geometryOf<{ paths: Array<Array<Array<number>>> }>(written.features[0]).paths[0]
    assertClose(
      path,
      [
        [500_000, 0.9996 * meridianArc(10), 7],
        [500_000, -0.9996 * meridianArc(10), 8]
      ],
      0.01
    )
    assert.deepStrictEqual(written.features[1], { geometry: null, attributes: { empty: true } })
  })
})

describe("EsriGeometry.projection", () => {
  it("resolves EPSG codes in every spelling, Web Mercator's aliases, and UTM zones north and south", () => {
    for (const id of [4326, "4326", "EPSG:4326", " epsg:4326 "]) {
      assert.deepStrictEqual(EsriGeometry.projection(id).spatialReference, { wkid: 4326, latestWkid: 4326 })
    }
    for (const id of [3857, 102100, 102113, 900913, "EPSG:3857", '{"wkid":102100,"latestWkid":3857}']) {
      const p = EsriGeometry.projection(id)
      assert.strictEqual(p.id, 3857)
      assert.deepStrictEqual(p.spatialReference, { wkid: 102100, latestWkid: 3857 })
    }
    assert.strictEqual(
      EsriGeometry.projection("EPSG:32633").definition,
      "+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs"
    )
    assert.strictEqual(
      EsriGeometry.projection(32701).definition,
      "+proj=utm +zone=1 +south +datum=WGS84 +units=m +no_defs"
    )
    assert.deepStrictEqual(EsriGeometry.projection(32760).spatialReference, { wkid: 32760, latestWkid: 32760 })
  })

  it("takes proj4 definitions and WKT as given, and refuses unknown wkids and unreadable text by name", () => {
    const lcc = "+proj=lcc +lat_1=49 +lat_2=44 +lat_0=46.5 +lon_0=3 +x_0=700000 +y_0=6600000 +ellps=GRS80 +units=m"
    assert.deepStrictEqual(EsriGeometry.projection(lcc), { definition: lcc, spatialReference: { wkt: lcc }, id: lcc })
    assert.strictEqual(EsriGeometry.projection(utm33nWkt).definition, utm33nWkt)
    for (const bad of [99999, "EPSG:32661", 32600, 32700, "EPSG:2154"]) {
      assert.throws(() => EsriGeometry.projection(bad), String(bad).replace("EPSG:", ""))
    }
    assert.throws(() => EsriGeometry.projection("garbage"), /Cannot read the coordinate system "garbage"/)
    assert.throws(() => EsriGeometry.projection('PROJCS["x"]'), EsriGeometry.GeometryError)
    assert.throws(() => EsriGeometry.projection(" "), /No coordinate system/)
  })
})

describe("EsriGeometry.toKilometers", () => {
  it("converts every GPLinearUnit unit to kilometres", () => {
    const expected: Record<string, number> = {
      esriMillimeters: 0.000001,
      esriCentimeters: 0.00001,
      esriDecimeters: 0.0001,
      esriMeters: 0.001,
      esriKilometers: 1,
      esriInches: 0.0000254,
      esriFeet: 0.0003048,
      esriYards: 0.0009144,
      esriMiles: 1.609344,
      esriNauticalMiles: 1.852,
      esriIntFeet: 0.0003048,
      // A degree of arc on Turf's sphere of radius 6371.0088 km.
      esriDecimalDegrees: (6371.0088 * Math.PI) / 180
    }
    for (const [units, km] of Object.entries(expected)) {
      assert.closeTo(EsriGeometry.toKilometers({ distance: 2.5, units }), 2.5 * km, 2.5 * km * 1e-12, units)
    }
    assert.strictEqual(EsriGeometry.toKilometers({ distance: 1500 }), 1.5, "units default to esriMeters")
  })

  it("refuses an unknown unit by name, and a distance that is not a number", () => {
    assert.throws(() => EsriGeometry.toKilometers({ distance: 1, units: "esriFurlongs" }), /esriFurlongs/)
    assert.throws(() => EsriGeometry.toKilometers({ distance: 1, units: "esriUnknownUnits" }), /esriUnknownUnits/)
    assert.throws(() => EsriGeometry.toKilometers({ distance: Number.NaN, units: "esriMeters" }), /finite/)
  })
})

describe("EsriGeometry.eachFeature", () => {
  it("maps in order, reporting growing percentages with counts", () => {
    const reports: Array<[number | undefined, string | undefined]> = []
    const context = { signal: new AbortController().signal, progress: (p?: number, m?: string) => reports.push([p, m]) }
    const items = Array.from({ length: 250 }, (_, i) => i)
    assert.deepStrictEqual(
      EsriGeometry.eachFeature(items, context, "Doubling", (n) => n * 2),
      items.map((n) => n * 2)
    )
    assert.lengthOf(reports, 100, "one report per whole percentage")
    assert.deepStrictEqual(reports[0], [0, "Doubling 1 of 250"])
    assert.deepStrictEqual(reports[99], [99, "Doubling 249 of 250"])
  })

  it("throws the cancel reason, before the first item and between items", () => {
    const reason = new Error("cancelled by the user")
    const controller = new AbortController()
    controller.abort(reason)
    const context = { signal: controller.signal, progress: () => {} }
    assert.throws(() => EsriGeometry.eachFeature([], context, "x", () => 0), "cancelled by the user")
    const later = new AbortController()
    const seen: Array<number> = []
    assert.throws(
      () =>
        EsriGeometry.eachFeature([1, 2, 3], { signal: later.signal, progress: () => {} }, "x", (n) => {
          seen.push(n)
          if (n === 2) later.abort(reason)
        }),
      "cancelled by the user"
    )
    assert.deepStrictEqual(seen, [1, 2])
  })
})
