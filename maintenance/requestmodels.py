"""SQL tables of the public repair requests (报修): request points with their QR codes, and
the requests owners and tenants send from them (migration 0021_maintenance_public_requests).

A request waits for the desk (`status` new) and becomes a work order only when the desk
accepts it (`work_order_id`); the requester follows it with a private status token, of which
only the SHA-256 is kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class RequestPointRow(Base):
    """A place where anyone may ask for a repair: a building, a floor or an equipment, with
    the code its QR code carries."""

    __tablename__ = "request_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(
        String(32), unique=True, doc="Unguessable (secrets.token_urlsafe); in the QR code's URL."
    )
    kind: Mapped[str] = mapped_column(String(16), doc="building, floor or equipment.")
    label: Mapped[str] = mapped_column(Unicode(200), doc="Where it is, as printed and shown.")
    building: Mapped[str | None] = mapped_column(String(64), nullable=True)
    equipment: Mapped[str | None] = mapped_column(
        String(64), nullable=True, doc="The equipment its requests are about, if one."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    retired_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="Set when retired: its code answers 'no longer in use'."
    )


class PublicRequestRow(Base):
    """One repair request sent from a request point, before and after the desk's decision."""

    __tablename__ = "public_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    point_id: Mapped[int | None] = mapped_column(
        ForeignKey("request_points.id"),
        nullable=True,
        index=True,
        doc="The QR point it came from; a desk-logged request may name none (0022).",
    )
    site: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(
        String(16), index=True, doc="new, accepted, declined, spam or merged."
    )
    # Migration 0022_maintenance_desk_requests: requests the desk logs, merged duplicates.
    channel: Mapped[str] = mapped_column(
        String(16), server_default="qr", doc="qr (the public page), phone or walk_in."
    )
    caller_name: Mapped[str | None] = mapped_column(Unicode(100), nullable=True)
    equipment: Mapped[str | None] = mapped_column(
        String(64), nullable=True, doc="The equipment the desk named when logging it."
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("public_requests.id"),
        nullable=True,
        index=True,
        doc="The request this duplicate follows (status merged).",
    )
    category: Mapped[str] = mapped_column(
        String(16), doc="water, electrical, elevator, door, other."
    )
    location: Mapped[str] = mapped_column(Unicode(200))
    description: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    language: Mapped[str] = mapped_column(String(8), doc="The requester's language.")
    status_token_sha256: Mapped[str] = mapped_column(
        String(64), unique=True, doc="SHA-256 of the private status token (never the token)."
    )
    photo_stored_as: Mapped[str | None] = mapped_column(String(64), nullable=True)
    photo_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    photo_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    photo_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    urgency: Mapped[str | None] = mapped_column(
        String(16), nullable=True, doc="emergency (急修) or minor (零修), set on acceptance."
    )
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id"), nullable=True, index=True
    )
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
