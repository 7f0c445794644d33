"""A part number in a route's path may hold "/" (bearing 6205-2RS/C3) and is anything up to
the route's next fixed part: `{part_no:part}` (review 19c-s M2). Starlette's own `path`
convertor stops at a line break, which made such a number a 404 instead of the 422 that
names the field."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class PartNumberConvertor(Convertor[str]):
    """Any text, "/" and line breaks included (the route's own checks refuse what is bad)."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("part", PartNumberConvertor())
