// WGS-84 → GCJ-02, the offset coordinate system mainland China's map tiles are drawn in.
// Positions in xueliang are WGS-84 (GB/T 28181 catalogs, the resource directory); when the
// configured tiles are GCJ-02, every point and outline is shifted before it is drawn, so a
// camera sits on its street. Outside mainland China the two systems are the same.

const A = 6378245.0 // Krasovsky 1940 semi-major axis, the ellipsoid GCJ-02 is defined on
const EE = 0.00669342162296594323 // its first eccentricity squared

export type LonLat = [number, number]

export function outsideChina(lon: number, lat: number): boolean {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271
}

function waves(x: number, y: number, a: number, b: number): number {
  const s = Math.sin
  const pi = Math.PI
  return ((20 * s(6 * x * pi) + 20 * s(2 * x * pi)) * 2) / 3 + ((a * s(y * pi) + b * s((y / 3) * pi)) * 2) / 3
}

function latShift(x: number, y: number): number {
  const s = Math.sin
  const pi = Math.PI
  return (
    -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) +
    waves(x, y, 20, 40) + ((160 * s((y / 12) * pi) + 320 * s((y / 30) * pi)) * 2) / 3
  )
}

function lonShift(x: number, y: number): number {
  const s = Math.sin
  const pi = Math.PI
  return (
    300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) +
    waves(x, x, 20, 40) + ((150 * s((x / 12) * pi) + 300 * s((x / 30) * pi)) * 2) / 3
  )
}

/** The GCJ-02 position of a WGS-84 one (unchanged outside mainland China). */
export function wgs84ToGcj02(lon: number, lat: number): LonLat {
  if (outsideChina(lon, lat)) return [lon, lat]
  const x = lon - 105
  const y = lat - 35
  const radLat = (lat / 180) * Math.PI
  const magic = 1 - EE * Math.sin(radLat) ** 2
  const sqrtMagic = Math.sqrt(magic)
  const dLat = (latShift(x, y) * 180) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI)
  const dLon = (lonShift(x, y) * 180) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI)
  return [lon + dLon, lat + dLat]
}

/** The identity or the GCJ-02 shift, as the tiles need. */
export function projector(system: string): (lon: number, lat: number) => LonLat {
  return system === 'gcj02' ? wgs84ToGcj02 : (lon, lat) => [lon, lat]
}
