"""Texts of e-mails in zh-CN and en: the notices about work orders (assigned, overdue,
escalation) and the monthly report's mail (see `maintenance.i18n`). A notice goes to people
whose language the roster does not record, so it carries both, Chinese first."""

from __future__ import annotations

from bldgwatch.maintenance.i18n import Table

MAIL: Table = {
    "mail.assigned": {
        "en": "Work order #{id} for {equipment} ({site}) is assigned to {who}.\n"
        "{title}\nRespond by {response_due}, resolve by {resolution_due} ({tz}).\n"
        "Note: {note}\n\n{description}\n\nLife stage: {stage}",
        "zh-CN": "工单 #{id}（{site} {equipment}）已派给 {who}。\n{title}\n"
        "请于 {response_due} 前响应，{resolution_due} 前修复（{tz}）。\n派工说明：{note}\n\n"
        "{description}\n\n寿命阶段：{stage}",
    },
    "mail.overdue": {
        "en": "Work order #{id} for {equipment} ({site}), P{priority}: the response was due "
        "{due} ({tz}) and is overdue.\nAssigned to: {who}.",
        "zh-CN": "工单 #{id}（{site} {equipment}，P{priority}）：响应时限 {due}（{tz}）已过。\n"
        "处理人：{who}。",
    },
    "mail.escalation": {
        "en": "Work order #{id} for {equipment} ({site}), P{priority}: the resolution was due "
        "{due} ({tz}) and is overdue.\nAssigned to: {who}.",
        "zh-CN": "工单 #{id}（{site} {equipment}，P{priority}）：修复时限 {due}（{tz}）已过。\n"
        "处理人：{who}。",
    },
    "mail.nobody": {"en": "nobody", "zh-CN": "无人"},
    "mail.no_note": {"en": "none", "zh-CN": "无"},
    "mail.report.subject": {
        "en": "[{site}] Maintenance report {month}",
        "zh-CN": "【{site}】设备维护月报 {month}",
    },
    "mail.report.body": {
        "en": "The maintenance report of {site} for {month} is attached ({files}).\n"
        "Online: {url}\n\nEquipment in good condition {good}, faults and requests {failures}, "
        "open orders {open}, cost {cost}.",
        "zh-CN": "附件为 {site} {month} 设备维护月报（{files}）。\n在线查看：{url}\n\n"
        "设备完好率 {good}，故障及报修 {failures} 次，未完成工单 {open} 张，维修费用 {cost}。",
    },
}
