"""Hostile review of issue 12 (#7, "nothing is lost"): what the gateway may send, what the
broker takes and what the consumers parse do not agree."""

from __future__ import annotations

import re

from pydantic import ValidationError

from bldgwatch.core.codec import decode_batch, encode_batch
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import EquipmentInfo, Reading, ReadingBatch
from bldgwatch.gateway.config import GatewayConfig
from bldgwatch.servers import DEPLOY_DIR

T0_MS = 1_767_225_600_000


def _broker_max_packet() -> int:
    conf = (DEPLOY_DIR / "mosquitto" / "demo.conf").read_text()
    found = re.search(r"^max_packet_size (\d+)$", conf, re.M)
    assert found is not None
    return int(found.group(1))


def test_a_batch_the_gateway_may_send_and_the_broker_accepts_is_parsed_by_the_consumers() -> None:
    """FINDING (medium, careless operator): `queue.batch_max_bytes` has no upper bound and its
    description says the broker's CONNACK Maximum Packet Size "lowers it further", which
    invites setting it to the broker's 4 MiB (deploy/mosquitto/demo.conf). The consumers'
    default `decode.max_message_bytes` is 1 MiB. A 2 MiB batch is then accepted and PUBACKed
    by the broker (the gateway deletes it from its queue), and ingest and rules dead-letter
    it whole as `oversize`: every reading in it is lost, silently for the gateway. Either
    the gateway config must refuse a batch size past what consumers take, or the consumers'
    default must cover the broker's max_packet_size (DecodeLimits' own description has the
    inequality backwards: "keep it at or below the broker's max_packet_size")."""
    broker_max = _broker_max_packet()
    try:
        GatewayConfig.model_validate(
            {
                "site": "demo",
                "gateway_id": "gw-1",
                "queue": {"batch_max_bytes": broker_max, "batch_max_readings": 100_000},
            }
        )
    except ValidationError:
        return  # refused at start, naming the field: nothing can be lost
    n = 40_000
    readings = [Reading(f"P-{i % 50:02d}", "bearing_temp_c", T0_MS + i, 51.5) for i in range(n)]
    table = {f"P-{i:02d}": EquipmentInfo("pump", "B1") for i in range(50)}
    payload = encode_batch(ReadingBatch("demo", "gw-1", 1, table, readings))
    assert 1_048_576 < len(payload) < broker_max  # the broker takes it
    try:
        decoded = decode_batch(payload)
    except DecodeError as err:
        raise AssertionError(f"a batch the broker accepted is refused: {err.reason}") from err
    assert len(decoded.batch.readings) == n
