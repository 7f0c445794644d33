"""Device profiles: register maps as YAML data, read by the simulators and the gateway."""

from __future__ import annotations

import itertools
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from bldgwatch.core import dlt645
from bldgwatch.core.config import StrictModel, load_yaml, parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.registers import REGISTER_COUNT, DataType, Order


class Table(StrEnum):
    """Modbus data tables, by the function code that reads them."""

    COIL = "coil"  # FC1
    DISCRETE = "discrete"  # FC2
    HOLDING = "holding"  # FC3
    INPUT = "input"  # FC4


FUNCTION_CODE: dict[Table, int] = {
    Table.COIL: 1,
    Table.DISCRETE: 2,
    Table.HOLDING: 3,
    Table.INPUT: 4,
}

BIT_TABLES = frozenset({Table.COIL, Table.DISCRETE})


LABEL_LANGUAGES = frozenset({"en", "zh-CN"})


def check_label(label: dict[str, str], where: str) -> None:
    """A label names the point in every language of the catalogue, and nothing else."""
    if set(label) != LABEL_LANGUAGES:
        raise ValueError(f"{where}: a label gives en and zh-CN, got {sorted(label)}")


class PointSpec(StrictModel):
    """One point of a register map."""

    name: str = Field(description="Point name, e.g. bearing_temp_c; for bit fields a prefix.")
    table: Table = Field(description="coil (FC1), discrete (FC2), holding (FC3), input (FC4).")
    address: int = Field(ge=0, le=65535, description="Zero-based register or bit address.")
    type: DataType = Field(description="How the registers hold the value.")
    order: Order | None = Field(None, description="Byte/word order; the profile default if unset.")
    count: int | None = Field(None, ge=1, le=125, description="Registers; needed for strings.")
    scale: float = Field(1.0, description="value = raw * scale + offset.")
    offset: float = Field(0.0, description="value = raw * scale + offset.")
    unit: str = Field("", description="Engineering unit after scaling, as displayed (°C).")
    bits: dict[str, int] | None = Field(
        None, description="Bit fields: point name → bit index 0–15 of the status word."
    )
    description: str = ""
    precision: int | None = Field(
        None, ge=0, le=6, description="Decimals shown (None: as many as needed, up to 3)."
    )
    label: dict[str, str] | None = Field(
        None, description="What people call the point, by language: {en: …, zh-CN: …}."
    )
    bit_labels: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Bit fields: point name → {en: …, zh-CN: …}."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        where = f"point {self.name!r}"
        if self.table in BIT_TABLES and self.type is not DataType.BOOL:
            raise ValueError(f"{where}: {self.table} holds single bits, so type must be bool")
        if self.type is DataType.BOOL and self.table not in BIT_TABLES:
            raise ValueError(f"{where}: bool points live in coil or discrete tables")
        if self.type is DataType.BITFIELD:
            if not self.bits:
                raise ValueError(f"{where}: a bitfield needs `bits`")
            bad = {k: v for k, v in self.bits.items() if not 0 <= v <= 15}
            if bad:
                raise ValueError(f"{where}: bit indexes must be 0–15, got {bad}")
            if len(set(self.bits.values())) != len(self.bits):
                raise ValueError(f"{where}: two bit fields share a bit")
        elif self.bits:
            raise ValueError(f"{where}: `bits` only goes with type bitfield")
        self._check_labels(where)
        if self.type is DataType.STRING:
            if self.count is None:
                raise ValueError(f"{where}: a string needs `count` registers")
        elif self.count is not None and self.count != REGISTER_COUNT[self.type]:
            raise ValueError(
                f"{where}: {self.type} needs {REGISTER_COUNT[self.type]} registers, "
                f"got {self.count}"
            )
        return self

    def _check_labels(self, where: str) -> None:
        unknown = set(self.bit_labels) - set(self.bits or {})
        if unknown:
            raise ValueError(f"{where}: bit_labels for bits it does not have: {sorted(unknown)}")
        for label in (self.label, *self.bit_labels.values()):
            if label is not None:
                check_label(label, where)

    @property
    def width(self) -> int:
        """Registers (or bits) the point occupies."""
        if self.type is DataType.STRING:
            assert self.count is not None
            return self.count
        return REGISTER_COUNT[self.type]

    def point_names(self) -> list[str]:
        """The reading points this spec yields (one per bit for bit fields)."""
        if self.type is DataType.BITFIELD:
            assert self.bits is not None
            return list(self.bits)
        return [self.name]


class DeviceProfile(StrictModel):
    """A register map for one kind of device."""

    profile: str = Field(description="Profile id, e.g. pump-vfd-a.")
    equipment_type: str = Field(description="Measurement name: elevator, pump, shaft_panel, …")
    description: str = ""
    order: Order = Field(Order.ABCD, description="Default byte/word order of the device.")
    max_block: int = Field(100, ge=1, le=125, description="Most registers one request may read.")
    points: list[PointSpec]

    @model_validator(mode="after")
    def _check(self) -> Self:
        names: set[str] = set()
        for spec in self.points:
            for name in spec.point_names():
                if name in names:
                    raise ValueError(f"profile {self.profile}: duplicate point name {name!r}")
                names.add(name)
        by_table: dict[Table, list[PointSpec]] = {}
        for spec in self.points:
            by_table.setdefault(spec.table, []).append(spec)
        for table, specs in by_table.items():
            specs.sort(key=lambda s: s.address)
            for prev, cur in itertools.pairwise(specs):
                if cur.address < prev.address + prev.width:
                    raise ValueError(
                        f"profile {self.profile}: point {cur.name!r} at {table} {cur.address} "
                        f"overlaps {prev.name!r} ({prev.address}–{prev.address + prev.width - 1})"
                    )
        return self

    def order_of(self, spec: PointSpec) -> Order:
        """Effective order of a point."""
        return spec.order or self.order

    def spec(self, name: str) -> PointSpec:
        """The spec of a point (or of the bit field holding it)."""
        for spec in self.points:
            if name in spec.point_names():
                return spec
        raise KeyError(f"profile {self.profile} has no point {name!r}")


def load_profile(path: Path) -> DeviceProfile:
    """Load one profile file; ConfigError names the file and field."""
    return parse_config(load_yaml(path), DeviceProfile, source=str(path))


def builtin_profile_dir() -> Path:
    """Folder of the profiles shipped with bldgwatch."""
    return Path(str(resources.files("bldgwatch.core") / "profiles"))


def load_profiles(*dirs: Path) -> dict[str, DeviceProfile]:
    """All profiles from the built-in folder and any extra folders; later folders override."""
    found: dict[str, DeviceProfile] = {}
    for folder in (builtin_profile_dir(), *dirs):
        for path in sorted(folder.glob("*.yaml")):
            prof = load_profile(path)
            found[prof.profile] = prof
    if not found:
        raise ConfigError("no device profiles found")
    return found


# -- DL/T 645-2007 meters -----------------------------------------------------------------------
DLT645_FOLDER = "dlt645"
"""Sub-folder of a profiles folder with DL/T 645 profiles (data identifiers, not registers)."""


class Dlt645Point(StrictModel):
    """One data identifier a DL/T 645 meter is read for, and the points it yields."""

    di: str = Field(description="Data identifier as the standard writes it, e.g. 02010100.")
    name: str | None = Field(None, description="Point name of a single-value identifier.")
    names: list[str] | None = Field(
        None, description="Point names of a block identifier (e.g. 0201FF00: A, B, C), in order."
    )
    length: int | None = Field(
        None, ge=1, le=8, description="Bytes per value; only for identifiers the codec lacks."
    )
    decimals: int | None = Field(
        None, ge=0, le=8, description="Decimals of the BCD value; with `length`."
    )
    signed: bool = Field(False, description="Top bit is the sign; with `length`.")
    unit: str = Field("", description="Unit after decoding, as displayed; with `length`.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        where = f"identifier {self.di}"
        di = dlt645.parse_di(self.di)
        if (self.name is None) == (self.names is None):
            raise ValueError(f"{where}: give either name or names")
        known = dlt645.DATA_ITEMS.get(di)
        if self.length is None:
            if known is None:
                raise ValueError(
                    f"{where}: not a data identifier the codec knows; give length and decimals"
                )
            if self.decimals is not None:
                raise ValueError(f"{where}: decimals goes with length")
        elif self.decimals is None:
            raise ValueError(f"{where}: length needs decimals")
        if len(self.point_names()) != self.item().count:
            raise ValueError(
                f"{where}: holds {self.item().count} values, names {len(self.point_names())}"
            )
        return self

    def item(self) -> dlt645.DataItem:
        """The codec's item: the known one, or one from this point's own format."""
        di = dlt645.parse_di(self.di)
        if self.length is None:
            return dlt645.DATA_ITEMS[di]
        assert self.decimals is not None
        fmt = dlt645.DataFormat(self.length, self.decimals, self.signed, self.unit)
        return dlt645.DataItem(di, self.name or "block", fmt, len(self.point_names()))

    def point_names(self) -> list[str]:
        """The points this identifier yields."""
        return [self.name] if self.name is not None else list(self.names or [])


class Dlt645Profile(StrictModel):
    """What to read from one kind of DL/T 645-2007 meter."""

    profile: str = Field(description="Profile id, e.g. dlt645-3ph.")
    equipment_type: str = Field(description="Measurement name, e.g. electricity_meter.")
    description: str = ""
    points: list[Dlt645Point] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        names: set[str] = set()
        dis: set[str] = set()
        for point in self.points:
            if point.di.upper() in dis:
                raise ValueError(f"profile {self.profile}: identifier {point.di} read twice")
            dis.add(point.di.upper())
            for name in point.point_names():
                if name in names:
                    raise ValueError(f"profile {self.profile}: duplicate point name {name!r}")
                names.add(name)
        return self

    def point_names(self) -> list[str]:
        """Every point the profile yields."""
        return [name for point in self.points for name in point.point_names()]


def load_dlt645_profiles(*dirs: Path) -> dict[str, Dlt645Profile]:
    """DL/T 645 profiles from the `dlt645` sub-folder of the built-in folder and of any extra
    folders; later folders override."""
    found: dict[str, Dlt645Profile] = {}
    for folder in (builtin_profile_dir(), *dirs):
        for path in sorted((folder / DLT645_FOLDER).glob("*.yaml")):
            prof = parse_config(load_yaml(path), Dlt645Profile, source=str(path))
            found[prof.profile] = prof
    return found
