"""Request and response bodies of contractors (维保单位), their contracts and dispatches."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bldgwatch.maintenance.contractors import MAX_RESOLUTION_H, MAX_RESPONSE_MIN

EquipmentType = Literal[
    "elevator", "pump", "shaft_panel", "temp_sensor", "electricity_meter", "water_meter"
]
"""`core.site.EQUIPMENT_TYPES` (a test checks they agree)."""
HIDDEN = "Invisible, format, bidi and control characters are refused."


class ContractorIn(BaseModel):
    """A contractor as the owner registers it (the id is in the path)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "上海某电梯工程有限公司",
                    "licence": "TS3131001-2027",
                    "contact": "王工",
                    "phone": "021-5555 0101",
                    "on_call": "400 820 0101",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200, description=HIDDEN)
    licence: str = Field(min_length=1, max_length=64, description=f"Licence number. {HIDDEN}")
    contact: str = Field(min_length=1, max_length=100, description=f"Contact person. {HIDDEN}")
    phone: str = Field(min_length=1, max_length=32, description="Contact phone.")
    on_call: str = Field(min_length=1, max_length=32, description="24-hour on-call phone.")


class ContractIn(BaseModel):
    """A contract for one site and equipment class, days in the site's time zone."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site": "demo",
                    "equipment_type": "elevator",
                    "scope": "半月维保（TSG T5002）、急修、年度自检",
                    "valid_from": "2026-01-01",
                    "valid_to": "2026-12-31",
                    "response_min": 30,
                    "resolution_h": 24,
                }
            ]
        },
    )

    site: str = Field(min_length=1, max_length=64)
    equipment_type: EquipmentType = Field(description="The equipment class it covers.")
    scope: str = Field(min_length=1, max_length=4000, description=f"What it covers. {HIDDEN}")
    valid_from: date = Field(description="First day covered (site time).")
    valid_to: date = Field(description="Last day covered (site time), not before valid_from.")
    response_min: int = Field(ge=1, le=MAX_RESPONSE_MIN, description="Minutes to respond.")
    resolution_h: float = Field(gt=0, le=MAX_RESOLUTION_H, description="Hours to resolve.")


class ContractOut(BaseModel):
    """A contract as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    contractor: str
    site: str
    equipment_type: str
    scope: str
    valid_from: date
    valid_to: date
    response_min: int
    resolution_h: float
    timezone: str = Field("Asia/Shanghai", description="The site's zone its days are in.")


class ContractorOut(BaseModel):
    """A contractor with the contracts the caller may see."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    licence: str
    contact: str
    phone: str
    on_call: str
    updated_at: datetime
    contracts: list[ContractOut] = Field(default_factory=list)


class ContractEndIn(BaseModel):
    """End a contract early: its new last covered day (site time), within its span."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"valid_to": "2026-06-30"}]}
    )

    valid_to: date = Field(description="The new last day covered (site time).")


class DispatchIn(BaseModel):
    """Dispatch a work order to a contractor: the contract covering it, or the one named."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    contract_id: int | None = Field(
        None, ge=1, le=2_147_483_647, description="When several contracts cover the order."
    )


class ScorecardOut(BaseModel):
    """One contractor's figures for the site and month (rates null until something is due)."""

    contractor: str
    name: str = Field(description="The company's name (its id if it was removed since).")
    dispatched: int = Field(description="Orders dispatched to it in the month.")
    preventive: int = Field(description="Of them preventive (e.g. TSG T5002 maintenance).")
    response_on_time_rate: float | None = Field(
        description="Started by the response due time, of those started or due."
    )
    resolution_on_time_rate: float | None = Field(
        description="Resolved by the resolution due time, of those resolved or due."
    )
    resolved: int
    repeat_failures: int = Field(
        description="Resolved orders whose equipment failed again within `repeat_days`."
    )
    cost: float = Field(description="Labour, parts and charges booked on its orders.")
    orders: list[int]


class Scorecards(BaseModel):
    """The contractors' scorecard of a site for a month (site time)."""

    site: str
    month: str
    timezone: str
    repeat_days: int
    items: list[ScorecardOut]
