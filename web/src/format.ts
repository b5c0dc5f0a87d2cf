// How numbers and times are written on screen (one place, so tests can predict the text).

/** A rate 0–1 as a percentage with two decimals, e.g. 0.97351 → "97.35%"; null → "—". */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(2)}%`
}

export function count(value: number | null | undefined, locale: string): string {
  return value === null || value === undefined ? '—' : value.toLocaleString(locale === 'zh' ? 'zh-CN' : 'en')
}

/** A UTC instant from the API in the deployment's zone, to the minute: "2026-11-03 14:05". */
export function localTime(iso: string | null | undefined, timeZone: string, seconds = false): string {
  if (!iso) return '—'
  const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : iso + 'Z')
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: seconds ? '2-digit' : undefined,
    hourCycle: 'h23',
  }).formatToParts(date)
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? ''
  const time = `${get('hour')}:${get('minute')}${seconds ? ':' + get('second') : ''}`
  return `${get('year')}-${get('month')}-${get('day')} ${time}`
}

/** The states a point can be drawn in, with their colours (colour-blind safe pairs). */
export const STATE_COLOURS: Record<string, string> = {
  online: '#16a34a',
  offline: '#6b7280',
  defect: '#dc2626',
}
