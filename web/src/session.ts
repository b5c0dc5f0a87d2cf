// Who is signed in. The platform's /auth routes issue bearer tokens (see api/client.ts).

import { computed, reactive } from 'vue'
import { ApiError, clearTokens, getJson, loadTokens, request, saveTokens } from './api/client'
import type { User, WebConfig } from './api/types'

export const session = reactive({
  user: null as User | null,
  config: null as WebConfig | null,
})

/** The time zone the platform reports in (its `timezone` setting). */
export const zone = computed(() => session.config?.timezone ?? 'Asia/Shanghai')

/** The roles an account can hold (security/authz.py). */
export const ROLES = ['admin', 'operator', 'maintainer', 'auditor', 'viewer']

/** True when the API can be used now: a token the platform accepts (refreshed if need be). */
export async function ensureSession(): Promise<boolean> {
  if (!loadTokens()) return false
  if (!session.user) {
    try {
      session.user = await getJson<User>('/auth/me')
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return false
      throw error
    }
  }
  session.config ??= await getJson<WebConfig>('/web/config')
  return true
}

export async function signIn(username: string, password: string, otp: string): Promise<void> {
  const form: Record<string, string> = { username, password }
  if (otp) form.otp = otp
  clearTokens()
  const response = await request('/auth/token', { method: 'POST', form })
  saveTokens(await response.json())
  session.user = null
  await ensureSession()
}

export async function signOut(): Promise<void> {
  const tokens = loadTokens()
  try {
    if (tokens) await request('/auth/logout', { method: 'POST', json: { refresh_token: tokens.refresh_token } })
  } catch {
    // the token is dropped below either way
  }
  clearTokens()
  session.user = null
}

/** Whether the signed-in user may do ``action`` (one of the platform's permission actions). */
export function may(action: string): boolean {
  return session.user?.actions.includes(action) ?? false
}
