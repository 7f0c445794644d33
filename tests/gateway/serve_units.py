"""`python -m tests.gateway.serve_units --units N --port P`: the harness's Modbus load devices
as a process of their own (the partition test runs it inside the gateway's namespace)."""

from __future__ import annotations

import argparse
import signal
import threading

from tests.gateway.harness import ModbusUnits


def main() -> None:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    units = ModbusUnits(args.units, port=args.port)
    try:
        stop.wait()
    finally:
        units.close()


if __name__ == "__main__":
    main()
