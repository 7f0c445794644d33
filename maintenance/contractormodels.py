"""SQL tables of contractors (维保单位): the companies, their contracts per site and equipment
class, and the console accounts that act for one; maintenance's, created by migration
0023_maintenance_contractors. Written only by `maintenance.contractors`."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class ContractorRow(Base):
    """A licensed maintenance company (e.g. the elevator company, 电梯维保单位)."""

    __tablename__ = "contractors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="Stored on orders.")
    name: Mapped[str] = mapped_column(Unicode(200))
    licence: Mapped[str] = mapped_column(String(64), doc="Licence number (许可证编号).")
    contact: Mapped[str] = mapped_column(Unicode(100), doc="Contact person.")
    phone: Mapped[str] = mapped_column(String(32), doc="Contact phone.")
    on_call: Mapped[str] = mapped_column(String(32), doc="24-hour on-call phone.")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class ContractRow(Base):
    """A contract of a contractor for one site and equipment class, valid from/to (site days,
    both included), with its response and resolution clocks."""

    __tablename__ = "contractor_contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contractor: Mapped[str] = mapped_column(ForeignKey("contractors.id"), index=True)
    site: Mapped[str] = mapped_column(String(64))
    equipment_type: Mapped[str] = mapped_column(String(32), doc="core.site.EQUIPMENT_TYPES.")
    scope: Mapped[str] = mapped_column(Text, doc="What the contract covers, as written.")
    valid_from: Mapped[date] = mapped_column(Date, doc="First day covered (site time).")
    valid_to: Mapped[date] = mapped_column(Date, doc="Last day covered (site time).")
    response_min: Mapped[int] = mapped_column(Integer, doc="Minutes to respond.")
    resolution_h: Mapped[float] = mapped_column(Float, doc="Hours to resolve.")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_contractor_contracts_site_type", "site", "equipment_type"),)


class ContractorAccountRow(Base):
    """The console user (role `contractor`) who acts for one contractor."""

    __tablename__ = "contractor_accounts"

    user: Mapped[str] = mapped_column(String(64), primary_key=True)
    contractor: Mapped[str] = mapped_column(ForeignKey("contractors.id"), index=True)
