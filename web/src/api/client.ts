// The platform's HTTP API as the web app uses it: bearer tokens kept in localStorage, one
// refresh on a 401 (then the login page), and every failure turned into words.

export const API = '/api/v1'
const STORE = 'xueliang.tokens'

export interface Tokens {
  access_token: string
  refresh_token: string | null
  expires_at: number // epoch ms
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  method?: string
  query?: Query
  json?: unknown
  form?: Record<string, string>
  signal?: AbortSignal
}

let onSignedOut: (() => void) | null = null
let refreshing: Promise<boolean> | null = null

/** Called once a request has failed for want of a valid login (the router goes to /login). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler
}

export function loadTokens(): Tokens | null {
  try {
    const text = localStorage.getItem(STORE)
    return text ? (JSON.parse(text) as Tokens) : null
  } catch {
    return null
  }
}

export function saveTokens(grant: { access_token: string; refresh_token?: string | null; expires_in?: number }): void {
  const tokens: Tokens = {
    access_token: grant.access_token,
    refresh_token: grant.refresh_token ?? null,
    expires_at: Date.now() + (grant.expires_in ?? 3600) * 1000,
  }
  localStorage.setItem(STORE, JSON.stringify(tokens))
}

export function clearTokens(): void {
  localStorage.removeItem(STORE)
}

export function url(path: string, query?: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const text = params.toString()
  return `${path.startsWith('/api/') ? '' : API}${path}${text ? '?' + text : ''}`
}

/** FastAPI's ``detail`` (a sentence, or a list of validation errors) as one line of text. */
export function describe(body: unknown, fallback: string): string {
  const detail = (body as { detail?: unknown } | null)?.detail
  if (typeof detail === 'string') return detail
  if (Array.isArray(detail)) {
    return detail
      .map((item: { loc?: unknown[]; msg?: string }) => {
        const where = (item.loc ?? []).filter((part) => part !== 'query' && part !== 'body').join('.')
        return where ? `${where}: ${item.msg}` : item.msg
      })
      .join('; ')
  }
  return fallback
}

/** New tokens for the stored refresh token (it rotates: the new one replaces it). Tabs share
 * the tokens, so one refreshes at a time, and a tab whose failed token another tab has
 * already replaced just uses the new one: a refresh token sent twice ends the session. */
async function refresh(failed: string): Promise<boolean> {
  const attempt = async (): Promise<boolean> => {
    const tokens = loadTokens()
    if (tokens && tokens.access_token !== failed) return true
    if (!tokens?.refresh_token) return false
    try {
      const response = await fetch(url('/auth/refresh'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: tokens.refresh_token }),
      })
      if (!response.ok) return false
      saveTokens(await response.json())
      return true
    } catch {
      return false
    }
  }
  const locks = (navigator as Navigator & { locks?: LockManager }).locks
  return locks ? locks.request('xueliang-refresh', attempt) : attempt()
}

function send(path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = {}
  const tokens = loadTokens()
  if (tokens) headers.Authorization = `Bearer ${tokens.access_token}`
  let body: BodyInit | undefined
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.json)
  } else if (options.form) {
    body = new URLSearchParams(options.form)
  }
  return fetch(url(path, options.query), {
    method: options.method ?? (body ? 'POST' : 'GET'),
    headers,
    body,
    signal: options.signal,
  })
}

/** The response of a request that succeeded, or an ApiError saying why not. */
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  let response: Response
  try {
    const sent = loadTokens()?.access_token
    response = await send(path, options)
    if (response.status === 401 && sent) {
      refreshing ??= refresh(sent).finally(() => (refreshing = null))
      if (await refreshing) response = await send(path, options)
    }
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error
    throw new ApiError(0, `network: ${(error as Error).message}`)
  }
  if (response.ok) return response
  let body: unknown = null
  try {
    body = await response.json()
  } catch {
    // not JSON: the status line says it
  }
  if (response.status === 401) {
    clearTokens()
    onSignedOut?.()
  }
  throw new ApiError(response.status, describe(body, `${response.status} ${response.statusText}`))
}

export async function getJson<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
  return (await request(path, { query, signal })).json() as Promise<T>
}

export async function postJson<T>(path: string, json: unknown = {}): Promise<T> {
  return (await request(path, { method: 'POST', json })).json() as Promise<T>
}

/** An object URL for an image or file the API guards (revoke it when done). */
export async function blobUrl(path: string, query?: Query): Promise<string> {
  return URL.createObjectURL(await (await request(path, { query })).blob())
}

/** Save what ``path`` answers as a file, named as the server's Content-Disposition says. */
export async function download(path: string, query: Query, fallbackName: string): Promise<string> {
  const response = await request(path, { query })
  const disposition = response.headers.get('Content-Disposition') ?? ''
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName
  const href = URL.createObjectURL(await response.blob())
  const anchor = document.createElement('a')
  anchor.href = href
  anchor.download = name
  document.body.appendChild(anchor)
  anchor.click()
  anchor.remove()
  setTimeout(() => URL.revokeObjectURL(href), 60_000)
  return name
}
