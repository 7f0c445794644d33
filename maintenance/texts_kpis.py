"""Texts of the maintenance KPIs in zh-CN and en: names, short definitions, units and budget
categories (see `maintenance.i18n`). docs/kpis.md gives the full definitions and sources."""

from __future__ import annotations

from bldgwatch.maintenance.i18n import Table

# key: (en name, zh-CN name, en definition, zh-CN definition)
KPI_NAMES: dict[str, tuple[str, str, str, str]] = {
    "good_condition": (
        "Equipment in good condition",
        "设备完好率",
        "unit-days with no fault open, of all unit-days",
        "无未修复故障的设备台日数 ÷ 设备总台日数",
    ),
    "availability": (
        "Time availability",
        "设备时间可用率",
        "1 − downtime ÷ unit hours",
        "1 − 停机时间 ÷ 设备总台时",
    ),
    "emergency_timeliness": (
        "Emergency repairs on time",
        "急修及时率",
        "P1–P2 repairs answered on site by their response time",
        "P1–P2 急修在响应时限内到场的比例",
    ),
    "minor_timeliness": (
        "Minor repairs on time",
        "零修及时率",
        "P3–P4 repairs resolved by their resolution time",
        "P3–P4 零修在修复时限内完成的比例",
    ),
    "minor_pass_rate": (
        "Minor repairs right first time",
        "零修合格率",
        "P3–P4 repairs not reopened and not repeated within 7 days",
        "P3–P4 零修未被退回、7 天内未复发的比例",
    ),
    "first_time_fix": (
        "First-time fix",
        "一次修复率",
        "repairs not reopened and not repeated within 7 days",
        "未被退回、7 天内未复发的故障维修比例",
    ),
    "follow_up_rate": (
        "Follow-up rate",
        "回访率",
        "resolved repairs that had a follow-up",
        "已完工维修中已回访的比例",
    ),
    "satisfaction": (
        "Satisfied follow-ups",
        "回访满意率",
        "follow-ups whose outcome was satisfied",
        "回访结果为满意的比例",
    ),
    "satisfaction_score": (
        "Mean satisfaction",
        "平均满意度",
        "mean score of the follow-ups (1–5)",
        "回访满意度平均分（1–5 分）",
    ),
    "pm_compliance": (
        "PM compliance",
        "预防性维护完成率",
        "planned maintenance done by its due time",
        "按期完成的预防性维护比例",
    ),
    "failures": ("Failures", "故障次数", "reactive orders opened", "故障工单数"),
    "mtbf_h": (
        "MTBF",
        "平均故障间隔（MTBF）",
        "(unit hours − downtime) ÷ failures",
        "（设备总台时 − 停机时间）÷ 故障次数",
    ),
    "mttr_h": (
        "MTTR",
        "平均修复时间（MTTR）",
        "mean hours from fault to resolution",
        "故障至修复的平均小时数",
    ),
    "downtime_h": ("Downtime", "停机时间", "hours out of service", "停机小时数"),
    "backlog": (
        "Backlog",
        "未完成工单",
        "orders open at the end of the period",
        "期末未完成的工单数",
    ),
    "cost": ("Maintenance cost", "维修费用", "labour, parts and contractors", "人工、材料和外委"),
    "budget": ("Budget", "预算", "the month's budget", "当月预算"),
    "cost_vs_budget": (
        "Cost against budget",
        "费用占预算",
        "cost ÷ budget",
        "费用 ÷ 预算",
    ),
}

CATEGORIES = {
    "labour": ("labour", "人工"),
    "parts": ("parts", "材料"),
    "contractors": ("contractors", "外委"),
}
STAGES = {
    "early": ("early life", "早期失效期"),
    "mid": ("mid life", "偶然失效期"),
    "late": ("late life", "耗损失效期"),
}

KPIS: Table = {
    **{f"kpi.{k}": {"en": en, "zh-CN": zh} for k, (en, zh, _, _) in KPI_NAMES.items()},
    **{f"kpi_def.{k}": {"en": en, "zh-CN": zh} for k, (_, _, en, zh) in KPI_NAMES.items()},
    **{f"category.{k}": {"en": en, "zh-CN": zh} for k, (en, zh) in CATEGORIES.items()},
    **{f"stage.{k}": {"en": en, "zh-CN": zh} for k, (en, zh) in STAGES.items()},
    **{f"stage_short.{k}": {"en": k, "zh-CN": zh[:2]} for k, (_, zh) in STAGES.items()},
    "unit.hours": {"en": "{value} h", "zh-CN": "{value} 小时"},
    "unit.money": {"en": "¥{value}", "zh-CN": "¥{value}"},
}
