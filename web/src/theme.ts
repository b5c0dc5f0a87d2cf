// Naive UI sized from the root font size (styles.css: larger on big screens), so one number
// scales every control from a 1366×768 laptop to a 3840×2160 wall display. The sizes are given
// in pixels, as Naive UI's virtual lists measure them.
import type { GlobalThemeOverrides } from 'naive-ui'

const SIZES = {
  fontSize: 1,
  fontSizeMini: 0.8,
  fontSizeTiny: 0.85,
  fontSizeSmall: 0.9,
  fontSizeMedium: 1,
  fontSizeLarge: 1.08,
  fontSizeHuge: 1.15,
  heightMini: 1.15,
  heightTiny: 1.6,
  heightSmall: 2,
  heightMedium: 2.45,
  heightLarge: 2.85,
  heightHuge: 3.3,
}

export function rootFontSize(): number {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 14
}

export function themeFor(root: number): GlobalThemeOverrides {
  const common: Record<string, string> = {
    primaryColor: '#1d4ed8',
    primaryColorHover: '#2563eb',
    primaryColorPressed: '#1e40af',
    primaryColorSuppl: '#2563eb',
  }
  for (const [name, rem] of Object.entries(SIZES)) common[name] = `${Math.round(rem * root)}px`
  return { common }
}
