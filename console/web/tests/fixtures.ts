// API objects for the component tests, shaped like the console's answers.
import type { AlarmSummary, WorkOrderSummary } from "@/api/client";

export function alarm(over: Partial<AlarmSummary> = {}): AlarmSummary {
  return {
    id: "a1",
    site: "demo",
    building: "B1",
    equipment: "P-01",
    equipment_type: "pump",
    rule: "pump.bearing_temp_high",
    fault_code: "PUMP_BEARING_TEMP",
    family: "bearing",
    severity: "major",
    priority: 2,
    state: "active_unack",
    open: true,
    raised_at: "2026-03-02T06:00:00Z",
    cleared_at: null,
    acked_at: null,
    acked_by: null,
    shelved_until: null,
    value: 96.5,
    message: "P-01: bearing temperature 96.5 °C above 85.0 °C",
    maintenance: "reactive",
    activations: 1,
    updated_at: "2026-03-02T06:00:00Z",
    ...over,
  };
}

export function order(over: Partial<WorkOrderSummary> = {}): WorkOrderSummary {
  return {
    id: 7,
    site: "demo",
    equipment: "P-01",
    kind: "reactive",
    status: "open",
    priority: 2,
    title: "PUMP_BEARING_TEMP: pump P-01",
    family: "bearing",
    fault_code: "PUMP_BEARING_TEMP",
    alarm_count: 1,
    created_at: "2026-03-02T06:00:00Z",
    response_due: "2026-03-02T06:30:00Z",
    resolution_due: "2026-03-02T10:00:00Z",
    assigned_to: null,
    stage: "late",
    stage_reason: "late life: 13 years since install",
    stage_reason_text: {
      en: "late life: 13 years since install",
      "zh-CN": "寿命后期：已安装 13 年",
    },
    ...over,
  };
}
