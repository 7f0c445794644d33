"""Errors of the rules package."""

from __future__ import annotations

from bldgwatch.core.errors import BldgwatchError


class RulesError(BldgwatchError):
    """Base of the rules package's errors."""


class InvalidTransitionError(RulesError):
    """An operation that the alarm's current state does not allow (e.g. acknowledging twice)."""

    def __init__(
        self, alarm_id: str, state: str, operation: str, reason: str, *, code: str = ""
    ) -> None:
        super().__init__(f"alarm {alarm_id}: cannot {operation} in state {state}: {reason}")
        self.alarm_id = alarm_id
        self.state = state
        self.operation = operation
        self.code = code
        """Why, as a catalogue key's last part (`alarm.reason.<code>`), e.g. closed."""


class UnknownAlarmError(RulesError):
    """No alarm with this id exists in the store."""

    def __init__(self, alarm_id: str) -> None:
        super().__init__(f"no alarm with id {alarm_id!r}")
        self.alarm_id = alarm_id


class ParameterMissingError(RulesError):
    """A rule limit names a parameter the equipment lacks and gives no default."""

    def __init__(self, rule_id: str, equipment: str, param: str) -> None:
        super().__init__(
            f"rule {rule_id}: equipment {equipment} has no {param!r} and the rule gives no default"
        )
        self.rule_id = rule_id
        self.equipment = equipment
        self.param = param
