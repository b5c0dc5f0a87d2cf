// Shapes of the API answers the web app reads (see /api/v1/openapi.json).

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}

export interface Channel {
  id: string
  name: string
  device_id: string | null
  civil_code: string
  organization: string | null
  organization_name: string | null
  point_class: number
  source: string
  status: string
  longitude: number | null
  latitude: number | null
  address: string
  resolution: string
  hd: boolean | null
  ptz_type: number | null
  manufacturer: string
  model: string
  updated_at: string
}

export interface Region {
  civil_code: string
  name: string
  parent_code: string | null
  level: number
}

export interface Organization {
  id: number
  code: string
  name: string
  parent_id: number | null
}

export interface WebConfig {
  map: { tile_url: string | null; coord_system: 'wgs84' | 'gcj02'; area: [number, number, number, number] }
  targets: { default: number; by_class: Record<string, number> }
  point_classes: number
  timezone: string
}

export interface MapPoints {
  fields: string[]
  states: string[]
  points: [string, number, number, number][]
  total: number
  excluded: { missing: number; invalid: number }
}

export interface Summary {
  channels: number
  online: number
  offline: number
  online_rate: number | null
  integrity_rate: number | null
  output_rate: number | null
  annotation_rate: number | null
  hd_rate: number | null
  coverage_rate: number | null
  [key: string]: unknown
}

export interface BreakdownRow {
  key: string | null
  name: string
  rank: number | null
  channels: number
  online_rate: number | null
  [key: string]: unknown
}

export interface TrendDay {
  date: string
  online_rate: number | null
  integrity_rate: number | null
  output_rate: number | null
  [key: string]: unknown
}

export interface Interval {
  state: string
  since: string
  until: string | null
}

export interface Finding {
  id: number
  channel_id: string
  channel_name?: string
  at: string
  ok: boolean
  output: 'ok' | 'fail'
  failure: string | null
  message: string
  defects: { kind: string; score: number }[]
  thumbnail_url: string | null
}

export interface WorkOrder {
  id: number
  channel_id: string
  channel_name: string
  civil_code: string
  organization_name: string | null
  point_class: number
  kind: string
  cause: string
  priority: number
  status: string
  fault_since: string
  detected_at: string
  due_at: string
  overdue: boolean
  assignee: string
  closed_at: string | null
  resolution: string
  close_reason: string
  events?: { at: string; kind: string; actor: string; note: string }[]
}

export interface User {
  username: string
  display_name: string
  roles: string[]
  actions: string[]
}

export interface SecurityAlert {
  id: number
  kind: string
  device_id: string
  address: string
  detail: string
  count: number
  first_seen: string
  last_seen: string
  open: boolean
  resolved_at: string | null
  resolved_by: string
  note: string
}

export interface AlertSummary {
  from: string
  to: string
  by_kind: Record<string, { alerts: number; events: number; open: number }>
  total: number
}

export interface FirmwareEntry {
  id: number
  manufacturer: string
  model: string
  firmware: string
  advisory: string
  created_at: string
  updated_at: string
  matched: number | null
}

export interface AuditRecord {
  id: number
  at: string
  actor: string
  action: string
  outcome: string
  channel: string | null
  target: string | null
  client_address: string | null
  reason: string | null
  hash: string
}

export interface AuditVerdict {
  ok: boolean
  records: number
  head: string | null
  first_bad: { id: number; problem: string } | null
}

export interface Account {
  username: string
  display_name: string
  department: string | null
  roles: string[]
  disabled: boolean
  second_factor: boolean
  single_sign_on: boolean
  created_at: string
}

export interface AuthSessionRow {
  id: string
  username: string
  method: string
  client_address: string
  user_agent: string
  created_at: string
  refreshed_at: string | null
  expires_at: string
}

export interface Grant {
  id: number
  kind: string
  user: string | null
  department: string | null
  role: string
  effect: 'allow' | 'deny'
  region: string | null
  org: string | null
  point_class: number | null
  channels: string[] | null
  expires_at: string | null
  require_reason: boolean
  note: string
  created_by: string
  created_at: string
}

export interface Listing<T> {
  items: T[]
  total: number
}
