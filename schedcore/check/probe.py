"""The kit's view into one cook: every callback the engine makes of the scheduler (what it was
given, what it answered and from which line, what it raised and where) and every state change
of every item, with the ticks counted, so that a scenario can say what went wrong in the
scheduler author's own words: the callback and the line."""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
import time
import traceback
from dataclasses import dataclass
from types import CodeType

from ..events import ItemAdded, ItemStateChanged
from ..results import schedule_result, tick_result
from ..workitem import WorkItemState

S = WorkItemState
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_HERE = os.path.abspath(__file__)
_LIBRARIES = tuple({os.path.abspath(sysconfig.get_paths()[key]) + os.sep
                    for key in ("stdlib", "purelib", "platlib")})

CALLBACKS = ("onStart", "onStop", "onStartCook", "onStopCook", "onSchedule",
             "onScheduleStatic", "onTick", "getLogURI", "getStatusURI", "endSharedServer",
             "onCancelWorkItems")


@dataclass
class Where:
    """A place in the scheduler's code: a module file or a Python Scheduler field
    (``<node:callback>``)."""

    callback: str
    file: str = ""
    line: int | None = None

    def __str__(self) -> str:
        if not self.file:
            return self.callback
        if self.file.startswith("<") and ":" in self.file:
            return f"{self.callback}, line {self.line} of the field"
        return f"{self.callback} ({os.path.basename(self.file)}:{self.line})"

    def to_json(self) -> dict:
        return {"callback": self.callback, "file": self.file, "line": self.line}


@dataclass
class Problem:
    where: Where
    text: str           # "raised ZeroDivisionError: division by zero", "returned 'yes'; ..."


def _valid_bool(value):
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"returned {value!r}; expected True or False")


def _valid_str(value):
    if value is not None and not isinstance(value, str):
        raise TypeError(f"returned {value!r}; expected a URI (a str) or \"\"")


VALIDATE = {"onSchedule": schedule_result, "onTick": tick_result, "onStart": _valid_bool,
            "onStop": _valid_bool, "onStartCook": _valid_bool, "onStopCook": _valid_bool,
            "endSharedServer": _valid_bool, "getLogURI": _valid_str, "getStatusURI": _valid_str}


class Probe:
    """Attach to a cook's scheduler before it runs; read from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self.calls: list[tuple] = []          # (callback, args summary, answer)
        self.problems: list[Problem] = []
        self.ticks = 0
        self.running: tuple[str, float] | None = None  # the callback being run, since when
        self.finals: dict[str, list[S]] = {}  # item name -> final states it reached
        self.states: dict[str, S] = {}
        self.in_flight_since: dict[str, tuple[float, int]] = {}  # name -> (time, ticks)
        self.last_change = (time.monotonic(), 0)
        self.before_stop_cook = None  # called on the engine thread before onStopCook runs
        self._codes: dict[str, CodeType | None] = {}  # callback -> its code, where it is defined

    # -- callbacks ------------------------------------------------------------------------
    def attach(self, scheduler) -> None:
        for name in CALLBACKS:
            original = getattr(scheduler, name, None)
            if callable(original):
                setattr(scheduler, name, self._wrap(name, original))

    def _wrap(self, name: str, original):
        code = getattr(getattr(original, "__func__", original), "__code__", None)
        self._codes[name] = code

        def callback(*args):
            if name == "onStopCook" and self.before_stop_cook is not None:
                self.before_stop_cook(*args)
            self.running = (name, time.monotonic())
            returned: list[int] = []
            try:
                value = _returning_line(original, args, code, returned)
            except BaseException as exc:
                self._raised(name, exc, code)
                raise
            finally:
                self.running = None
            self._answered(name, args, value, returned[0] if returned else None, code)
            return value
        return callback

    def _raised(self, name: str, exc: BaseException, code) -> None:
        file, line = _user_frame(exc, code.co_filename if code is not None else "")
        text = f"raised {type(exc).__name__}: {exc}".rstrip(": ")
        with self._lock:
            self.problems.append(Problem(Where(name, file, line), text))

    def _answered(self, name, args, value, line, code) -> None:
        with self._lock:
            self.calls.append((name, args, value))
            if name == "onTick":
                self.ticks += 1
        check = VALIDATE.get(name)
        try:
            if check is not None:
                check(value)
        except TypeError as exc:
            file = code.co_filename if code is not None else ""
            with self._lock:
                self.problems.append(Problem(Where(name, file, line), str(exc)))

    def where(self, name: str) -> Where:
        """Where callback ``name`` is defined (its first line), to point at it."""
        code = self._codes.get(name)
        if code is None or os.path.abspath(code.co_filename).startswith(_PACKAGE):
            return Where(name)  # schedcore's own default: nothing of the author's to show
        return Where(name, code.co_filename, max(1, code.co_firstlineno))

    def called(self, name: str) -> list[tuple]:
        with self._lock:
            return [call for call in self.calls if call[0] == name]

    # -- events (engine thread) -----------------------------------------------------------
    def __call__(self, event) -> None:
        if isinstance(event, ItemAdded):
            with self._lock:
                self.states[event.item.name] = event.state
            return
        if not isinstance(event, ItemStateChanged):
            return
        name, new = event.item.name, event.new
        with self._lock:
            self.states[name] = new
            self.last_change = (time.monotonic(), self.ticks)
            if new in (S.Scheduled, S.Cooking) and name not in self.in_flight_since:
                self.in_flight_since[name] = self.last_change
            if new.is_final or new == S.Uncooked:
                self.finals.setdefault(name, []).append(new)
                self.in_flight_since.pop(name, None)

    def in_flight(self) -> dict[str, tuple[float, int]]:
        with self._lock:
            return dict(self.in_flight_since)

    def live(self) -> list[str]:
        """Items neither final nor blocked, as the events told."""
        with self._lock:
            return [name for name, state in self.states.items()
                    if not state.is_final and state != S.Uncooked]

    def answers(self, item: str) -> list:
        with self._lock:
            return [value for name, args, value in self.calls
                    if name == "onSchedule" and getattr(args[0], "name", None) == item]


def _returning_line(function, args, code, returned: list[int]):
    """Call ``function``; the line its own code returned from goes into ``returned`` (a
    profile hook on this thread for the call's length, the previous one put back)."""
    if code is None:
        return function(*args)
    previous = sys.getprofile()

    def hook(frame, event, arg):
        if event == "return" and frame.f_code is code:
            returned[:] = [frame.f_lineno]
    sys.setprofile(hook)
    try:
        return function(*args)
    finally:
        sys.setprofile(previous)


def _user_frame(exc: BaseException, own_file: str) -> tuple[str, int | None]:
    """The deepest frame of ``exc`` in the file of the callback's own code; else the deepest
    in neither schedcore nor a library; else the deepest of all."""
    frames: list[tuple[str, int | None]] = [
        (f.f_code.co_filename, line) for f, line in traceback.walk_tb(exc.__traceback__)
        if os.path.abspath(f.f_code.co_filename) != _HERE]
    own = [f for f in frames if f[0] == own_file]
    authors = [f for f in frames if f[0].startswith("<") or not
               os.path.abspath(f[0]).startswith((_PACKAGE, *_LIBRARIES))]
    chosen = (own or authors or frames or [("", None)])[-1]
    return chosen[0], chosen[1]
