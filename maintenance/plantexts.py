"""The texts of preventive plans in the reader's language (review 19r M6).

A plan's title and each of its tasks is either a catalogue key (`maintenance.plan.*`,
`maintenance.task.*` in `core/locale/*/bldgwatch.po`; the default plans of
`maintenance.catalogue` use them) or plain text a site configured. A preventive order keeps the
key (its title key and parameters, the checklist item's text, the description's message) and is
rendered when someone reads it; its `title` and `description` columns keep the English text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bldgwatch.maintenance.i18n import PREFIX, Message, known, render

PLAN_TITLE = PREFIX + "title.pm"
"""The title key of a preventive order: `{plan}: {equipment}`."""


PLAN_KEYS = (PREFIX + "plan.", PREFIX + "task.")
"""The catalogue keys a plan's title or task may name (their texts take no parameters)."""


def plan_message(text: str) -> Message | str:
    """A plan's title or task as a message when it is a plan or task key of the catalogue, else
    the text itself (another key, e.g. an order title with parameters, is never rendered as
    one: review 19b-r L5)."""
    if text.startswith(PLAN_KEYS) and known(text.removeprefix(PREFIX)):
        return Message(text.removeprefix(PREFIX))
    return text


def other_key(text: str) -> bool:
    """Whether `text` is a catalogue key of maintenance that is no plan or task key: refused in
    a plan's configuration (it would be shown raw, or need parameters it has not)."""
    return (
        text.startswith(PREFIX)
        and not text.startswith(PLAN_KEYS)
        and known(text.removeprefix(PREFIX))
    )


def plan_text(text: str, lang: str) -> str:
    """A plan's title or task in `lang` (plain text as written)."""
    found = plan_message(text)
    return render(found, lang) if isinstance(found, Message) else found


def title_params(title: str, equipment: str) -> dict[str, Any]:
    """The parameters of an order's `PLAN_TITLE`: the plan's title (a nested message when it is
    a catalogue key) and the equipment."""
    plan = plan_message(title)
    named: Any = {"key": PREFIX + plan.key, "params": {}} if isinstance(plan, Message) else plan
    return {"plan": named, "equipment": equipment}


def tasks_message(tasks: Sequence[str]) -> Message | None:
    """An order's description: its plan's tasks as a bulleted list, each in the reader's
    language (None for a plan without tasks)."""
    found: Message | None = None
    for task in reversed(tasks):
        params: dict[str, Any] = {"task": plan_message(task)}
        if found is None:
            found = Message("pm.task_last", params)
        else:
            found = Message("pm.task_line", {**params, "more": found})
    return found
