import { createI18n } from 'vue-i18n'
import en from './en'
import zh from './zh'

export type Locale = 'zh' | 'en'
const STORE = 'xueliang.locale'

function initial(): Locale {
  const saved = localStorage.getItem(STORE)
  return saved === 'en' || saved === 'zh' ? saved : 'zh' // Chinese unless the user chose English
}

export const i18n = createI18n({
  legacy: false,
  locale: initial(),
  fallbackLocale: 'zh',
  messages: { zh, en },
})

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(STORE, locale)
  document.documentElement.lang = locale === 'zh' ? 'zh-CN' : 'en'
}
