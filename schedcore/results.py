"""PDG's callback return values: ``scheduleResult`` and ``tickResult``."""

from __future__ import annotations

import enum


class ScheduleResult(enum.IntEnum):
    """What ``onSchedule`` returns."""

    CookCanceled = 0
    CookFailed = 1
    CookSucceeded = 2
    Failed = 3
    Succeeded = 4
    Deferred = 5
    FullDeferred = 6


class TickResult(enum.IntEnum):
    """What ``onTick`` returns."""

    SchedulerReady = 0
    SchedulerBusy = 1
    SchedulerCancelCook = 2


# PDG's spelling, for code written against Houdini
scheduleResult = ScheduleResult
tickResult = TickResult


def schedule_result(value) -> ScheduleResult:
    """Normalize an ``onSchedule`` return value; ``True``/``False`` as the 17.5 page says,
    and ``None`` (no return statement) as ``Succeeded``, as Houdini takes it: the item was
    submitted and reports later (real farm schedulers rely on this)."""
    if value is True or value is None:
        return ScheduleResult.Succeeded
    if value is False:
        return ScheduleResult.Failed
    if isinstance(value, ScheduleResult):
        return value
    if type(value) is int and value in ScheduleResult._value2member_map_:
        return ScheduleResult(value)
    raise TypeError(f"returned {value!r}; allowed: "
                    + ", ".join(f"pdg.scheduleResult.{r.name}" for r in ScheduleResult)
                    + ", True, False or None")


def tick_result(value) -> TickResult:
    """Normalize an ``onTick`` return value; ``None`` means ready."""
    if value is None:
        return TickResult.SchedulerReady
    if isinstance(value, TickResult):
        return value
    if type(value) is int and value in TickResult._value2member_map_:
        return TickResult(value)
    raise TypeError(f"returned {value!r}; allowed: "
                    + ", ".join(f"pdg.tickResult.{r.name}" for r in TickResult))
