"""Texts of work orders in zh-CN and en: titles and descriptions the system writes, timeline
notes, and the names of statuses, kinds, repair classes, cause codes, follow-up outcomes,
equipment types and fault codes (see `maintenance.i18n` for how they are rendered)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bldgwatch.maintenance.i18n import Message, Table


def _named(prefix: str, names: Mapping[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    return {f"{prefix}.{k}": {"en": en, "zh-CN": zh} for k, (en, zh) in names.items()}


STATUSES = {
    "open": ("open", "待派工"),
    "assigned": ("assigned", "已派工"),
    "in_progress": ("in progress", "处理中"),
    "on_hold": ("on hold", "暂停"),
    "resolved": ("resolved", "已完工"),
    "verified": ("verified", "已回访"),
    "closed": ("closed", "已关闭"),
    "cancelled": ("cancelled", "已取消"),
}
KINDS = {
    "reactive": ("reactive", "故障维修"),
    "preventive": ("preventive", "预防性维护"),
    "request": ("repair request", "报修"),
}
REPAIR_CLASSES = {
    "minor": ("minor repair", "小修"),
    "medium": ("medium repair", "中修"),
    "major": ("major overhaul", "大修"),
    "replacement": ("replacement", "更换"),
}
CAUSES = {
    "wear": ("wear and ageing", "磨损老化"),
    "lubrication": ("lubrication", "润滑不良"),
    "electrical": ("electrical fault", "电气故障"),
    "control": ("control or software", "控制系统"),
    "installation": ("installation or commissioning", "安装调试缺陷"),
    "misuse": ("misuse or vandalism", "使用不当或人为损坏"),
    "external": ("external cause (power, water, weather)", "外部原因（停电、进水、天气）"),
    "supply": ("defective part", "配件质量问题"),
    "unknown": ("unknown", "原因不明"),
}
OUTCOMES = {
    "satisfied": ("satisfied", "满意"),
    "not_satisfied": ("not satisfied", "不满意"),
    "reopened": ("fault came back", "故障复发"),
}
EQUIPMENT_TYPES = {
    "elevator": ("elevator", "电梯"),
    "pump": ("pump", "水泵"),
    "shaft_panel": ("shaft panel", "电井配电箱"),
    "temp_sensor": ("temperature sensor", "温度传感器"),
}
FAULTS = {
    "ELEV_ENTRAPMENT_AT_FLOOR": ("passengers trapped at a landing", "平层关人"),
    "ELEV_ENTRAPMENT_BETWEEN_FLOORS": ("passengers trapped between floors", "非平层关人"),
    "ELEV_OVERRUN_TOP": ("overrun at the top", "冲顶"),
    "ELEV_OVERRUN_BOTTOM": ("overrun at the bottom", "蹲底"),
    "ELEV_OVERSPEED_1": ("overspeed (1.2× rated)", "超速（1.2 倍额定速度）"),
    "ELEV_OVERSPEED_2": ("overspeed (1.4× rated)", "超速（1.4 倍额定速度）"),
    "ELEV_ABNORMAL_SPEED": ("abnormal speed", "速度异常"),
    "ELEV_DOOR_OPEN_RUNNING": ("door opened while running", "运行中开门"),
    "ELEV_UCMP": ("car moved with the doors open", "开门走车"),
    "ELEV_STOP_OUTSIDE_ZONE": ("stopped outside the door zone", "门区外停梯"),
    "ELEV_DOOR_OPEN_FAIL": ("door fails to open", "开门故障"),
    "ELEV_DOOR_CLOSE_FAIL": ("door fails to close", "关门故障"),
    "ELEV_SAFETY_CIRCUIT_OPEN": ("safety circuit open", "安全回路断路"),
    "ELEV_DOOR_LOCK_OPEN": ("door-lock circuit open", "门锁回路断路"),
    "ELEV_POWER_LOSS": ("mains power lost", "停电"),
    "ELEV_LANDING_BUTTON_STUCK": ("landing button stuck", "层站按钮粘连"),
    "ELEV_POSITION_LOST": ("floor position lost", "楼层位置丢失"),
    "ELEV_NO_DATA": ("no data", "数据中断"),
    "PUMP_BEARING_TEMP": ("bearing temperature high", "轴承温度高"),
    "PUMP_VIBRATION_ZONE_C": ("vibration in zone C", "振动超标（C 区）"),
    "PUMP_VIBRATION_ZONE_D": ("vibration in zone D", "振动严重超标（D 区）"),
    "PUMP_MOTOR_OVERLOAD": ("motor overload", "电机过载"),
    "PUMP_DRY_RUNNING": ("running dry", "干转"),
    "PUMP_CAVITATION": ("cavitation", "汽蚀"),
    "PUMP_FAILURE_TO_START": ("fails to start", "启动失败"),
    "PUMP_TRIPPED": ("motor protection tripped", "电机保护跳闸"),
    "PUMP_SHORT_CYCLING": ("short-cycling", "频繁启停"),
    "PUMP_NO_DATA": ("no data", "数据中断"),
    "SHAFT_RESIDUAL_CURRENT": ("residual current high", "剩余电流超限"),
    "SHAFT_JOINT_OVERTEMP": ("cable joint overheating", "电缆接头过热"),
    "SHAFT_OVERLOAD": ("overload", "过载"),
    "SHAFT_JOINT_RISE": ("cable joint far above ambient", "电缆接头温升过高"),
    "SHAFT_PHASE_IMBALANCE": ("phase imbalance", "三相不平衡"),
    "SHAFT_NO_DATA": ("no data", "数据中断"),
    "SENSOR_NO_DATA": ("no data", "数据中断"),
}


def _fault(lang: str) -> Any:
    index = 0 if lang == "en" else 1

    def name(p: Mapping[str, Any]) -> str:
        code = str(p["code"])
        return FAULTS[code][index] if code in FAULTS else code

    return name


def _value(p: Mapping[str, Any]) -> str:
    value = p.get("value")
    return "" if value is None else f" {float(value):g}"


ORDERS: Table = {
    **_named("status", STATUSES),
    **_named("kind", KINDS),
    **_named("repair_class", REPAIR_CLASSES),
    **_named("cause", CAUSES),
    **_named("outcome", OUTCOMES),
    **_named("equipment_type", EQUIPMENT_TYPES),
    "fault": {"en": _fault("en"), "zh-CN": _fault("zh-CN")},
    "order.title.alarm": {
        "en": "{equipment} ({type}): {fault}",
        "zh-CN": "{equipment}（{type}）{fault}",
    },
    "order.description.alarm": {
        "en": "Opened by the alarm {fault_code} (rule {rule}, priority P{priority}) in building "
        "{building}. {message}",
        "zh-CN": "由报警 {fault_code}（规则 {rule}，优先级 P{priority}）在 {building} 楼生成。"
        "{message}",
    },
    "note.created": {
        "en": "{kind} order P{priority} opened",
        "zh-CN": "生成{kind}工单，优先级 P{priority}",
    },
    "note.alarm": {
        "en": lambda p: f"alarm {p['fault']}: {p['transition']} ({p['state']}){_value(p)}",
        "zh-CN": lambda p: f"报警 {p['fault']}：{p['transition']}（{p['state']}）{_value(p)}",
    },
    "note.alarm_worse": {
        "en": "a more urgent symptom attached: now {kind}, priority P{priority}",
        "zh-CN": "关联了更紧急的报警：现为{kind}，优先级 P{priority}",
    },
    "note.labour": {
        "en": "labour {hours:g} h at {rate:g}/h",
        "zh-CN": "工时 {hours:g} 小时（{technician}，{rate:g} 元/小时）",
    },
    "note.part": {
        "en": "part {part_no} × {quantity:g} at {unit_cost:g}",
        "zh-CN": "材料 {part_no} {name} × {quantity:g} {unit}，单价 {unit_cost:g} 元",
    },
    "note.contractor": {
        "en": "contractor {contractor}: {amount:g}",
        "zh-CN": "外委 {contractor}：{amount:g} 元",
    },
    "note.late_booking": {
        "en": "late booking on a {status} order: {what}",
        "zh-CN": "{status}工单补录：{what}",
    },
    "note.completion": {
        "en": "completion record: {repair_class}, cause {cause}, downtime {downtime_h:g} h",
        "zh-CN": "完工记录：{repair_class}，原因：{cause}，停机 {downtime_h:g} 小时",
    },
    "note.renewed": {
        "en": "{repair_class}: the equipment's age starts again on {day}",
        "zh-CN": "{repair_class}：设备寿命自 {day} 起重新计算",
    },
    "note.followup": {
        "en": "follow-up (回访): {outcome}, satisfaction {score}",
        "zh-CN": "回访：{outcome}，满意度 {score}",
    },
    "note.reopened": {
        "en": "reopened after the follow-up: back to {status}",
        "zh-CN": "回访后重新打开：回到{status}",
    },
    "note.recurred": {
        "en": "the fault came back after the repair: reopened, back to {status}",
        "zh-CN": "修复后故障再次出现：重新打开，回到{status}",
    },
    "note.attachment": {
        "en": "attached {filename} ({size_kb:g} KB)",
        "zh-CN": "上传附件 {filename}（{size_kb:g} KB）",
    },
    "note.escalated": {
        "en": "{level}: {what} overdue by {late_min} min",
        "zh-CN": "{level}：{what}已超时 {late_min} 分钟",
    },
    "escalation.overdue": {"en": "overdue", "zh-CN": "超时"},
    "escalation.escalation": {"en": "escalated", "zh-CN": "升级"},
    "due.response": {"en": "response", "zh-CN": "响应"},
    "due.resolution": {"en": "resolution", "zh-CN": "修复"},
    "transition.activate": {"en": "raised", "zh-CN": "触发"},
    "transition.clear": {"en": "cleared", "zh-CN": "恢复"},
    "transition.acknowledge": {"en": "acknowledged", "zh-CN": "已确认"},
    "transition.shelve": {"en": "shelved", "zh-CN": "已搁置"},
    "transition.unshelve": {"en": "unshelved", "zh-CN": "取消搁置"},
    "transition.suppress": {"en": "suppressed", "zh-CN": "已抑制"},
    "transition.unsuppress": {"en": "no longer suppressed", "zh-CN": "取消抑制"},
    "transition.escalate": {"en": "escalated", "zh-CN": "已升级"},
}


def named(prefix: str, code: str | None) -> Message | str:
    """The message naming `code` in a table (`status`, `repair_class`, …); '–' for None."""
    if code is None:
        return "–"
    key = f"{prefix}.{code}"
    return Message(key) if key in ORDERS else code


def fault(code: str) -> Message:
    """The fault code's name."""
    return Message("fault", {"code": code})
