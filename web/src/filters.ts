// Filter choices shared by the map and the channel list: regions and organisations from the
// directory, point classes from the deployment, sources and states from the API's enums.
import { computed, ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { getJson } from './api/client'
import type { Organization, Page, Region } from './api/types'
import { session } from './session'

export const SOURCES = ['skynet', 'sharp_eyes', 'department', 'huiyan', 'other']
export const MAP_STATES = ['online', 'offline', 'defect']

const regions = ref<Region[]>([])
const organizations = ref<Organization[]>([])
let loading: Promise<void> | null = null

export function loadDirectory(): Promise<void> {
  loading ??= Promise.all([
    getJson<Page<Region>>('/regions').then((page) => (regions.value = page.items)),
    getJson<Page<Organization>>('/organizations').then((page) => (organizations.value = page.items)),
  ]).then(
    () => undefined,
    (error) => {
      loading = null
      throw error
    },
  )
  return loading
}

export function regionName(code: string): string {
  for (let length = code.length; length >= 2; length -= 2) {
    const found = regions.value.find((r) => r.civil_code === code.slice(0, length))
    if (found) return found.name
  }
  return code
}

export function useFilterOptions() {
  const { t } = useI18n()
  return {
    regions: computed(() =>
      regions.value
        .filter((r) => r.level >= 2)
        .map((r) => ({ label: `${'\u3000'.repeat(Math.max(0, r.level - 2))}${r.name}`, value: r.civil_code })),
    ),
    regionsFlat: regions,
    organizations: computed(() => organizations.value.map((o) => ({ label: o.name, value: o.code }))),
    classes: computed(() =>
      Array.from({ length: session.config?.point_classes ?? 3 }, (_, i) => ({
        label: t('pointClass', { n: i + 1 }),
        value: i + 1,
      })),
    ),
    sources: computed(() => SOURCES.map((s) => ({ label: t(`source.${s}`), value: s }))),
    states: computed(() => MAP_STATES.map((s) => ({ label: t(`state.${s}`), value: s }))),
    statuses: computed(() => ['online', 'offline'].map((s) => ({ label: t(`state.${s}`), value: s }))),
  }
}
