import { describe, expect, it } from 'vitest'
import { projector, wgs84ToGcj02 } from './gcj02'

// Metres between two nearby positions (equirectangular; fine at these distances).
function metres([lon1, lat1]: [number, number], [lon2, lat2]: [number, number]): number {
  const k = (Math.PI / 180) * 6371000
  return Math.hypot((lon2 - lon1) * k * Math.cos((lat1 * Math.PI) / 180), (lat2 - lat1) * k)
}

describe('wgs84ToGcj02', () => {
  it('matches a published reference pair (Shanghai) to the last digit', () => {
    const [lon, lat] = wgs84ToGcj02(121.5272106, 31.1774276)
    expect(lon).toBeCloseTo(121.531541859215, 9)
    expect(lat).toBeCloseTo(31.17530398364597, 9)
  })

  it('shifts positions in China by hundreds of metres, smoothly', () => {
    for (const [lon, lat] of [[118.385, 31.34], [87.6, 43.8], [126.6, 45.75], [110.3, 20.0]]) {
      const shift = metres([lon, lat], wgs84ToGcj02(lon, lat))
      expect(shift).toBeGreaterThan(50)
      expect(shift).toBeLessThan(1000)
      const near = wgs84ToGcj02(lon + 0.0001, lat)
      expect(metres(wgs84ToGcj02(lon, lat), near)).toBeLessThan(12)
    }
  })

  it('leaves positions outside mainland China alone', () => {
    expect(wgs84ToGcj02(2.35, 48.85)).toEqual([2.35, 48.85])
    expect(wgs84ToGcj02(139.7, 35.7)).toEqual([139.7, 35.7])
  })

  it('is the identity for WGS-84 tiles', () => {
    expect(projector('wgs84')(118.4, 31.3)).toEqual([118.4, 31.3])
    expect(projector('gcj02')(118.4, 31.3)).toEqual(wgs84ToGcj02(118.4, 31.3))
  })
})
