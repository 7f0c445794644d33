"""Texts of the monthly report and the equipment history file in zh-CN and en (see
`maintenance.i18n`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bldgwatch.maintenance.i18n import Table


def _month_en(p: Mapping[str, Any]) -> str:
    names = (
        *("January", "February", "March", "April", "May", "June"),
        *("July", "August", "September", "October", "November", "December"),
    )
    return f"{names[int(p['month']) - 1]} {p['year']}"


REPORT: Table = {
    "report.month": {"en": _month_en, "zh-CN": "{year}年{month}月"},
    "report.title": {
        "en": "Maintenance report {month} — {site}",
        "zh-CN": "{site} 设备维护月报（{month}）",
    },
    "report.building": {"en": "building {building}", "zh-CN": "{building} 楼"},
    "report.intro": {
        "en": "Site {site_id}, {units} units under maintenance. Period {start} to {end} "
        "({tz}). Generated {generated}.",
        "zh-CN": "项目 {site_id}，在管设备 {units} 台。统计期间 {start} 至 {end}（{tz}）。"
        "生成时间 {generated}。",
    },
    "report.summary": {
        "en": "Faults and repair requests this month: {failures}, of which repaired: {resolved}. "
        "Orders still open: {open}. Equipment in good condition: {good} (target {good_target}). "
        "Maintenance cost {cost}; budget {budget}.",
        "zh-CN": "本月故障及报修 {failures} 次，已修复 {resolved} 项；未完成工单 {open} 张。"
        "设备完好率 {good}（目标 {good_target}）。维修费用 {cost}，预算 {budget}。",
    },
    "report.no_budget": {"en": "not set", "zh-CN": "未设定"},
    "report.partial": {
        "en": "The month is not over: figures up to {as_of}.",
        "zh-CN": "本月尚未结束：数据截至 {as_of}。",
    },
    "report.key_figures": {"en": "Key figures", "zh-CN": "主要指标"},
    "report.col.kpi": {"en": "KPI", "zh-CN": "指标"},
    "report.col.month": {"en": "this month", "zh-CN": "本月"},
    "report.col.previous": {"en": "last month", "zh-CN": "上月"},
    "report.col.target": {"en": "target", "zh-CN": "目标"},
    "report.col.status": {"en": "status", "zh-CN": "达标情况"},
    "report.met": {"en": "met", "zh-CN": "达标"},
    "report.missed": {"en": "missed", "zh-CN": "未达标"},
    "report.costs": {"en": "Cost and budget", "zh-CN": "费用与预算"},
    "report.col.category": {"en": "category", "zh-CN": "类别"},
    "report.col.cost": {"en": "cost", "zh-CN": "费用"},
    "report.col.budget": {"en": "budget", "zh-CN": "预算"},
    "report.col.share": {"en": "of budget", "zh-CN": "占预算"},
    "report.total": {"en": "total", "zh-CN": "合计"},
    "report.trends": {"en": "Trends", "zh-CN": "趋势"},
    "report.trend_good": {"en": "Equipment in good condition (%)", "zh-CN": "设备完好率（%）"},
    "report.trend_failures": {"en": "Failures", "zh-CN": "故障次数"},
    "report.orders": {"en": "Repairs this month", "zh-CN": "本月维修工单"},
    "report.none": {"en": "None.", "zh-CN": "无。"},
    "report.col.order": {"en": "order", "zh-CN": "工单"},
    "report.col.equipment": {"en": "equipment", "zh-CN": "设备"},
    "report.col.title": {"en": "what", "zh-CN": "内容"},
    "report.col.repair_class": {"en": "repair class", "zh-CN": "修理类别"},
    "report.col.cause": {"en": "cause", "zh-CN": "原因"},
    "report.col.downtime": {"en": "downtime (h)", "zh-CN": "停机（小时）"},
    "report.col.status_now": {"en": "status", "zh-CN": "状态"},
    "report.pareto": {"en": "Where the failures were", "zh-CN": "故障分布（帕累托）"},
    "report.by_equipment": {"en": "By equipment", "zh-CN": "按设备"},
    "report.by_cause": {"en": "By cause", "zh-CN": "按原因"},
    "report.col.failures": {"en": "failures", "zh-CN": "故障次数"},
    "report.col.cumulative": {"en": "cumulative", "zh-CN": "累计占比"},
    "report.stages": {"en": "Life stage of the fleet", "zh-CN": "设备寿命阶段分布"},
    "report.backlog": {"en": "Open orders at the end of the month", "zh-CN": "月末未完成工单"},
    "report.col.opened": {"en": "opened", "zh-CN": "开单时间"},
    "report.col.due": {"en": "due", "zh-CN": "修复时限"},
    "report.definitions": {
        "en": "Definitions: docs/kpis.md of bldgwatch. Times in {tz}.",
        "zh-CN": "指标定义见 bldgwatch 文档 docs/kpis.md。时间均为 {tz}。",
    },
    "report.signoff": {
        "en": "Prepared by ______________    Approved by ______________",
        "zh-CN": "编制：______________    审核：______________",
    },
    "history.title": {
        "en": "Equipment history file — {equipment} ({site})",
        "zh-CN": "设备档案 — {equipment}（{site}）",
    },
    "history.identity": {"en": "Identity", "zh-CN": "设备信息"},
    "history.field.id": {"en": "id", "zh-CN": "编号"},
    "history.field.name": {"en": "name", "zh-CN": "名称"},
    "history.field.type": {"en": "type", "zh-CN": "类型"},
    "history.field.building": {"en": "building", "zh-CN": "楼栋"},
    "history.field.location": {"en": "location", "zh-CN": "位置"},
    "history.field.model": {"en": "model", "zh-CN": "型号"},
    "history.field.installed": {"en": "installed", "zh-CN": "安装日期"},
    "history.field.last_overhaul": {"en": "last overhaul", "zh-CN": "最近大修/更换"},
    "history.field.renewals": {"en": "overhauls and replacements", "zh-CN": "大修/更换记录"},
    "history.stage": {"en": "Life stage now", "zh-CN": "当前寿命阶段"},
    "history.trend": {"en": "Stage over the last year", "zh-CN": "近一年寿命阶段变化"},
    "history.totals": {"en": "Totals over its life", "zh-CN": "全寿命合计"},
    "history.orders": {"en": "Work orders", "zh-CN": "维修记录"},
    "history.alarms": {"en": "Alarms", "zh-CN": "报警记录"},
    "history.parts": {"en": "Parts used", "zh-CN": "材料使用"},
    "history.labour": {"en": "Labour", "zh-CN": "工时"},
    "history.col.at": {"en": "when", "zh-CN": "时间"},
    "history.col.quantity": {"en": "quantity", "zh-CN": "数量"},
    "history.col.unit_cost": {"en": "unit cost", "zh-CN": "单价"},
    "history.col.technician": {"en": "technician", "zh-CN": "技术员"},
    "history.col.hours": {"en": "hours", "zh-CN": "工时"},
    "history.col.rate": {"en": "rate", "zh-CN": "费率"},
    "history.col.part": {"en": "part", "zh-CN": "材料"},
    "history.col.fault": {"en": "fault", "zh-CN": "故障"},
    "history.col.transition": {"en": "transition", "zh-CN": "变化"},
    "history.col.p_late": {"en": "P(late life)", "zh-CN": "耗损期概率"},
    "history.total.orders": {"en": "orders", "zh-CN": "工单数"},
    "history.total.cost": {"en": "cost", "zh-CN": "费用"},
    "history.total.labour_hours": {"en": "labour hours", "zh-CN": "工时"},
    "history.total.downtime_h": {"en": "downtime (h)", "zh-CN": "停机（小时）"},
    "history.total.alarms": {"en": "alarms", "zh-CN": "报警次数"},
    "history.total.parts_cost": {"en": "parts cost", "zh-CN": "材料费"},
    "history.total.labour_cost": {"en": "labour cost", "zh-CN": "人工费"},
    "history.total.contractor_cost": {"en": "contractor cost", "zh-CN": "外委费"},
}
