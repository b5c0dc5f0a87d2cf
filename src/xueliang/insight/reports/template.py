# ruff: noqa: E501  (HTML markup reads better unwrapped)
"""The report's HTML (Jinja2), kept in a module so it ships with the package like any code.

The same HTML is the HTML report and the source of the PDF (WeasyPrint); charts are inline SVG.
"""

from __future__ import annotations

__all__ = ["REPORT_HTML"]

REPORT_HTML = """<!DOCTYPE html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}">
<head>
<meta charset="utf-8">
<title>{{ t['title.' ~ r.kind] }} {{ r.period.label() }}</title>
<style>
  @page { size: A4; margin: 14mm 12mm; @bottom-right { content: counter(page) " / " counter(pages); font-size: 9px; } }
  body { font-family: "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", sans-serif; font-size: 11px;
         color: #222; margin: 0 auto; max-width: 900px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  h2 { font-size: 14px; border-bottom: 2px solid #1f6fb2; padding-bottom: 2px; margin: 18px 0 6px; }
  .meta { color: #555; margin-bottom: 8px; }
  table { border-collapse: collapse; width: 100%; margin: 4px 0; page-break-inside: auto; }
  tr { page-break-inside: avoid; }
  th, td { border: 1px solid #ccc; padding: 3px 5px; text-align: right; }
  th { background: #eef3f8; }
  td.l, th.l { text-align: left; }
  .missed { color: #c0392b; font-weight: bold; }
  .met { color: #2e7d32; }
  .up { color: #2e7d32; } .down { color: #c0392b; }
  .note { color: #555; }
  svg { display: block; margin: 4px 0; }
</style>
</head>
<body>
<h1>{{ t['title.' ~ r.kind] }}</h1>
<div class="meta">
  {{ t.period }}: {{ r.period.label() }} ({{ local(r.period.start) }} – {{ local(r.period.end) }}) ·
  {{ t.region }}: {{ r.region_name if r.region else t.all }}{% if r.region %} ({{ r.region }}){% endif %} ·
  {{ t.zone }}: {{ r.zone }} · {{ t.generated }}: {{ local(r.generated_at) }}
</div>

<h2>{{ t.headline }}</h2>
<table>
<tr><th class="l">{{ t.indicator }}</th><th>{{ t.value }}</th><th>{{ t.previous }}</th><th>{{ t.change }}</th>
<th>{{ t.target }}</th></tr>
{% for key in rate_keys %}
<tr><td class="l">{{ t[key] }}</td>
<td>{{ pct(r.headline[key]) }}</td><td>{{ pct(r.previous_headline[key]) }}</td>
<td class="{{ updown(r.changes[key]) }}">{{ delta(r.changes[key]) }}</td>
<td>{% if key in ('online_rate', 'integrity_rate') %}{{ pct(r.targets.default) }}
{% if r.headline[key] is not none %}<span class="{{ 'met' if r.headline[key] >= r.targets.default else 'missed' }}">
{{ t.met if r.headline[key] >= r.targets.default else t.missed }}</span>{% endif %}{% endif %}</td></tr>
{% endfor %}
<tr><td class="l">{{ t.channels }}</td><td>{{ r.headline.channels }}</td><td>{{ r.previous_headline.channels }}</td>
<td></td><td></td></tr>
<tr><td class="l">{{ t.downtime_hours }}</td><td>{{ num(r.headline.downtime_hours) }}</td>
<td>{{ num(r.previous_headline.downtime_hours) }}</td><td></td><td></td></tr>
</table>

<h2>{{ t.by_class }}</h2>
<table>
<tr><th class="l">{{ t.point_class }}</th><th>{{ t.channels }}</th><th>{{ t.online_rate }}</th>
<th>{{ t.target }}</th><th></th><th>{{ t.integrity_rate }}</th><th>{{ t.output_rate }}</th>
<th>{{ t.downtime_hours }}</th></tr>
{% for row in r.by_class %}
<tr><td class="l">{{ t.class_n.format(n=row.key) }}</td><td>{{ row.channels }}</td><td>{{ pct(row.online_rate) }}</td>
<td>{{ pct(row.target) }}</td>
<td class="{{ '' if row.met is none else ('met' if row.met else 'missed') }}">
{{ '' if row.met is none else (t.met if row.met else t.missed) }}</td>
<td>{{ pct(row.integrity_rate) }}</td><td>{{ pct(row.output_rate) }}</td><td>{{ num(row.downtime_hours) }}</td></tr>
{% endfor %}
</table>

<h2>{{ t.trend }}</h2>
{{ trend_svg | safe }}

{% for title, rows, key_label in [(t.counties, r.counties, t.code), (t.departments, r.departments, t.code)] %}
<h2>{{ title }}</h2>
{% if rows %}
{{ bars[loop.index0] | safe }}
<table>
<tr><th>{{ t.rank }}</th><th class="l">{{ t.name }}</th><th class="l">{{ key_label }}</th><th>{{ t.channels }}</th>
<th>{{ t.online_rate }}</th><th>{{ t.integrity_rate }}</th><th>{{ t.output_rate }}</th>
<th>{{ t.annotation_rate }}</th><th>{{ t.hd_rate }}</th><th>{{ t.downtime_hours }}</th></tr>
{% for row in rows %}
<tr><td>{{ row.rank }}</td><td class="l">{{ row.name }}</td><td class="l">{{ row.key }}</td><td>{{ row.channels }}</td>
<td class="{{ 'missed' if row.online_rate is not none and row.online_rate < r.targets.default else '' }}">
{{ pct(row.online_rate) }}</td><td>{{ pct(row.integrity_rate) }}</td><td>{{ pct(row.output_rate) }}</td>
<td>{{ pct(row.annotation_rate) }}</td><td>{{ pct(row.hd_rate) }}</td><td>{{ num(row.downtime_hours) }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="note">{{ t.none }}</p>{% endif %}
{% endfor %}

<h2>{{ t.sources }}</h2>
<table>
<tr><th class="l">{{ t.name }}</th><th>{{ t.channels }}</th><th>{{ t.online_rate }}</th>
<th>{{ t.integrity_rate }}</th><th>{{ t.output_rate }}</th><th>{{ t.downtime_hours }}</th></tr>
{% for row in r.sources %}
<tr><td class="l">{{ t.get('source.' ~ row.key, row.key) }}</td><td>{{ row.channels }}</td>
<td>{{ pct(row.online_rate) }}</td><td>{{ pct(row.integrity_rate) }}</td><td>{{ pct(row.output_rate) }}</td>
<td>{{ num(row.downtime_hours) }}</td></tr>
{% endfor %}
</table>

<h2>{{ t.worst }}</h2>
<p class="note">{{ t.over_threshold.format(h=r.threshold_hours, n=r.over_threshold) }}</p>
{% if r.worst %}
<table>
<tr><th class="l">{{ t.channel }}</th><th class="l">{{ t.name }}</th><th class="l">{{ t.organization }}</th>
<th>{{ t.point_class }}</th><th>{{ t.downtime_hours }}</th><th>{{ t.defect_hours }}</th>
<th>{{ t.output_fail_hours }}</th><th>{{ t.status }}</th></tr>
{% for c in r.worst %}
<tr><td class="l">{{ c.id }}</td><td class="l">{{ c.name }}</td><td class="l">{{ c.organization }}</td>
<td>{{ c.point_class }}</td><td>{{ num(c.downtime_hours) }}</td><td>{{ num(c.defect_hours) }}</td>
<td>{{ num(c.output_fail_hours) }}</td><td>{{ t.get(c.status, c.status) }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="note">{{ t.none }}</p>{% endif %}

<h2>{{ t.workorders }}</h2>
<p>{{ t.active }}: {{ r.workorders.active }} · {{ t.overdue }}: {{ r.workorders.overdue }}
{% for key, count in r.workorders.items() if key.startswith('cause:') %} · {{ t.get(key.replace(':', '.'),
key[6:]) }}: {{ count }}{% endfor %}</p>
{% if r.overdue_orders %}
<table>
<tr><th>#</th><th class="l">{{ t.channel }}</th><th class="l">{{ t.name }}</th><th class="l">{{ t.organization }}</th>
<th class="l">{{ t.cause }}</th><th>{{ t.priority }}</th><th>{{ t.detected_at }}</th><th>{{ t.due_at }}</th>
<th class="l">{{ t.assignee }}</th></tr>
{% for o in r.overdue_orders %}
<tr><td>{{ o.id }}</td><td class="l">{{ o.channel_id }}</td><td class="l">{{ o.channel_name }}</td>
<td class="l">{{ o.organization_name or '' }}</td><td class="l">{{ t.get('cause.' ~ o.cause, o.cause) }}</td>
<td>{{ o.priority }}</td><td>{{ local(o.detected_at) }}</td><td class="missed">{{ local(o.due_at) }}</td>
<td class="l">{{ o.assignee or t.unassigned }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% if r.assets is not none %}

<h2>{{ t.asset_security }}</h2>
<table>
<tr><th class="l">{{ t.alert_kind }}</th><th>{{ t.alerts }}</th><th>{{ t.events }}</th><th>{{ t.still_open }}</th></tr>
{% for kind, row in r.assets.by_kind.items() %}
<tr><td class="l">{{ t['alert.' ~ kind] }}</td><td>{{ row.alerts }}</td><td>{{ row.events }}</td>
<td class="{{ 'missed' if row.open else '' }}">{{ row.open }}</td></tr>
{% endfor %}
</table>
{% if r.assets.devices %}
<table>
<tr><th class="l">{{ t.device }}</th><th class="l">{{ t.name }}</th><th class="l">{{ t.alert_kind }}</th>
<th>{{ t.events }}</th><th>{{ t.last_seen }}</th></tr>
{% for d in r.assets.devices %}
<tr><td class="l">{{ d.device_id }}</td><td class="l">{{ d.name }}</td>
<td class="l">{% for k in d.kinds %}{{ t['alert.' ~ k] }}{{ '' if loop.last else ' · ' }}{% endfor %}</td>
<td>{{ d.events }}</td><td>{{ local(d.last_seen) }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="note">{{ t.none }}</p>{% endif %}
{% endif %}
</body>
</html>
"""
