import { describe, expect, it } from 'vitest'
import { localTime, percent } from './format'

describe('format', () => {
  it('writes rates as percentages with two decimals', () => {
    expect(percent(0.97351)).toBe('97.35%')
    expect(percent(1)).toBe('100.00%')
    expect(percent(null)).toBe('—')
  })

  it('writes UTC instants in the deployment zone', () => {
    expect(localTime('2026-11-03T06:05:09Z', 'Asia/Shanghai')).toBe('2026-11-03 14:05')
    expect(localTime('2026-11-03T06:05:09', 'Asia/Shanghai', true)).toBe('2026-11-03 14:05:09')
    expect(localTime('2026-11-03T23:30:00+00:00', 'Asia/Shanghai')).toBe('2026-11-04 07:30')
    expect(localTime(null, 'UTC')).toBe('—')
  })
})
