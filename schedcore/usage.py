"""Where a cook's time went: what each item's job used, measured where the job ran.

``ItemUsage`` is one frozen record per item: the cook's own times (when the item was made,
handed to its scheduler, started, ended) and what the job's process tree used (CPU, peak
resident memory, exit code or signal), with where it ran (slot, host) and the farm's name
for it (``native_id``: a job id, the pid locally). A field nobody measured is ``None`` (or
"" for names): a trace says "-" there rather than a made-up zero.

Reports carry a partial record (``reports.UsageReported``); the item keeps what they said,
merged (``merged``), and the cook's times are kept apart in a ``Timeline`` (four floats per
item in arrays, no object per item), joined to the record when asked (``usage_of``).
"""

from __future__ import annotations

import math
import resource
import sys
import time
from array import array
from dataclasses import dataclass, fields
from typing import Any

MAX_TEXT = 256  # characters of a slot, host or native id a report may give


class UsageError(ValueError):
    """A usage report that cannot be taken; the text says which field and why."""


@dataclass(frozen=True, slots=True)
class ItemUsage:
    """What one item's job used. Times are seconds since the epoch; ``queued`` is seconds
    from the item's making to its handing to the scheduler; ``wall`` the seconds its job
    ran; CPU seconds count the job's whole process tree (user and system apart);
    ``peak_rss`` is bytes (the largest resident set of its processes)."""

    submit: float | None = None
    start: float | None = None
    end: float | None = None
    queued: float | None = None
    wall: float | None = None
    cpu_user: float | None = None
    cpu_system: float | None = None
    peak_rss: int | None = None
    exit_code: int | None = None
    signal: int | None = None
    attempt: int | None = None
    slot: str = ""
    host: str = ""
    native_id: str = ""

    @property
    def cpu(self) -> float | None:
        """User and system CPU seconds together."""
        if self.cpu_user is None and self.cpu_system is None:
            return None
        return (self.cpu_user or 0.0) + (self.cpu_system or 0.0)

    @property
    def realtime(self) -> float | None:
        """Seconds the job ran: measured, else from its start and end."""
        if self.wall is not None:
            return self.wall
        if self.start is not None and self.end is not None:
            return max(0.0, self.end - self.start)
        return None

    def merged(self, newer: ItemUsage) -> ItemUsage:
        """This record with what ``newer`` knows laid over it."""
        values = {f.name: getattr(self, f.name) for f in _FIELDS}
        for name in _NAMES:
            value = getattr(newer, name)
            if value is not None and value != "":
                values[name] = value
        return ItemUsage(**values)

    def to_json(self) -> dict[str, Any]:
        """The known fields only."""
        return {name: value for name in _NAMES
                if (value := getattr(self, name)) is not None and value != ""}

    @classmethod
    def from_json(cls, data: Any) -> ItemUsage:
        """A record from a report's JSON object; ``UsageError`` names what is wrong."""
        if not isinstance(data, dict):
            raise UsageError(f"usage must be an object of fields, got {type(data).__name__}")
        unknown = sorted(str(k) for k in data if k not in _KINDS)
        if unknown:
            raise UsageError(f"unknown usage field(s) {', '.join(unknown)}; the fields are "
                             f"{', '.join(_NAMES)}")
        return cls(**{name: _checked(name, value) for name, value in data.items()})


_FIELDS = fields(ItemUsage)
_NAMES = tuple(f.name for f in _FIELDS)
_TEXTS = frozenset({"slot", "host", "native_id"})
_INTS = frozenset({"peak_rss", "exit_code", "signal", "attempt"})
_KINDS = {name: "text" if name in _TEXTS else "int" if name in _INTS else "float"
          for name in _NAMES}
_SIGNED = frozenset({"exit_code"})  # a Windows or farm exit code may be negative


def _checked(name: str, value: Any) -> Any:
    kind = _KINDS[name]
    if value is None:
        return "" if kind == "text" else None
    if kind == "text":
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # a farm's numeric job id
        if not isinstance(value, str):
            raise UsageError(f"usage field {name} must be text, got {type(value).__name__}")
        if len(value) > MAX_TEXT:
            raise UsageError(f"usage field {name} is {len(value):,} characters long; at "
                             f"most {MAX_TEXT} are kept")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"usage field {name} must be a number, got {type(value).__name__}")
    if kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise UsageError(f"usage field {name} must be a whole number, got {value!r}")
            value = int(value)
        if abs(value) >= 2**63:
            raise UsageError(f"usage field {name} is out of range: {value}")
    elif not math.isfinite(value):
        raise UsageError(f"usage field {name} must be a finite number, got {value!r}")
    else:
        value = float(value)
    if value < 0 and name not in _SIGNED:
        raise UsageError(f"usage field {name} must not be negative, got {value!r}")
    return value


def rss_bytes(maxrss: int) -> int:
    """Bytes of a ``ru_maxrss``: KiB on Linux, bytes on macOS."""
    return int(maxrss) * (1 if sys.platform == "darwin" else 1024)


def from_rusage(rusage: Any) -> dict[str, Any]:
    """CPU and peak memory from ``os.wait4``'s record of a child of this process.

    Linux counts a child's peak resident set from the process it was started from (exec
    keeps the high-water mark of the memory it replaces): a job that stayed smaller than
    this process's own peak shows this process's. Such a peak says nothing of the job, so
    it is left unknown (None) rather than reported as the job's."""
    fields: dict[str, Any] = {"cpu_user": float(rusage.ru_utime),
                              "cpu_system": float(rusage.ru_stime)}
    if above_own_peak(rusage.ru_maxrss):
        fields["peak_rss"] = rss_bytes(rusage.ru_maxrss)
    return fields


_own_peak = [0]  # this process's peak resident set as last asked: it only grows


def above_own_peak(maxrss: int) -> bool:
    """Whether a child's ``ru_maxrss`` is above the peak of this process's memory (what a
    child inherits): asked of the kernel only when above the peak known (the peak only
    grows), not for every job."""
    if maxrss <= _own_peak[0]:
        return False
    _own_peak[0] = own_peak()
    return maxrss > _own_peak[0]


def own_peak() -> int:
    """The peak resident set of this process's memory, in ``ru_maxrss``'s unit: Linux's
    VmHWM. Not ``getrusage(RUSAGE_SELF)``, which also holds what this process inherited
    at its own start (a Dask worker spawned by a large process) and children never do."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def exit_fields(code: int | None) -> dict[str, Any]:
    """``exit_code`` or ``signal`` from a ``Popen``-style return code (-N: signal N)."""
    if code is None:
        return {}
    return {"signal": -code} if code < 0 else {"exit_code": code}


# == the cook's own times ================================================================
MADE, HANDED, STARTED, ENDED = range(4)
_UNSET = -1.0  # in the arrays: no time (the engine's clock starts above zero)


class Timeline:
    """When each item was made, handed to its scheduler, started and ended, on the
    engine's clock, in one array of doubles per moment indexed by item id (ids count up from
    1): 32 bytes an item, no object each. ``epoch`` turns the engine's clock into seconds
    since the epoch."""

    __slots__ = ("_columns", "epoch")

    def __init__(self, epoch: float = 0.0) -> None:
        self._columns = tuple(array("d") for _ in range(4))
        self.epoch = epoch

    def stamp(self, moment: int, item_id: int, now: float) -> None:
        column = self._columns[moment]
        try:
            column[item_id] = now
        except IndexError:  # a new id beyond the columns: they grow first
            self._grow(item_id + 1)
            column[item_id] = now

    def _grow(self, size: int) -> None:
        # by an eighth (at least 1,024 ids): doubling left a cook a third of its columns
        # unused, growing by one cost each new item four appends
        length = len(self._columns[0])
        more = max(size - length, length >> 3, 1024)
        block = array("d", [_UNSET]) * more
        for column in self._columns:
            column.extend(block)

    def first(self, moment: int, item_id: int, now: float) -> None:
        """Stamp unless stamped already (a second start report keeps the first)."""
        column = self._columns[moment]
        if item_id >= len(column) or column[item_id] == _UNSET:
            self.stamp(moment, item_id, now)

    def ran(self, item_id: int) -> float | None:
        """Seconds from the item's start to its end, or None when it has not both."""
        started, ended = self._columns[STARTED], self._columns[ENDED]
        if item_id >= len(ended) or started[item_id] == _UNSET or ended[item_id] == _UNSET:
            return None
        return max(0.0, ended[item_id] - started[item_id])

    def json_times(self, item_id: int) -> str:
        """``handed, started, ended`` as JSON: whole milliseconds since the epoch, or
        ``null``: the journal's text of them (what a trace shows; made without a record: a
        float's text costs three times an integer's)."""
        _made, handed, started, ended = self._columns
        if item_id >= len(handed):
            return "null, null, null"
        e = self.epoch
        b, c, d = handed[item_id], started[item_id], ended[item_id]
        if b != _UNSET and d != _UNSET:  # most rows
            if c == _UNSET:  # cooked without a job
                return f"{int((b + e) * 1000)}, null, {int((d + e) * 1000)}"
            return f"{int((b + e) * 1000)}, {int((c + e) * 1000)}, {int((d + e) * 1000)}"
        return ", ".join("null" if v == _UNSET else str(int((v + e) * 1000))
                         for v in (b, c, d))

    def columns(self) -> tuple[array, array, array, array]:
        """The arrays of the four moments, by id, for a caller that stamps in its own loop
        (they grow in place: ``stamp`` grows them)."""
        made, handed, started, ended = self._columns
        return made, handed, started, ended

    def at(self, moment: int, item_id: int) -> float | None:
        """The time of ``moment`` in seconds since the epoch, or None."""
        column = self._columns[moment]
        if item_id >= len(column) or column[item_id] == _UNSET:
            return None
        return column[item_id] + self.epoch


def epoch_offset(clock: Any = time.monotonic) -> float:
    """What to add to ``clock()`` to get seconds since the epoch."""
    return time.time() - clock()


def usage_of(item: Any, timeline: Timeline | None) -> ItemUsage:
    """The item's whole record: what reports said (``item.usage``) over the cook's times.
    A job's own measured start and end win over the cook's (they are nearer the work)."""
    measured = item.usage or _EMPTY
    if timeline is None:
        return measured
    made, handed = timeline.at(MADE, item.id), timeline.at(HANDED, item.id)
    started, ended = timeline.at(STARTED, item.id), timeline.at(ENDED, item.id)
    cook = ItemUsage(
        submit=handed, start=started, end=ended,
        queued=max(0.0, handed - made) if handed is not None and made is not None else None)
    return cook.merged(measured)


_EMPTY = ItemUsage()
