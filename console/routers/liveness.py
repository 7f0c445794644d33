"""`/api/liveness`: how fresh the data of the caller's sites is — per gateway (its status,
its last will, the age of its newest batch) and per device (age of its newest reading,
whether its gateway says it answers) — and whether the console's broker connection is up."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from bldgwatch.console.auth import CurrentUser
from bldgwatch.console.liveness import Liveness
from bldgwatch.console.problems import problem_docs

router = APIRouter(prefix="/api", tags=["health"])


class GatewayOut(BaseModel):
    """One gateway."""

    site: str
    gateway: str
    state: str = Field(description="online, offline (its last will) or unknown.")
    data_age_s: float | None = Field(description="Seconds since its newest batch arrived.")
    status_age_s: float | None = Field(description="Seconds since its newest status arrived.")
    live: bool = Field(description="Online and its data fresh.")


class DeviceOut(BaseModel):
    """One device data has come from."""

    site: str
    equipment: str
    gateway: str
    data_age_s: float | None = Field(description="Seconds since its newest reading arrived.")
    available: bool | None = Field(description="Whether its gateway says it answers.")
    live: bool = Field(description="Its gateway online, it answers, its data fresh.")


class LivenessOut(BaseModel):
    """Freshness of the data of the caller's sites."""

    broker: bool = Field(description="The console's own broker connection is up.")
    fresh: bool = Field(description="Broker up and the newest reading within stale_after_s.")
    newest_age_s: float | None = Field(description="Age of the newest batch of any gateway.")
    stale_after_s: float = Field(description="Data older than this is not live.")
    gateways_offline: int
    devices_silent: int
    gateways: list[GatewayOut]
    devices: list[DeviceOut]


@router.get(
    "/liveness",
    response_model=LivenessOut,
    responses=problem_docs(401),
    summary="Data age per gateway and device; is the data live",
)
def liveness(request: Request, user: CurrentUser) -> LivenessOut:
    """What the console's header and board say about freshness, from what the console
    itself received (not what some service claims)."""
    life = cast(Liveness, request.app.state.liveness)
    summary = life.summary(user.sites)
    return LivenessOut(
        broker=summary.broker,
        fresh=summary.fresh,
        newest_age_s=summary.newest_age_s,
        stale_after_s=summary.stale_after_s,
        gateways_offline=summary.gateways_offline,
        devices_silent=summary.devices_silent,
        gateways=[
            GatewayOut.model_validate(g, from_attributes=True) for g in life.gateways(user.sites)
        ],
        devices=[
            DeviceOut.model_validate(d, from_attributes=True) for d in life.devices(user.sites)
        ],
    )
