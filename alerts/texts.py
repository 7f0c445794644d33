"""Every text a notice is made of, in zh-CN and en: one constant table per language.

Kept apart from the rendering (`alerts.render`) so that the project-wide server-side message
catalogue can take these tables over as they are. Placeholders are `str.format` fields.
"""

from __future__ import annotations

from typing import Final

ZH: Final = "zh-CN"
EN: Final = "en"
LANGUAGES: Final = (ZH, EN)

TEXTS: Final[dict[str, dict[str, str]]] = {
    ZH: {
        "priority.1": "紧急",
        "priority.2": "高",
        "priority.3": "中",
        "priority.4": "低",
        "title": "【P{priority} {priority_name}报警】{fault}",
        "equipment": "设备：{equipment}",
        "place": "位置：{site} {building}",
        "value": "数值：{value}",
        "raised": "报警时间：{time}",
        "rescue_left": "救援时限：还剩 {minutes} 分钟（{limit} 分钟救援时钟，自报警起算）",
        "rescue_over": "救援时限：已超时 {minutes} 分钟（{limit} 分钟救援时钟，自报警起算）",
        "reminder": "第 {n} 次提醒：尚无人确认",
        "escalated": "已升级通知：{roles}",
        "role.primary": "值班主责",
        "role.backup": "备班",
        "role.supervisor": "主管",
        "role.contact": "指定联系人",
        "open": "查看报警：{url}",
        "ack": "确认报警（一次有效，{hours} 小时内）：{url}",
        "digest_title": "【报警汇总】{count} 条报警待确认",
        "digest_line": "{n}. P{priority} {fault} · {equipment} · {time}",
        "digest_rescue": "   救援时限：{rescue}",
        "digest_ack": "   确认：{url}",
        "digest_open": "全部报警：{url}",
        "rescue_short_left": "还剩 {minutes} 分钟",
        "rescue_short_over": "已超时 {minutes} 分钟",
        "greeting": "{name}：",
    },
    EN: {
        "priority.1": "emergency",
        "priority.2": "high",
        "priority.3": "medium",
        "priority.4": "low",
        "title": "[P{priority} {priority_name} alarm] {fault}",
        "equipment": "Equipment: {equipment}",
        "place": "Where: {site} {building}",
        "value": "Value: {value}",
        "raised": "Raised: {time}",
        "rescue_left": "Rescue clock: {minutes} min left ({limit} min from the alarm)",
        "rescue_over": "Rescue clock: {minutes} min overdue ({limit} min from the alarm)",
        "reminder": "Reminder {n}: nobody has acknowledged yet",
        "escalated": "Escalated to: {roles}",
        "role.primary": "on-call primary",
        "role.backup": "backup",
        "role.supervisor": "supervisor",
        "role.contact": "named contact",
        "open": "Open the alarm: {url}",
        "ack": "Acknowledge (works once, within {hours} h): {url}",
        "digest_title": "[Alarm digest] {count} alarms await acknowledgement",
        "digest_line": "{n}. P{priority} {fault} · {equipment} · {time}",
        "digest_rescue": "   Rescue clock: {rescue}",
        "digest_ack": "   Acknowledge: {url}",
        "digest_open": "All alarms: {url}",
        "rescue_short_left": "{minutes} min left",
        "rescue_short_over": "{minutes} min overdue",
        "greeting": "{name}:",
    },
}

FAULTS: Final[dict[str, dict[str, str]]] = {
    ZH: {
        "ELEV_ENTRAPMENT_AT_FLOOR": "困人（平层关人）",
        "ELEV_ENTRAPMENT_BETWEEN_FLOORS": "困人（非平层关人）",
        "ELEV_OVERRUN_TOP": "冲顶",
        "ELEV_OVERRUN_BOTTOM": "蹲底",
        "ELEV_OVERSPEED_1": "超速（1.2 倍额定速度）",
        "ELEV_OVERSPEED_2": "超速（1.4 倍额定速度）",
        "ELEV_ABNORMAL_SPEED": "速度异常",
        "ELEV_DOOR_OPEN_RUNNING": "运行中开门",
        "ELEV_UCMP": "开门走车",
        "ELEV_STOP_OUTSIDE_ZONE": "门区外停梯",
        "ELEV_DOOR_OPEN_FAIL": "开门故障",
        "ELEV_DOOR_CLOSE_FAIL": "关门故障",
        "ELEV_SAFETY_CIRCUIT_OPEN": "安全回路断路",
        "ELEV_DOOR_LOCK_OPEN": "门锁回路断路",
        "ELEV_POWER_LOSS": "停电",
        "ELEV_LANDING_BUTTON_STUCK": "层站按钮粘连",
        "ELEV_POSITION_LOST": "楼层位置丢失",
        "ELEV_NO_DATA": "电梯无数据",
        "PUMP_BEARING_TEMP": "轴承温度过高",
        "PUMP_VIBRATION_ZONE_C": "振动超标（C 区）",
        "PUMP_VIBRATION_ZONE_D": "振动超标（D 区，损坏性）",
        "PUMP_MOTOR_OVERLOAD": "电机过载",
        "PUMP_DRY_RUNNING": "干转",
        "PUMP_CAVITATION": "汽蚀",
        "PUMP_FAILURE_TO_START": "无法启动",
        "PUMP_TRIPPED": "电机保护跳闸",
        "PUMP_SHORT_CYCLING": "频繁启停",
        "PUMP_NO_DATA": "水泵无数据",
        "SHAFT_RESIDUAL_CURRENT": "剩余电流（漏电）超限",
        "SHAFT_JOINT_OVERTEMP": "电缆接头温度过高",
        "SHAFT_OVERLOAD": "过载",
        "SHAFT_JOINT_RISE": "接头温升过高",
        "SHAFT_PHASE_IMBALANCE": "三相不平衡",
        "SHAFT_NO_DATA": "配电箱无数据",
        "SENSOR_NO_DATA": "传感器无数据",
    },
    EN: {
        "ELEV_ENTRAPMENT_AT_FLOOR": "Entrapment at a landing",
        "ELEV_ENTRAPMENT_BETWEEN_FLOORS": "Entrapment between floors",
        "ELEV_OVERRUN_TOP": "Overrun at the top",
        "ELEV_OVERRUN_BOTTOM": "Overrun at the bottom",
        "ELEV_OVERSPEED_1": "Overspeed (1.2x rated)",
        "ELEV_OVERSPEED_2": "Overspeed (1.4x rated)",
        "ELEV_ABNORMAL_SPEED": "Abnormal speed",
        "ELEV_DOOR_OPEN_RUNNING": "Door opened while running",
        "ELEV_UCMP": "Car moved with the doors open",
        "ELEV_STOP_OUTSIDE_ZONE": "Stopped outside the door zone",
        "ELEV_DOOR_OPEN_FAIL": "Door fails to open",
        "ELEV_DOOR_CLOSE_FAIL": "Door fails to close",
        "ELEV_SAFETY_CIRCUIT_OPEN": "Safety circuit open",
        "ELEV_DOOR_LOCK_OPEN": "Door-lock circuit open",
        "ELEV_POWER_LOSS": "Power loss",
        "ELEV_LANDING_BUTTON_STUCK": "Landing button stuck",
        "ELEV_POSITION_LOST": "Floor position lost",
        "ELEV_NO_DATA": "Elevator sends no data",
        "PUMP_BEARING_TEMP": "Bearing temperature high",
        "PUMP_VIBRATION_ZONE_C": "Vibration in zone C",
        "PUMP_VIBRATION_ZONE_D": "Vibration in zone D (damaging)",
        "PUMP_MOTOR_OVERLOAD": "Motor overload",
        "PUMP_DRY_RUNNING": "Running dry",
        "PUMP_CAVITATION": "Cavitation",
        "PUMP_FAILURE_TO_START": "Fails to start",
        "PUMP_TRIPPED": "Motor protection tripped",
        "PUMP_SHORT_CYCLING": "Short cycling",
        "PUMP_NO_DATA": "Pump sends no data",
        "SHAFT_RESIDUAL_CURRENT": "Residual (leakage) current high",
        "SHAFT_JOINT_OVERTEMP": "Cable-joint temperature high",
        "SHAFT_OVERLOAD": "Overload",
        "SHAFT_JOINT_RISE": "Cable joint far above ambient",
        "SHAFT_PHASE_IMBALANCE": "Phase imbalance",
        "SHAFT_NO_DATA": "Distribution panel sends no data",
        "SENSOR_NO_DATA": "Sensor sends no data",
    },
}


def text(language: str, key: str, **fields: object) -> str:
    """The text `key` in `language` (English when the language is unknown), filled in."""
    table = TEXTS.get(language, TEXTS[EN])
    return table[key].format(**fields)


def fault_name(language: str, fault_code: str, fallback: str) -> str:
    """The fault's name in `language`; `fallback` (the rule's message) for unknown codes."""
    return FAULTS.get(language, FAULTS[EN]).get(fault_code, fallback)
