"""Request and response bodies of spare parts and stock (材料备品): stores, stock, movements,
stocktakes, purchase requests and suggested reorder levels."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Quantity = Field(
    ge=0.001,
    le=1_000_000,
    strict=True,  # `true` is no 1 and "5" no number (review 19c-s L2)
    allow_inf_nan=False,  # NaN is "a finite number", not "too big"
    description="How many (in the part's unit), kept to a thousandth of it (0.001 the least).",
)
PartNo = Field(min_length=1, max_length=64, pattern=r"\S", description="Part number.")
"""A part number in a body: not blank ("part number required", not "part '   ' unknown")."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StoreIn(_In):
    """A new store of a site."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"site": "demo", "code": "main", "name": "地下一层备品库"}]
        },
    )

    site: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)


class StoreOut(_Out):
    """A store of a site."""

    id: int
    site: str
    code: str
    name: str


class StockLineOut(BaseModel):
    """A part's stock in a store and its levels; `to_reorder` when its position (on hand +
    on order − reserved) is at or below the reorder level."""

    part_no: str
    name: str
    unit: str
    unit_cost: float
    critical: bool
    on_hand: float
    reserved: float
    available: float = Field(description="On hand less reserved, never below 0 (see shortfall).")
    shortfall: float = Field(
        0.0,
        description="Reserved beyond what is on hand (a count below the reservations, review "
        "19d-d M4): the reservations of `short_orders` cannot be met.",
    )
    short_orders: list[int] = Field(
        default_factory=list,
        description="The orders (oldest served first) whose reservations on hand cannot cover.",
    )
    on_order: float = Field(description="On approved requests, not received yet.")
    requested: float = Field(0.0, description="On pending requests (counts as on order).")
    minimum: float
    reorder_level: float
    to_reorder: bool
    below_minimum: bool = False
    suggested_order: float = Field(description="Enough to reach twice the reorder level.")


class LevelsIn(_In):
    """The store's minimum and reorder level of a part."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"minimum": 2, "reorder_level": 4}]}
    )

    minimum: float = Field(ge=0, le=1_000_000, strict=True, allow_inf_nan=False)
    reorder_level: float = Field(ge=0, le=1_000_000, strict=True, allow_inf_nan=False)


class ReceiptIn(_In):
    """Parts that came into the store by hand (not on a purchase request)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"part_no": "6205-2RS", "quantity": 10, "reason": "delivery note 0815"}]
        },
    )

    part_no: str = PartNo
    quantity: float = Quantity
    reason: str = Field("", max_length=500)


class StocktakeIn(_In):
    """A stocktake count of one part; the reason is required."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"part_no": "6205-2RS", "counted": 7, "reason": "月度盘点"}]
        },
    )

    part_no: str = PartNo
    counted: float = Field(ge=0, le=1_000_000, strict=True, allow_inf_nan=False)
    reason: str = Field(min_length=1, max_length=500)


class MovementOut(_Out):
    """One stock movement of the ledger."""

    id: int
    part_no: str
    name: str = Field("", description="The part's name in the list.")
    unit: str = ""
    kind: str
    quantity: float
    on_hand: float = Field(description="Signed change of on hand.")
    reserved: float = Field(description="Signed change of reserved.")
    at: datetime
    actor: str
    reason: str
    work_order_id: int | None


class OrderStockIn(_In):
    """A part reserved for, released from, issued to or returned from a work order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"action": "issue", "store_id": 1, "part_no": "6205-2RS", "quantity": 2}]
        },
    )

    action: Literal["reserve", "unreserve", "issue", "return"]
    store_id: int = Field(ge=1, le=2_147_483_647)
    part_no: str = PartNo
    quantity: float = Quantity


class OrderStockOut(_Out):
    """A part from a store on a work order: still reserved, and issued and not returned."""

    store_id: int
    store: str
    part_no: str
    name: str
    unit: str
    reserved: float
    issued: float
    short: float = Field(
        0.0,
        description="Of the reservation, what is not on the shelf (the store's reservations "
        "served oldest order first): the store cannot give it all (review 19e L7).",
    )


class ReservationOut(BaseModel):
    """A part a store holds reserved for a work order."""

    work_order_id: int
    title: str = Field(description="The order's title in the reader's language.")
    status: str
    part_no: str
    name: str
    unit: str
    reserved: float


class PurchaseLineIn(_In):
    """A line of a purchase request."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"part_no": "6205-2RS", "quantity": 5}]}
    )

    part_no: str = PartNo
    quantity: float = Quantity
    unit_cost: float | None = Field(
        None,
        ge=0,
        le=10_000_000,
        strict=True,
        allow_inf_nan=False,
        description="Default: the list's.",
    )


class PurchaseRequestIn(_In):
    """A purchase request: lines by hand and/or the store's reorder list."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"from_reorder_list": True, "lines": [{"part_no": "6205-2RS", "quantity": 4}]}
            ]
        },
    )

    lines: list[PurchaseLineIn] = Field(default_factory=list, max_length=200)
    from_reorder_list: bool = False
    note: str = Field("", max_length=2000)


class PurchaseLineOut(_Out):
    """A line of a purchase request."""

    id: int
    part_no: str
    name: str = ""
    quantity: float
    unit_cost: float = Field(description="The cost the requester stated (the list's if none).")
    list_cost: float = Field(0.0, description="The part's list price now.")
    received: float


class OpenRequestOut(BaseModel):
    """Another open purchase request of the same requester for a store of the same site."""

    id: int
    amount: float = Field(description="As the approval limit counts it.")
    status: str


class PurchaseRequestOut(_Out):
    """A purchase request and its lines."""

    id: int
    store_id: int
    status: str
    status_name: str = ""
    amount: float = Field(description="The lines at the costs the requester stated.")
    approval_amount: float = Field(
        0.0,
        description="What the approval limit is checked against: each line at the higher of "
        "its stated cost and the list price.",
    )
    note: str
    created_at: datetime
    created_by: str
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None = Field(None, description="Why it was rejected.")
    lines: list[PurchaseLineOut] = Field(default_factory=list)
    alongside: list[OpenRequestOut] = Field(
        default_factory=list,
        description="For a pending request: its requester's other open (pending or approved) "
        "requests for the site's stores of the last 7 site-local days, which an approver's limit "
        "holds for with it (review 19g M7).",
    )


class DecisionIn(_In):
    """Approve or reject a pending purchase request."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"approve": True}]})

    reason: str = Field("", max_length=1000, description="Why it is rejected (required to reject).")
    approve: bool = Field(strict=True, description='true approves, false rejects (not "yes").')


class PurchaseReceiptIn(_In):
    """How many of a request's line came."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"line_id": 1, "quantity": 5}]}
    )

    line_id: int = Field(ge=1, le=2_147_483_647)
    quantity: float = Quantity


class SuggestionOut(BaseModel):
    """A suggested reorder level and why, in the reader's language."""

    part_no: str
    name: str
    equipment_type: str
    current: float
    suggested: float
    reason: str


class StockPageOut(BaseModel):
    """A store's stock, its reorder list, and who may approve what."""

    store: StoreOut
    timezone: str
    lines: list[StockLineOut]
    approval_limit: float | None = Field(
        description="What the caller may approve (None: any amount)."
    )
    warning: str | None = Field(
        None,
        description="A stocktake counting fewer than are reserved: which orders' reservations "
        "it cannot cover, in the reader's language (review 19d-d M4).",
    )
