"""Pump hydraulics and energy (pure): the operating point, specific energy, the rated curve.

* head (m) from the pressure rise across the pump: (discharge - suction) bar x 10.197 m/bar
  (water at about 20 °C); suction defaults to 0 bar gauge (a break tank at pump level) unless
  the register gives `rated.suction_bar`;
* electrical input (kW) from a meter that feeds the pump alone, else from the motor current:
  √3 x U x I x cos φ (`rated.voltage_v`, default 380 V; `rated.power_factor`, default 0.85);
* hydraulic power (kW) = ρ g Q H = Q[m³/h] x H[m] / 367.2;
* specific energy (kWh/m³) = electrical energy / volume pumped (only while running);
* wire-to-water efficiency = hydraulic / electrical power;
* the rated curve: head (and efficiency) at a flow by linear interpolation between the data
  sheet's points, None outside them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

M_PER_BAR = 10.197
"""Metres of water column per bar."""
KW_PER_M3H_M = 1.0 / 367.2
"""Hydraulic kW per (m³/h x m) of water."""
DEFAULT_VOLTAGE_V = 380.0
DEFAULT_POWER_FACTOR = 0.85


def head_m(discharge_bar: float, suction_bar: float = 0.0) -> float:
    """Head from the pressure rise across the pump."""
    return max(0.0, (discharge_bar - suction_bar) * M_PER_BAR)


def electrical_kw(current_a: float, rated: Mapping[str, float]) -> float:
    """Three-phase input power from the motor current and the register's voltage and PF."""
    volts = rated.get("voltage_v", DEFAULT_VOLTAGE_V)
    pf = rated.get("power_factor", DEFAULT_POWER_FACTOR)
    return math.sqrt(3.0) * volts * current_a * pf / 1000.0


def hydraulic_kw(flow_m3h: float, head: float) -> float:
    """Power given to the water."""
    return flow_m3h * head * KW_PER_M3H_M


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """A point of a rated curve."""

    flow_m3h: float
    head_m: float
    efficiency: float | None = None


def _interpolate(xs: Sequence[float], ys: Sequence[float], x: float) -> float | None:
    if not xs or x < xs[0] or x > xs[-1]:
        return None
    for i in range(1, len(xs)):
        if x <= xs[i]:
            x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[-1]


def curve_head(curve: Sequence[CurvePoint], flow_m3h: float) -> float | None:
    """Rated head at a flow; None outside the curve."""
    return _interpolate([p.flow_m3h for p in curve], [p.head_m for p in curve], flow_m3h)


def curve_efficiency(curve: Sequence[CurvePoint], flow_m3h: float) -> float | None:
    """Rated efficiency at a flow; None outside the curve or when a point lacks one."""
    if any(p.efficiency is None for p in curve):
        return None
    effs = [float(p.efficiency or 0.0) for p in curve]
    return _interpolate([p.flow_m3h for p in curve], effs, flow_m3h)


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """Where a pump runs: means over its running time in a period."""

    flow_m3h: float
    head_m: float
    power_kw: float
    specific_kwh_m3: float | None
    efficiency: float | None  # wire-to-water, measured
    rated_head_m: float | None = None  # the curve's head at this flow
    rated_efficiency: float | None = None
    head_ratio: float | None = None  # measured / rated head (< 1: below its curve)


def operating_point(
    flow_m3h: float,
    head: float,
    power_kw: float,
    curve: Sequence[CurvePoint] = (),
) -> OperatingPoint:
    """The operating point from mean running flow, head and electrical power."""
    specific = power_kw / flow_m3h if flow_m3h > 0 else None
    efficiency = hydraulic_kw(flow_m3h, head) / power_kw if power_kw > 0 else None
    rated_head = curve_head(curve, flow_m3h) if curve else None
    rated_eff = curve_efficiency(curve, flow_m3h) if curve else None
    ratio = head / rated_head if rated_head else None
    return OperatingPoint(
        flow_m3h, head, power_kw, specific, efficiency, rated_head, rated_eff, ratio
    )


@dataclass(slots=True)
class EnergyTally:
    """Energy and volume pumped, summed from samples (trapezoid-free: each sample holds until
    the next, at most `max_gap_s`)."""

    max_gap_s: float = 600.0
    kwh: float = 0.0
    m3: float = 0.0
    last_ms: int | None = None
    power_kw: float = 0.0
    flow_m3h: float = 0.0

    def add(
        self, ts_ms: int, *, power_kw: float | None = None, flow_m3h: float | None = None
    ) -> None:
        """A new sample of power and/or flow at `ts_ms`; the previous values count until it."""
        if self.last_ms is not None and ts_ms > self.last_ms:
            dt_h = min(ts_ms - self.last_ms, self.max_gap_s * 1000) / 3_600_000
            self.kwh += self.power_kw * dt_h
            self.m3 += self.flow_m3h * dt_h
        if self.last_ms is None or ts_ms > self.last_ms:
            self.last_ms = ts_ms
        if power_kw is not None:
            self.power_kw = power_kw
        if flow_m3h is not None:
            self.flow_m3h = flow_m3h

    def specific(self, min_volume_m3: float = 0.0) -> float | None:
        """kWh per m³ so far; None below `min_volume_m3` pumped."""
        if self.m3 <= max(min_volume_m3, 0.0) or self.m3 == 0.0:
            return None
        return self.kwh / self.m3

    def reset(self) -> None:
        """Start a new period (the last sample carries over as the current values)."""
        self.kwh = self.m3 = 0.0
