"""bldgwatch: IoT monitoring and maintenance for building equipment.

This package is the composition root: the `bldgwatch` command (`cli`), the demo (`demo`,
`demo_setup`), the dev-server launcher (`servers`) and the relational schema's migrations
(`migrations`). The components live beside it as subpackages: `core`, `gateway`, `ingest`,
`rules`, `maintenance`, `console` and `simulators`. Importing this package imports nothing.
"""

__all__ = ["cli", "demo", "demo_setup", "migrations", "servers"]
