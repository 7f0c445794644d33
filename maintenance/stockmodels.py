"""SQL tables of spare parts and stock (材料备品): the equipment a part fits, stores per site,
stock per store and part, every stock movement, and purchase requests with their lines;
maintenance's, created by migration 0024_maintenance_stock. Written only by
`maintenance.stock` and `maintenance.purchasing`.

The catalogue itself is the `parts` table (`maintenance.recordmodels.PartRow`): `part_no` stays
the key bookings on orders refer to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class PartFitRow(Base):
    """An equipment class (and optionally a model) a part fits; '' model: every model."""

    __tablename__ = "part_fits"

    part_no: Mapped[str] = mapped_column(ForeignKey("parts.part_no"), primary_key=True)
    equipment_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True, default="")


class StoreRow(Base):
    """A store (仓库/备品库) of a site."""

    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("site", "code", name="uq_stores_site_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))


class StockRow(Base):
    """The stock of one part in one store: on hand and reserved, kept with its movements in
    the same transaction, and the store's minimum and reorder levels for the part."""

    __tablename__ = "stock"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    part_no: Mapped[str] = mapped_column(ForeignKey("parts.part_no"), primary_key=True)
    on_hand: Mapped[float] = mapped_column(Float, default=0.0)
    reserved: Mapped[float] = mapped_column(Float, default=0.0)
    minimum: Mapped[float] = mapped_column(Float, default=0.0)
    reorder_level: Mapped[float] = mapped_column(Float, default=0.0)
    suggested_from: Mapped[float | None] = mapped_column(
        Float, nullable=True, doc="The level an accepted suggestion raised; None: set by hand."
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StockMovementRow(Base):
    """One change of stock: receive, reserve, unreserve, issue, return or adjust.

    `quantity` is what moved (positive); `on_hand` and `reserved` the change each made to the
    stock row (signed), so the stock is the sum of its movements."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_store_part", "store_id", "part_no"),
        Index("ix_stock_movements_store_at", "store_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    part_no: Mapped[str] = mapped_column(ForeignKey("parts.part_no"))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[float] = mapped_column(Float)
    on_hand: Mapped[float] = mapped_column(Float, doc="Signed change of on hand.")
    reserved: Mapped[float] = mapped_column(Float, doc="Signed change of reserved.")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id"), nullable=True, index=True
    )
    booking_id: Mapped[int | None] = mapped_column(Integer, nullable=True, doc="Part booking.")
    purchase_line_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PurchaseRequestRow(Base):
    """A purchase request (采购申请) of a store: pending, approved, rejected or received."""

    __tablename__ = "purchase_requests"
    __table_args__ = (Index("ix_purchase_requests_store_created", "store_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[float] = mapped_column(Float, doc="Sum of quantity × unit cost.")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(
        Text, nullable=True, doc="Why it was rejected (or a note on the approval; 0037)."
    )


class PurchaseLineRow(Base):
    """A line of a purchase request: a part, how many, at what unit cost, how many came."""

    __tablename__ = "purchase_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("purchase_requests.id"), index=True)
    part_no: Mapped[str] = mapped_column(ForeignKey("parts.part_no"))
    quantity: Mapped[float] = mapped_column(Float)
    unit_cost: Mapped[float] = mapped_column(Float)
    received: Mapped[float] = mapped_column(Float, default=0.0)
