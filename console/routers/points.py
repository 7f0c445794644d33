"""`/api/points`: what people call each point of each equipment type, its unit and decimals
(from the device profiles and sensor kinds, `core.points`), for the console to label and
format readings."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bldgwatch.console.auth import OrderReader
from bldgwatch.console.problems import problem_docs
from bldgwatch.core.points import point_catalogue

router = APIRouter(prefix="/api", tags=["assets"])


class PointOut(BaseModel):
    """Display facts of one point."""

    label: dict[str, str] = Field(description="By language: en, zh-CN.")
    unit: str = Field(description="Unit as displayed, e.g. °C; '' for none.")
    precision: int | None = Field(description="Decimals shown; null: as needed.")
    boolean: bool = Field(description="A yes/no point.")


@router.get(
    "/points",
    response_model=dict[str, dict[str, PointOut]],
    responses=problem_docs(401),
    summary="Labels, units and decimals of every point, by equipment type",
)
def points(user: OrderReader) -> dict[str, dict[str, PointOut]]:
    """Equipment type → point → label (en, zh-CN), unit, decimals and whether it is yes/no."""
    return {
        kind: {
            name: PointOut(
                label=dict(info.label),
                unit=info.unit,
                precision=info.precision,
                boolean=info.boolean,
            )
            for name, info in found.items()
        }
        for kind, found in point_catalogue().items()
    }
