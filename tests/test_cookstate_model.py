"""A model-based test of the cook's rules alone: ``CookState`` driven directly, on one thread,
with no engine, scheduler objects, clock or files of its own. The test plays the engine: it
carries out each instruction the state returns (drawing what every callback answers: each
``ScheduleResult``, ``True``/``False``/``None``, a raise, nonsense; busy, canceling, raising
ticks), posts the jobs' reports (start, success, fail, cancel; delayed, duplicated, reordered,
by id or by name, about items no scheduler was given, about items that do not exist, after
the end), cancels and ``cookError``\\ s at drawn points, reads a drawn clock, and ends the cook
as the engine does (``onStopCook``, ``finish``, ``result``).

It checks what ``tests/test_engine_model.py`` checks of a cook (it ends, each item ends once,
the counts add up, a cook where nothing failed cooks everything, the pace of each scheduler)
with oracles of its own: the legal paths of an item (written out here, not read from
``schedcore.transitions``), what each answer and report must do to its item, and that
nothing runs below a failure, following Houdini: an item is below a failed, canceled or
never-run item when it depends on it, or when it is an item of a Wait for All or Server End
made after a node above it lost items to such a failure (a dynamic node made nothing from the
failed item), or the server of a Python Server Begin made from no item at all. Every Uncooked
item names an item above it that did not cook.

Single-threaded, and drawing inside one strategy (``cooks``), it runs two to 2.5 times as many
examples per second as the engine's model (110 to 145 against 59); most of its time is the
drawing of the network (``networks``, shared with that model: about 240 a second alone).
``SCHEDCORE_COOKSTATE_EXAMPLES=20000`` runs more (random, not derandomized) examples by hand.
A change of the transition table that no cook can show (one the state never asks for) is
caught by ``test_the_transition_table_is_the_oracles``.
"""

from __future__ import annotations

import collections
import json
import os
import re
import tempfile
import traceback
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from schedcore import network as network_file
from schedcore.cookio import (
    CallGetLogURI,
    CallOnSchedule,
    CallOnSchedulePassEnd,
    CallOnScheduleStatic,
    CallOnTick,
    CookedHere,
    CookHere,
    KeepSharedServer,
    LogFound,
    PassEnded,
    ScheduleAnswer,
    TickAnswer,
)
from schedcore.cooknodes import NodeState, Queue
from schedcore.cookstate import CookState
from schedcore.errors import SchedcoreError
from schedcore.events import CookMessage, ItemAdded, ItemChanged, ItemStateChanged
from schedcore.nodes import node_type
from schedcore.reports import (
    CancelAsked,
    Canceled,
    CookErrorSaid,
    Failed,
    ItemReport,
    SharedServerStarted,
    Started,
    Succeeded,
)
from schedcore.results import ScheduleResult, TickResult, schedule_result, tick_result
from schedcore.workitem import WorkItemState as S

from .test_engine_model import (
    ANSWERS,
    BAD,
    COOK_ERROR,
    GOOD,
    MAX_BUSY,
    MAX_DEFERRALS,
    check_generation,
    network_json,
    networks,
)

R = ScheduleResult
T = TickResult

_BY_HAND = os.environ.get("SCHEDCORE_COOKSTATE_EXAMPLES")
# ten times the engine model's 400 examples: about 20 s on 2 shared cores (it, 7 s)
EXAMPLES = int(_BY_HAND or 4000)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not _BY_HAND,
                    database=None, print_blob=True, suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])

# ---------------------------------------------------------------- the oracle's own rules

ENDS = frozenset({S.CookedSuccess, S.CookedCache, S.CookedFail, S.CookedCancel, S.Uncooked})
# where an item may go from each state that is not an end: forward only; from the cache and
# to Uncooked only before anything ran it; an end is for good
NEXT = {
    S.Waiting: frozenset({S.Scheduled, S.Cooking, S.CookedSuccess, S.CookedCache,
                          S.CookedFail, S.CookedCancel, S.Uncooked}),
    S.Scheduled: frozenset({S.Cooking, S.CookedSuccess, S.CookedFail, S.CookedCancel}),
    S.Cooking: frozenset({S.CookedSuccess, S.CookedFail, S.CookedCancel}),
}
RUNS = frozenset({S.Scheduled, S.Cooking, S.CookedSuccess, S.CookedCache})
GOOD_STATES = frozenset({S.CookedSuccess, S.CookedCache})
IN_FLIGHT = frozenset({S.Scheduled, S.Cooking})
TARGET = {Started: S.Cooking, Succeeded: S.CookedSuccess, Failed: S.CookedFail,
          Canceled: S.CookedCancel}
KINDS = ("start", "success", "fail", "cancel")
PARTITIONS = ("waitforall", "commandserverend", "pythonserver")
WHOLE = ("waitforall", "commandserverend")  # partitions that stand for every upstream item
UNCOOKED_REASON = re.compile(r"upstream item (\S+) (failed|did not run)")

# what onSchedule returns, as the engine's model has it, and None (submitted, as Houdini)
ANSWERS = {**ANSWERS, "None": (None, None)}
GOOD = [*GOOD, "None"]
SUBMITTED = ("Succeeded", "True", "None")
DEFERRED = ("Deferred", "FullDeferred")
TICKS = 18       # tick answers: 0-10 ready, 11 None, 12 0, 13-14 busy, 15 cancel, 16-17 faults
IDLE_WAITS = 60  # waits with no report on its way and no item asked: the cook would hang
PERIODS = (0.001, 0.0025, 0.01)
CLOCK_STEPS = (0.0, 0.0004, 0.001, 0.003)
# the strategies, made once (making one is slower than drawing from it)
_BOOL, _THREE, _FAULTS, _EIGHT = st.booleans(), st.integers(0, 2), st.integers(0, 3), \
    st.integers(0, 7)
_THIRTY_TWO, _LATE, _PLAN = st.integers(0, 31), st.integers(0, 63), st.integers(0, 2**24 - 1)
_STOP_AT = st.one_of(st.none(), st.integers(1, 150))
_STOP_HOW = st.sampled_from(["cancel", "cookError"])
_TICKS = st.lists(st.integers(0, TICKS - 1), min_size=1, max_size=6)
_PERIOD = st.sampled_from(PERIODS)
_CLOCK = st.lists(st.sampled_from(CLOCK_STEPS), min_size=1, max_size=4)
_STRAY_ONE = st.tuples(st.integers(1, 150), st.integers(0, 255), st.sampled_from(KINDS),
                       st.integers(0, 3), st.booleans())
_STRAYS, _STRAY = st.lists(_STRAY_ONE, max_size=4), st.lists(_STRAY_ONE, max_size=1)
_GOOD, _BAD = st.sampled_from(GOOD), st.sampled_from(BAD)
FILES: dict[int, str] = {}  # files a file pattern finds: count -> $HIP, made once


def _hip_with(counts) -> str:
    """A folder holding ``count_<n>/f<i>.dat`` for each count: the $HIP of the cooks."""
    if not FILES:
        root = tempfile.mkdtemp(prefix="cookstate-model-")
        for count in range(4):
            os.makedirs(os.path.join(root, f"count_{count}"))
            for i in range(count):
                with open(os.path.join(root, f"count_{count}", f"f{i}.dat"), "w") as handle:
                    handle.write(str(i))
        FILES.update((count, root) for count in range(4))
    assert all(c in FILES for c in counts)
    return FILES[0]


def build(net: dict) -> tuple[list[NodeState], dict[str, Queue], list[str]]:
    """The nodes and queues of a cook of ``net``, as ``schedcore.cooksetup`` makes them."""
    specs = []
    for node in net["nodes"]:
        parms = dict(node["parms"])
        if node["type"] == "filepattern":
            parms["pattern"] = f"$HIP/count_{node['_many']}/*.dat"
        specs.append(network_file.NodeSpec(node["name"], node["type"], parms,
                                           list(node["inputs"]), node["scheduler"], None))
    network = network_file.Network(specs, [], "s0")
    network.hip = _hip_with(net["files"].values())
    queues = {s["name"]: Queue(s["name"]) for s in net["schedulers"]}
    nodes: dict[str, NodeState] = {}
    for spec in network.topological(net["upto"]):
        kind = node_type(spec.type)
        parms = network.node_parms(spec)
        dynamic = not net["static"] and kind.is_dynamic(parms, bool(spec.inputs))
        node = nodes[spec.name] = NodeState(spec, kind, parms, queues[spec.scheduler], dynamic)
        node.inputs = [nodes[name] for name in spec.inputs]
        for upstream in node.inputs:
            if node.dynamic:
                upstream.dynamic_children.append(node)
    used = {n.sched.name for n in nodes.values()}
    return list(nodes.values()), {k: q for k, q in queues.items() if k in used}, list(nodes)


def is_dynamic(spec: dict, static: bool) -> bool:
    """The oracle's own word on whether a node makes its items as upstream items cook."""
    when = spec["parms"].get("generatewhen", "automatic")
    return bool(spec["inputs"]) and not static and (
        when == "eachupstreamcooked" or (spec["type"] == "filepattern" and when == "automatic"))


# ---------------------------------------------------------------- the engine, played


class Abandon(Exception):
    """The played engine stops: the cook would never end."""


class Play:
    """One cook of ``net`` with ``CookState``: this plays the engine and every scheduler.
    ``draw`` draws from hypothesis; the plain tests below override the choices instead."""

    def __init__(self, net: dict, draw):
        self.net, self.draw = net, draw
        self.specs = {n["name"]: n for n in net["nodes"]}
        nodes, queues, self.order = build(net)
        self.state = CookState(nodes, queues, static=net["static"])
        self.static = net["static"]
        self.maxitems = {s["name"]: s["maxitems"] for s in net["schedulers"]}
        self.tick_count: Counter = Counter()
        self.announced: set[int] = set()
        self.choose()
        # the engine's
        self.inbox: collections.deque = collections.deque()
        self.pending: list[tuple] = []  # (due step, seq, scheduler, report)
        self.seq = 0
        self.steps = 0
        self.now = 1000.0
        self.clock_reads = 0
        self.idle = 0
        self.servers: dict[str, dict] = {name: {} for name in self.state.queues}
        self.started: Counter = Counter()
        self.ended: Counter = Counter()
        # what happened
        self.log: list[tuple] = []
        self.violations: list[str] = []
        self.calls: dict[str, list[tuple]] = {name: [] for name in self.state.queues}
        self.graphs: dict[str, list] = {name: [] for name in self.state.queues}
        self.answers: dict[int, list[str]] = {}
        self.ended_by: dict[int, tuple[S, str]] = {}  # item id -> (end, what ended it)
        self.farmed: set[int] = set()   # handed in a static cook and reported on
        self.lost: set[int] = set()     # submitted, and its job never reports
        self.cooked_here: set[int] = set()
        self.errors: list[str] = []     # the cook errors the state must have
        self.unknown = 0                # reports about items that do not exist
        self.cancel_posted = self.error_posted = self.tick_canceled = None
        self.stopped = False
        self.hung: str | None = None
        # the events, replayed
        self.rec: dict[int, S] = {}
        self.paths: dict[int, list[S]] = {}
        self.ran: set[int] = set()
        self.live = self.in_flight = 0
        self.node_live: Counter = Counter()
        self.result = None
        self.after_end: list[str] = []

    # -- the choices (drawn once per cook where they can be)
    def choose(self) -> None:
        draw = self.draw
        self.faults = draw(_FAULTS)
        self.stop_at = draw(_STOP_AT)
        self.stop_how = draw(_STOP_HOW) if self.stop_at else None
        self.tick_cancels = draw(_BOOL)
        self.ticks = {name: draw(_TICKS) for name in self.state.queues}
        self.periods = {name: draw(_PERIOD) for name in self.state.queues}
        self.clock = draw(_CLOCK)
        # reports nobody planned: (step, which item, kind, how it names it, a farm's)
        self.strays = sorted(draw(_STRAYS if self.faults else _STRAY))

    def answer_for(self, item) -> str:
        bad = self.faults and self.draw(_EIGHT) >= 8 - self.faults
        return self.draw(_BAD if bad else _GOOD)

    def job_plan(self) -> int:
        """The reports of a submitted item's job, packed in one number (0: it starts, then
        succeeds at once, named by id)."""
        return self.draw(_PLAN)

    def late_plan(self) -> int:
        return self.draw(_LATE)

    def tick_value(self, name: str) -> int:
        ticks = self.ticks[name]
        self.tick_count[name] += 1
        return ticks[self.tick_count[name] % len(ticks)]

    def stop_cook_how(self, name: str) -> int:
        return self.draw(_THREE)

    def pass_end_raises(self) -> bool:
        return bool(self.faults) and self.draw(_THIRTY_TWO) == 0

    def cook_here_raises(self) -> bool:
        return bool(self.faults) and self.draw(_EIGHT) == 0

    def after_end_reports(self) -> int:
        return self.draw(_FAULTS)

    # -- the engine's loop
    def run(self) -> None:
        state = self.state
        try:
            for name in state.queues:
                state.pace(name, self.periods[name], self.maxitems[name], self.read_clock())
            self.carry_out(state.begin())
            while True:
                self.step()
                read = self.drain()
                self.carry_out(state.wake(self.read_clock(), read))
                self.check_counts()
                if state.stop is not None or state.done:
                    break
                if state.busy():
                    continue
                if state.idle and not self.inbox:
                    self.carry_out(state.stalled())
                    if state.stop is not None:
                        break
                self.wait()
        except Abandon:
            pass
        self.finish()

    def wait(self) -> None:
        """The engine waits for a report or for the next tick."""
        if self.inbox:
            return
        if any(due <= self.steps + 1 for due, *_ in self.pending):
            self.now += self.clock[self.clock_reads % len(self.clock)]
            return
        lost = any(self.state.items[i].state in IN_FLIGHT for i in self.lost)
        self.idle = 0 if self.pending or lost else self.idle + 1
        if self.idle > IDLE_WAITS:
            self.hang(f"{IDLE_WAITS} waits with no report on its way and no item asked")
        self.now = max(self.now, self.state.next_tick())

    def read_clock(self) -> float:
        self.now += self.clock[self.clock_reads % len(self.clock)]
        self.clock_reads += 1
        return self.now

    def hang(self, why: str) -> None:
        live = [f"{i.name}:{i.state.name}" for i in self.state.items.values()
                if i.state not in ENDS]
        self.hung = f"{why} (after {self.steps} steps; items not over: {live})"
        raise Abandon

    def step(self) -> None:
        """What every callback and every wake does first: reports that are due arrive, and
        the cancel or the cookError when it is time."""
        self.steps += 1
        if self.steps > 3000 + 60 * len(self.state.items):
            self.hang("more steps than any cook of this size needs")
        if self.pending and min(p[0] for p in self.pending) <= self.steps:
            due = sorted(p for p in self.pending if p[0] <= self.steps)
            self.pending = [p for p in self.pending if p[0] > self.steps]
            self.inbox.extend((p[3], p[2]) for p in due)
        while self.strays and self.strays[0][0] <= self.steps:
            self.stray(*self.strays.pop(0)[1:])
        if self.stop_at is not None and self.steps >= self.stop_at and not self.stop_posted:
            self.log.append((self.stop_how, self.steps))
            if self.stop_how == "cookError":
                self.error_posted = self.steps
                self.inbox.append((CookErrorSaid(COOK_ERROR), next(iter(self.state.queues))))
            else:
                self.cancel_posted = self.steps
                self.state.cancel_asked = True
                self.inbox.append((CancelAsked(), ""))

    @property
    def stop_posted(self) -> bool:
        return self.cancel_posted is not None or self.error_posted is not None

    def ref(self, item, how: int):
        """How a report names ``item``: its id, its id as text, its name, or wrongly."""
        if how == 3:
            return ("nosuch_7", 10**6, f"x_{item.id}", "")[item.id % 4]
        return (item.id, str(item.id), item.name)[how]

    def stray(self, which: int, kind: str, how: int, farm: bool) -> None:
        """A report nobody planned: about any item, or (a static cook's farm running what it
        was given) about a ready item."""
        items = list(self.state.items.values())
        if farm and self.static:
            items = [e[2] for q in self.state.queues.values() for e in q.ready
                     if e[2].state == S.Waiting] or items
        if not items:
            return
        item = items[which % len(items)]
        sched = self.state.nodes[item.node].sched.name
        self.log.append(("stray", kind, item.name, how))
        self.inbox.append((self.make_report(kind, self.ref(item, how)), sched))
        if kind == "start":  # a job that starts ends too (else the cook would wait for it)
            self.queue_report(Succeeded(item.id), sched, 3)

    @staticmethod
    def make_report(kind: str, ref):
        return {"start": Started(ref), "success": Succeeded(ref, 0.5),
                "fail": Failed(ref, "the model's job failed"), "cancel": Canceled(ref)}[kind]

    def post(self, sched: str, item, kind: str, delay: int, how: int) -> None:
        report = self.make_report(kind, self.ref(item, how))
        if kind == "success" and self.specs[item.node]["type"] == "pythonserver" \
                and item.index == -1 and item.id not in self.announced:
            self.announced.add(item.id)
            name = str(item.attribValue("sharedserver"))  # pdgserver.py says so first
            self.queue_report(SharedServerStarted(item.id, name, {"name": name}), sched, delay)
        self.queue_report(report, sched, delay)

    def queue_report(self, report, sched: str, delay: int) -> None:
        if delay == 0:  # from inside the callback: read at the next wake
            self.inbox.append((report, sched))
        else:
            self.seq += 1
            self.pending.append((self.steps + delay, self.seq, sched, report))

    # -- the engine's reading of reports
    def drain(self) -> bool:
        if not self.inbox:
            return False
        while self.inbox:
            report, sched = self.inbox.popleft()
            self.carry_out(self.feed(report, sched))
        return True

    def handed(self, item) -> bool:
        """Whether a scheduler was given ``item``: offered to onSchedule, or (a static cook)
        ready for its farm."""
        if item.id in self.answers or item.id in self.farmed:
            return True
        return self.static and any(e[2] is item for e in self.state.nodes[item.node].sched.ready)

    def find(self, ref):
        if isinstance(ref, int):
            return self.state.items.get(ref)
        if ref.isdigit():
            return self.state.items.get(int(ref))
        item = self.state.items.get(int(ref.rsplit("_", 1)[1])) if "_" in ref \
            and ref.rsplit("_", 1)[1].isdigit() else None
        return item if item is not None and item.name == ref else None

    def feed(self, report, sched: str) -> list:
        """Give the state a report, and check what it did to its item."""
        state = self.state
        if not isinstance(report, ItemReport):
            if isinstance(report, CookErrorSaid):
                self.errors.append(report.text)
            return state.report(report, sched)
        item = self.find(report.item)
        if item is None:
            self.unknown += 1
            return state.report(report, sched)
        before, target = item.state, TARGET.get(type(report))
        if target is not None and self.handed(item) and target in NEXT.get(before, ()):
            expected = target
            self.farmed.add(item.id)
        else:
            expected = before
        out = state.report(report, sched)
        if item.state != expected:
            self.violation(f"{type(report).__name__} report for {item.name} ({before.name}, "
                           f"{'handed' if self.handed(item) else 'never handed'}) made it "
                           f"{item.state.name}, not {expected.name}")
        if expected != before and expected in ENDS:
            self.ended_by.setdefault(item.id, (expected, f"{type(report).__name__} report"))
        return out

    # -- carrying out what the state decided
    def carry_out(self, todo: list) -> None:
        work = collections.deque(todo)
        while work:
            step = work.popleft()
            handler = self.HANDLERS.get(type(step))
            if handler is None:
                self.record(step)
                continue
            work.extend(handler(self, step))  # in the order decided, as the engine does

    def on_schedule(self, step: CallOnSchedule) -> list:
        self.step()
        item, name = step.item, step.scheduler
        self.idle = 0
        self.calls[name].append(("onSchedule", item.id))
        if self.state.nodes[item.node].sched.name != name:
            self.violation(f"{item.name} offered to {name}, not its scheduler")
        if self.tick_canceled is not None:
            self.violation(f"onSchedule({item.name}) after onTick canceled the cook")
        if self.rec.get(item.id) != S.Waiting:
            self.violation(f"onSchedule({item.name}) while it is {self.rec.get(item.id)}")
        self.check_runs(item, "offered to onSchedule")
        earlier = self.answers.setdefault(item.id, [])
        if earlier and earlier[-1] not in DEFERRED:
            self.violation(f"onSchedule({item.name}) again after {earlier[-1]}")
        label = self.answer_for(item)
        if label in DEFERRED and sum(a in DEFERRED for a in earlier) >= MAX_DEFERRALS:
            label = "CookSucceeded"
        earlier.append(label)
        self.log.append(("onSchedule", name, item.name, label))
        value, end = ANSWERS[label]
        if label == "raise":
            answer = ScheduleAnswer(item, None, f"{name}: onSchedule raised:\nTraceback (most "
                                                f"recent call last):\nRuntimeError: the model")
        else:
            try:
                result = schedule_result(value)
            except TypeError as exc:
                answer = ScheduleAnswer(item, None, f"{name}: onSchedule {exc}")
            else:
                answer = ScheduleAnswer(item, result, log_uri="log://x" * (result == R.Succeeded))
        is_server = self.specs[item.node]["type"] == "pythonserver" and item.index == -1
        if label in SUBMITTED:
            self.plan(name, item, self.job_plan())
        elif end is not None:
            if end == S.CookedSuccess and is_server:  # the server started in onSchedule
                self.keep_server(name, str(item.attribValue("sharedserver")), item)
            plan = self.late_plan()
            if plan >= 32:  # a stray late report of the job
                self.post(name, item, KINDS[plan % 4], (plan >> 2) % 8, (plan >> 5) % 3)
        out = self.state.schedule_answered(answer)
        expected = {R.Succeeded: S.Scheduled, R.CookSucceeded: S.CookedSuccess,
                    R.Deferred: S.Waiting, R.FullDeferred: S.Waiting,
                    R.CookCanceled: S.CookedCancel}.get(answer.result, S.CookedFail)
        if item.state != expected:
            self.violation(f"{item.name} answered {label} became {item.state.name}, not "
                           f"{expected.name}")
        if expected in ENDS:
            self.ended_by.setdefault(item.id, (expected, f"answered {label}"))
        return out

    def plan(self, sched: str, item, plan: int) -> None:
        """The reports of a submitted item's job, from ``plan``: whether it reports its start,
        how it ends (or never, when a stop will end the cook), up to two duplicated or late
        reports; each after its own delay (0: from inside onSchedule), by id or by name."""
        kinds = ["start"] if plan & 1 == 0 else []
        outcome = (plan >> 1) % 16 if self.faults else 0
        if outcome == 15 and self.stop_at is not None and not self.stop_posted:
            self.lost.add(item.id)
        else:
            kinds.append("success" if outcome < 11 or outcome == 15
                         else ("fail", "fail", "cancel", "cancel")[outcome - 11])
        extra = ("start", "success", "fail", "cancel") if self.faults else ("start", "success")
        for i in range(((plan >> 5) % 4) % 3):
            kinds.append(extra[(plan >> (7 + 2 * i)) % len(extra)])
        for i, kind in enumerate(kinds):
            bits = plan >> (11 + 3 * i)
            delay = (0, 0, 1, 2, 3, 5, 8, 12)[bits % 8] if i < 4 else 1
            self.post(sched, item, kind, delay, (plan >> (23 - i)) % 3 if i < 3 else 0)

    def on_pass_end(self, step: CallOnSchedulePassEnd) -> list:
        self.step()
        name = step.scheduler
        self.calls[name].append(("passend",))
        if self.pass_end_raises():
            text = f"{name}: onSchedulePassEnd raised:\nRuntimeError: the model's pass end"
            self.errors.append(text)
            self.state.error(text, name)
            return self.state.take() + self.state.pass_ended(PassEnded(name, False))
        return self.state.pass_ended(PassEnded(name, True))

    def on_tick(self, step: CallOnTick) -> list:
        self.step()
        name = step.scheduler
        if self.tick_canceled is not None:
            self.violation("onTick after onTick canceled the cook")
        value = self.tick_value(name)
        busy = sum(1 for _ in _trailing_busy(self.calls[name]))
        answer = T.SchedulerReady
        if value in (13, 14) and busy < MAX_BUSY:
            answer = T.SchedulerBusy
        elif value == 15 and self.tick_cancels:
            answer = T.SchedulerCancelCook
            self.tick_canceled = self.steps
        elif value >= 16 and self.faults:  # onTick raises, or returns nonsense
            self.calls[name].append(("tick", None))
            self.log.append(("onTick", name, "raise" if value == 16 else "nonsense"))
            if value == 16:
                text = f"{name}: onTick raised:\nRuntimeError: the model's tick"
                self.errors.append(text)
                self.state.error(text, name)
                return self.state.take() + self.state.tick_answered(TickAnswer(name, None))
            try:
                tick_result("busy")
            except TypeError as exc:
                self.errors.append(f"{name}: onTick {exc}")
                return self.state.tick_answered(TickAnswer(name, None, str(exc)))
        returned = {11: None, 12: 0}.get(value, answer)
        self.calls[name].append(("tick", tick_result(returned)))
        self.log.append(("onTick", name, answer.name))
        return self.state.tick_answered(TickAnswer(name, tick_result(returned)))

    def on_schedule_static(self, step: CallOnScheduleStatic) -> list:
        deps, dependents, ready = self.state.dependency_graph(step.scheduler)
        self.calls[step.scheduler].append(("static",))
        self.graphs[step.scheduler].append(
            ({i.id: [d.id for d in ds] for i, ds in deps.items()}, [i.id for i in ready]))
        return []

    def on_cook_here(self, step: CookHere) -> list:
        self.step()
        item = step.item
        node = self.state.nodes[item.node]
        self.cooked_here.add(item.id)
        if not node.type.cook_needs_scheduler:
            self.violation(f"{item.name} of {node.name} given to cook here with a scheduler")
        if self.rec.get(item.id) != S.Waiting:
            self.violation(f"{item.name} to cook here while it is {self.rec.get(item.id)}")
        self.check_runs(item, "cooked here")
        play = self

        class Scheduler:  # what a node's cook may use of its scheduler
            name = step.scheduler

            @staticmethod
            def endSharedServer(server: str) -> bool:
                return play.end_server(step.scheduler, server)

        error = ""
        try:
            if self.cook_here_raises():
                raise RuntimeError("the model's cook here raised")
            node.type.cook(node.parms, item, Scheduler)
        except SchedcoreError as exc:
            error = str(exc)
        except Exception:
            error = f"node {node.name} could not cook {item.name}:\n" + traceback.format_exc()
        self.log.append(("cookHere", item.name, error[:40]))
        out = self.state.cooked_here(CookedHere(item, error))
        expected = S.CookedFail if error else S.CookedSuccess
        if item.state != expected:
            self.violation(f"{item.name} cooked here ({error[:60]!r}) is {item.state.name}")
        self.ended_by.setdefault(item.id, (expected, "cooked here"))
        return out

    def keep_server(self, sched: str, name: str, item) -> None:
        if name in self.servers[sched]:  # the earlier one is ended, as the engine does
            self.state.warning(f"{item.name} started shared server {name!r} again", sched)
            self.carry_out(self.state.take())
            self.end_server(sched, name)
        self.servers[sched][name] = item.id
        self.started[name] += 1

    def end_server(self, sched: str, name: str) -> bool:
        if self.servers[sched].pop(name, None) is None:
            return False
        self.ended[name] += 1
        return True

    def on_keep_server(self, step: KeepSharedServer) -> list:
        self.keep_server(step.scheduler, step.name, step.item)
        return []

    def on_get_log_uri(self, step: CallGetLogURI) -> list:
        """Asked only of the scheduler that was given the item, while it has no log URI;
        what it answers is kept."""
        item = step.item
        if not self.handed(item) or item.log_uri:
            self.violation(f"getLogURI asked again for {item.name} "
                           f"({'handed' if self.handed(item) else 'never handed'}, log URI "
                           f"{item.log_uri!r})")
        if step.scheduler != self.state.nodes[item.node].sched.name:
            self.violation(f"getLogURI of {step.scheduler} asked for {item.name}")
        self.state.log_found(LogFound(item, f"file:///logs/{item.name}.log"))
        if item.log_uri != f"file:///logs/{item.name}.log":
            self.violation(f"the log URI found for {item.name} was not kept")
        return []

    HANDLERS = {
        CallOnSchedule: on_schedule, CallOnSchedulePassEnd: on_pass_end, CallOnTick: on_tick,
        CallOnScheduleStatic: on_schedule_static, CookHere: on_cook_here,
        KeepSharedServer: on_keep_server, CallGetLogURI: on_get_log_uri,
    }

    # -- the end, as the engine's _finish
    def finish(self) -> None:
        state = self.state
        state.over = True
        self.stopped = state.stop is not None
        for name in state.queues:  # onStopCook: the scheduler stops its jobs
            how = self.stop_cook_how(name) if self.hung is None else 0
            self.log.append(("onStopCook", name, self.stopped, how))
            if how == 1:  # what was on its way arrives
                mine = sorted(p for p in self.pending if p[2] == name)
                self.pending = [p for p in self.pending if p[2] != name]
                self.inbox.extend((p[3], p[2]) for p in mine)
            elif how == 2:  # each job still running says it was canceled
                for item in list(state.items.values()):
                    if item.state in IN_FLIGHT and state.nodes[item.node].sched.name == name:
                        self.inbox.append((Canceled(item.id), name))
        self.drain()
        for name, servers in self.servers.items():  # the servers live as long as the cook
            for server in list(servers):
                self.end_server(name, server)
        self.carry_out(state.finish())
        self.carry_out(state.take())
        self.result = state.result()
        # reports after the end change nothing
        states = {i.id: i.state for i in state.items.values()}
        errors = list(state.errors)
        late = [(p[3], p[2]) for p in sorted(self.pending) if type(p[3]) in TARGET]
        items = sorted(state.items.values(), key=lambda i: i.id)
        for n in range(self.after_end_reports() if items else 0):
            item = items[(n * 7919) % len(items)]
            late.append((self.make_report(KINDS[n], item.id), state.nodes[item.node].sched.name))
        changed = []
        for report, sched in late:
            out = state.report(report, sched)
            changed += [f"{step!r} after {report}" for step in out if type(step) in self.HANDLERS]
            self.carry_out(out)
        changed += [f"{i.name} {states[i.id].name} -> {i.state.name}"
                    for i in state.items.values() if i.state != states[i.id]]
        if changed or state.errors != errors:
            self.after_end = changed + state.errors[len(errors):]

    # -- the events, replayed: what can only be checked as they come
    def record(self, event) -> None:
        if isinstance(event, ItemStateChanged):
            item, old, new = event.item, event.old, event.new
            if item.id not in self.rec:
                self.violation(f"{item.name} changed ({old.name} -> {new.name}) before it "
                               f"was added")
                return
            if self.rec[item.id] != old:
                self.violation(f"{item.name}: event says {old.name} -> {new.name}, it was "
                               f"{self.rec[item.id].name}")
            if new not in NEXT.get(old, ()):
                self.violation(f"{item.name}: illegal change {old.name} -> {new.name} (path "
                               f"{[s.name for s in self.paths[item.id]]})")
            if new in RUNS:
                self.check_runs(item, f"became {new.name}")
            self.rec[item.id] = new
            self.paths[item.id].append(new)
            self.in_flight += (new in IN_FLIGHT) - (old in IN_FLIGHT)
            if new in ENDS and old not in ENDS:
                self.live -= 1
                self.node_live[item.node] -= 1
        elif isinstance(event, ItemAdded):
            item = event.item
            if item.id in self.rec:
                self.violation(f"{item.name} added twice")
            if event.state != S.Waiting:
                self.violation(f"{item.name} added {event.state.name}")
            missing = [d.name for d in item.dependencies if d.id not in self.rec]
            if missing:
                self.violation(f"{item.name} added before its dependencies {missing}")
            self.rec[item.id] = event.state
            self.paths[item.id] = [event.state]
            self.live += 1
            self.node_live[item.node] += 1
        elif not isinstance(event, CookMessage | ItemChanged):
            self.violation(f"the state returned {event!r}")

    def check_runs(self, item, what: str) -> None:
        """An item that runs: every item it depends on cooked."""
        self.ran.add(item.id)
        # as the events told it: a listener must never see an item run before what it needs
        waits = [(d.name, self.rec.get(d.id)) for d in item.dependencies
                 if self.rec.get(d.id) not in GOOD_STATES]
        if waits:
            self.violation(f"{item.name} {what} while upstream {waits}")

    def check_counts(self) -> None:
        """The state's counts are its items' states (as the events told them)."""
        state = self.state
        if state.live != self.live or state.in_flight != self.in_flight:
            self.violation(f"the state counts {state.live} live and {state.in_flight} in "
                           f"flight; the events {self.live} and {self.in_flight}")
        for node in state.nodes.values():
            if node.unfinished != self.node_live[node.name]:
                self.violation(f"node {node.name} counts {node.unfinished} unfinished; the "
                               f"events {self.node_live[node.name]}")
        if state.done and self.live:
            self.violation(f"done with {self.live} items not over")

    def violation(self, text: str) -> None:
        if len(self.violations) < 20:
            self.violations.append(text)


def _trailing_busy(calls: list[tuple]):
    for call in reversed(calls):
        if call[0] == "tick":
            if call[1] != T.SchedulerBusy:
                return
            yield call


# ---------------------------------------------------------------- the invariants


def lost_above(play: Play, broad: bool) -> dict[str, object]:
    """For each node, an item of the cook that a dynamic node at or above it lost: it did not
    cook, and the dynamic node made nothing from it (``broad``: whatever it would have made;
    else only where it would have made items)."""
    bad = ENDS - GOOD_STATES
    items = play.state.items.values()
    lost: dict[str, object] = {}
    for name in play.order:
        spec = play.specs[name]
        found = next((lost[i] for i in spec["inputs"] if i in lost), None)
        if found is None and is_dynamic(spec, play.static) and (broad or spec.get("_many", 1)):
            found = next((i for i in items if i.node in spec["inputs"]
                          and _visible(play, i) and i.state in bad), None)
        if found is not None:
            lost[name] = found
    return lost


def _visible(play: Play, item) -> bool:
    return play.specs[item.node]["type"] != "pythonserver" or item.index != -1


def ancestors(play: Play, name: str) -> set[str]:
    seen, todo = set(), list(play.specs[name]["inputs"])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(play.specs[node]["inputs"])
    return seen


def check(play: Play) -> None:
    state, result = play.state, play.result
    assert play.hung is None, f"the cook would never have ended: {play.hung}"
    assert not play.violations, "broken while cooking:\n" + "\n".join(play.violations[:10])
    assert not play.after_end, f"reports after the end changed the cook: {play.after_end}"
    items = sorted(state.items.values(), key=lambda i: i.id)
    by_id = {i.id: i for i in items}
    stopped = play.stopped
    internal = [e for e in result.errors if "internal error" in e]
    assert not internal, f"the state's own safety net fired: {internal[0][:1500]}"
    assert result.errors == play.errors, f"errors {result.errors}, not {play.errors}"
    unknown = [w for w in result.warnings if "unknown work item" in w]
    assert len(unknown) == play.unknown, \
        f"{play.unknown} reports about no item, {len(unknown)} warnings: {unknown[:3]}"
    odd = [w for w in result.warnings if "could not be applied" in w]
    assert not odd, f"reports the state could not apply: {odd}"
    asked = play.cancel_posted is not None or play.tick_canceled is not None
    assert asked or not result.canceled, "result.canceled, but no cancel was asked"
    assert state.live == 0 and state.in_flight == 0, \
        f"after the end, {state.live} live and {state.in_flight} in flight"

    # each item: announced, one legal path to one end, counted
    assert sorted(play.rec) == sorted(by_id), "every item was announced by ItemAdded"
    assert sorted(i.id for i in result.items) == sorted(by_id), "the result has every item"
    for item in items:
        path = play.paths[item.id]
        assert path[0] == S.Waiting and path[-1] == item.state, \
            f"{item.name}: events {[s.name for s in path]}, it is {item.state.name}"
        assert all(new in NEXT.get(old, ()) for old, new in zip(path, path[1:], strict=False)), \
            f"{item.name}: illegal path {[s.name for s in path]}"
        assert item.state in ENDS and sum(s in ENDS for s in path) == 1, \
            f"{item.name}: path {[s.name for s in path]}"
        assert item.reason or item.state in GOOD_STATES, \
            f"{item.name} is {item.state.name} without a reason"
    assert result.counts == Counter(i.state.name for i in items), \
        f"counts {dict(result.counts)} are not the items' states"

    # nothing runs below a failure
    narrow, broad = lost_above(play, False), lost_above(play, True)
    blocked: set[int] = set()  # below a failure: nothing of it may run
    for item in items:
        node = play.specs[item.node]
        partition = node["type"] in PARTITIONS and node["inputs"]
        lost = partition and next((narrow[i] for i in node["inputs"] if i in narrow), None)
        if lost and node["type"] not in WHOLE and (item.dependencies or any(
                u.node in node["inputs"] and _visible(play, u) for u in items)):
            lost = None  # a Server Begin's server serves whichever of its sessions can run
        upstream = [d for d in item.dependencies if d.state not in GOOD_STATES]
        below = any(d.id in blocked for d in item.dependencies)
        if lost or upstream or below:
            blocked.add(item.id)
            if item.id in play.ran:
                raise AssertionError(
                    f"{item.name} ran ({[s.name for s in play.paths[item.id]]}) below "
                    + (f"{upstream[0].name} ({upstream[0].state.name})" if upstream else
                       f"{lost.name} ({lost.state.name}), from which a node above made "
                       f"nothing" if lost else "an item that ran below a failure"))

    # each item against what was answered and reported
    for item in items:
        node = play.specs[item.node]
        answers = play.answers.get(item.id)
        ended = play.ended_by.get(item.id)
        if item.state == S.Uncooked:
            found = UNCOOKED_REASON.fullmatch(item.reason)
            assert found, f"{item.name} is Uncooked saying {item.reason!r}"
            named = play.find(found[1])
            assert named is not None and (named in item.dependencies
                                          or named.node in ancestors(play, item.node)), \
                f"{item.name} is Uncooked naming {found[1]}, no item above it"
            assert named.state not in GOOD_STATES, \
                f"{item.name} is Uncooked naming {named.name}, which is {named.state.name}"
            assert (found[2] == "failed") == (named.state == S.CookedFail), \
                f"{item.name} says {item.reason!r} but {named.name} is {named.state.name}"
            if named not in item.dependencies:  # a partition below a node that lost items
                assert node["type"] in PARTITIONS and any(i in broad for i in node["inputs"]), \
                    f"{item.name} is Uncooked naming {named.name}, not one it depends on"
            assert answers is None and ended is None and item.id not in play.ran, \
                f"{item.name} ran, yet is Uncooked"
        elif ended is not None:
            assert item.state == ended[0], \
                f"{item.name}: {ended[1]} made it {ended[0].name}; it is {item.state.name}"
        elif item.state == S.CookedCancel:
            assert stopped, f"{item.name} canceled, but the cook did not stop: {item.reason!r}"
        elif item.state == S.CookedSuccess:
            assert answers is None, f"{item.name}: answered {answers}, then CookedSuccess"
            assert state.nodes[item.node].type.cooks_here(item), \
                f"{item.name} cooked without its scheduler"
        else:
            raise AssertionError(f"{item.name} ended {item.state.name} by no answer or "
                                 f"report: {item.reason!r}")
        if answers and answers[-1] in SUBMITTED and ended is None:
            assert stopped, f"{item.name} submitted, never reported, and the cook went on"
        if not stopped and item.state != S.CookedSuccess and ended is None:
            lost = node["type"] in PARTITIONS and node["inputs"] and any(
                i in broad for i in node["inputs"])
            deps_ok = all(d.state in GOOD_STATES for d in item.dependencies)
            assert not deps_ok or (lost and item.state == S.Uncooked), \
                f"{item.name} should have cooked; it is {item.state.name}: {item.reason!r}"

    # the scheduler callbacks
    for name, calls in play.calls.items():
        statics = play.graphs[name]
        if not play.static:
            assert not statics, f"{name}: onScheduleStatic in a dynamic cook"
        elif state.stop is None or statics:
            assert len(statics) == 1, f"{name}: onScheduleStatic {len(statics)} times"
            kinds = [c[0] for c in calls]
            assert "onSchedule" not in kinds[:kinds.index("static")], \
                f"{name}: onSchedule before onScheduleStatic"
            mine = {i.id: [d.id for d in i.dependencies] for i in items
                    if state.nodes[i.node].sched.name == name}
            assert statics[0][0] == mine, f"{name}: onScheduleStatic's graph is not its items"
        limit = play.maxitems[name]
        since, busy = 0, False
        for call in calls:
            if call[0] == "tick":
                since, busy = 0, call[1] == T.SchedulerBusy
            elif call[0] == "onSchedule":
                since += 1
                assert not busy, f"{name}: onSchedule while busy"
                assert limit <= 0 or since <= limit, \
                    f"{name}: {since} onSchedule calls between ticks (pdg_maxitems {limit})"

    # shared servers: each one kept is ended once, by Server End or the end of the cook
    assert play.ended == play.started, \
        f"servers started {dict(play.started)}, ended {dict(play.ended)}"

    if not stopped:
        check_generation(play.net, None, play.order, items)
    bad = [i for i in items if i.state in (S.CookedFail, S.CookedCancel, S.Uncooked)]
    if not bad and not stopped and not play.errors:  # (a cookError as the cook ended)
        assert result.ok, f"nothing failed, nothing stopped, yet: {dict(result.counts)}"


# ---------------------------------------------------------------- the tests


@st.composite
def cooks(draw) -> Play:
    """A network, and its cook played to the end (the checks come after)."""
    play = Play(draw(networks()), draw)
    play.run()
    return play


def describe(play: Play) -> None:
    net = play.net
    note(f"network: {json.dumps(network_json(net))}")
    note(f"static: {net['static']}, upto: {net['upto']}, faults {play.faults}/8, "
         f"{play.stop_how} at {play.stop_at}, tick cancels {play.tick_cancels}")
    note("calls: " + "; ".join(" ".join(str(p) for p in c) for c in play.log))
    note("items: " + ", ".join(f"{i.name}={i.state.name}" + (f" ({i.reason[:60]})"
                                                              if i.reason else "")
                               for i in play.state.items.values()))


@pytest.mark.timeout(max(120, EXAMPLES // 10))
@SETTINGS
@given(play=cooks())
def test_random_cooks_of_the_state_keep_the_invariants(play):
    result = play.result
    event(f"items: {min(len(result.items) // 10 * 10, 100)}+")
    event("stopped" if play.stopped else "ok" if result.ok else "not ok")
    try:
        check(play)
    except AssertionError:
        describe(play)
        raise


# ---------------------------------------------------------------- plain cases


def test_the_transition_table_is_the_oracles():
    """A change the state never asks for (Cooking back to Waiting, say) cannot show in a cook:
    the table itself must be the oracle's, pair by pair, and so must what a report may do."""
    from schedcore import transitions

    for old in S:
        for new in S:
            assert transitions.legal(old, new) == (new in NEXT.get(old, ())), \
                f"the table says {old.name} -> {new.name} is " \
                f"{'legal' if transitions.legal(old, new) else 'illegal'}"
            for handed in (False, True):
                verdict = transitions.report_verdict(old, handed, new)
                if not handed or old == S.Uncooked:
                    want = transitions.Verdict.REFUSE
                elif new in NEXT.get(old, ()):
                    want = transitions.Verdict.APPLY
                elif old in ENDS or old == new:
                    want = transitions.Verdict.LATE
                else:
                    want = transitions.Verdict.REFUSE
                assert verdict == want, f"a report {old.name} -> {new.name} " \
                                        f"({'handed' if handed else 'not handed'}): {verdict}"


class Scripted(Play):
    """A cook whose answers follow rules: ``answers`` by node (default CookSucceeded);
    ticks ready; nothing stops; submitted jobs report success at once."""

    def __init__(self, net: dict, answers: dict[str, str] | None = None):
        self.script = answers or {}
        super().__init__(net, None)

    def choose(self) -> None:
        self.faults, self.stop_at, self.stop_how, self.tick_cancels = 0, None, None, False
        self.periods = dict.fromkeys(self.state.queues, 0.001)
        self.clock, self.strays = [0.001], []

    def answer_for(self, item) -> str:
        return self.script.get(item.node, "CookSucceeded")

    def job_plan(self) -> int:
        return 1  # no start report; success at once

    def late_plan(self) -> int:
        return 0

    def tick_value(self, name: str) -> int:
        return 0

    def stop_cook_how(self, name: str) -> int:
        return 0

    def pass_end_raises(self) -> bool:
        return False

    def cook_here_raises(self) -> bool:
        return False

    def after_end_reports(self) -> int:
        return 4


def _net(nodes: list[dict], static: bool = False, upto: str | None = None) -> dict:
    """A network as ``networks()`` draws them: ``_many`` and ``_items`` as the model keeps."""
    full = []
    for node in nodes:
        node = {"inputs": [], "scheduler": "s0", "parms": {}, **node}
        many = node["parms"].get("itemcount", node["parms"].get("wedgecount", 1))
        node.setdefault("_many", many)
        full.append(node)
    return {"nodes": full, "schedulers": [{"name": "s0", "maxitems": -1}], "files": {},
            "static": static, "upto": upto}


def _cook(net: dict, answers: dict[str, str]) -> Play:
    play = Scripted(net, answers)
    play.run()
    try:
        check(play)
    except AssertionError:
        print("\n".join(f"{i.name} {i.state.name} {i.reason}" for i in play.state.items.values()))
        raise
    return play


def _states(play: Play) -> dict[str, tuple]:
    return {i.name: (i.state, i.reason) for i in play.state.items.values()}


BELOW_A_FAILURE = [
    {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 2}},
    {"name": "dyn", "type": "genericgenerator", "inputs": ["gen"],
     "parms": {"generatewhen": "eachupstreamcooked", "itemcount": 1}},
    {"name": "all", "type": "waitforall", "inputs": ["dyn"]},
    {"name": "after", "type": "genericgenerator", "inputs": ["all"], "parms": {"itemcount": 1}},
]


def test_a_partition_below_a_dynamic_node_that_made_nothing_from_failures_does_not_run():
    """gen (2 items, both fail) -> dyn (each upstream cooked) -> Wait for All -> after: dyn
    makes nothing, and the Wait for All (made from no items) and what is below it are
    Uncooked, naming a failed item of gen; nothing of them runs."""
    play = _cook(_net(BELOW_A_FAILURE), {"gen": "CookFailed"})
    states = _states(play)
    assert [s for name, (s, _) in states.items() if name.startswith("gen")] == \
        [S.CookedFail] * 2
    assert not any(name.startswith("dyn") for name in states)
    (all_state, all_reason), = [v for n, v in states.items() if n.startswith("all")]
    (after_state, after_reason), = [v for n, v in states.items() if n.startswith("after")]
    assert all_state == S.Uncooked and re.fullmatch(r"upstream item gen_\d+ failed", all_reason)
    assert after_state == S.Uncooked and after_reason.startswith("upstream item all_")
    assert not play.ran & {i.id for i in play.state.items.values()
                           if i.node in ("all", "after")}


def test_the_same_network_cooked_statically_blocks_the_partition_too():
    """The static variant: dyn makes its items up front, each depending on its failed gen
    item; the Wait for All depends on them, and nothing below the failures runs."""
    play = _cook(_net(BELOW_A_FAILURE, static=True), {"gen": "Failed"})
    states = _states(play)
    for name, (state, reason) in states.items():
        if name.startswith("gen"):
            assert state == S.CookedFail
        else:
            assert state == S.Uncooked, (name, state)
            assert reason.startswith("upstream item "), reason
    assert not play.ran - {i.id for i in play.state.items.values() if i.node == "gen"}


def test_a_partition_below_a_node_whose_items_were_all_canceled_does_not_run():
    """gen's items are all canceled (onSchedule answers CookCanceled): the dynamic node below
    makes nothing, and the Wait for All below it says gen's item did not run."""
    play = _cook(_net(BELOW_A_FAILURE), {"gen": "CookCanceled"})
    states = _states(play)
    (all_state, all_reason), = [v for n, v in states.items() if n.startswith("all")]
    assert all_state == S.Uncooked
    assert re.fullmatch(r"upstream item gen_\d+ did not run", all_reason), all_reason
    assert not any(name.startswith("dyn") for name in states)


def test_a_server_end_and_begin_below_lost_items_do_not_run():
    """The other partitions: Python Server Begin with inputs, and Server End, below a dynamic
    node that made nothing from failed items, make nothing or are Uncooked; none runs."""
    net = _net([
        {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 2}},
        {"name": "dyn", "type": "wedge", "inputs": ["gen"],
         "parms": {"generatewhen": "eachupstreamcooked", "wedgecount": 1}},
        {"name": "server", "type": "pythonserver", "inputs": ["dyn"]},
        {"name": "send", "type": "commandsend", "inputs": ["server"]},
        {"name": "end", "type": "commandserverend", "inputs": ["send"]},
    ])
    play = _cook(net, {"gen": "CookFailed"})
    ran = {i.node for i in play.state.items.values() if i.id in play.ran}
    assert ran == {"gen"}, ran


def test_nothing_failing_cooks_everything():
    play = _cook(_net(BELOW_A_FAILURE), {"gen": "Succeeded", "dyn": "True"})
    assert play.result.ok and len(play.state.items) == 6


PARTIAL = [
    {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 2}},
    {"name": "dyn", "type": "genericgenerator", "inputs": ["gen"],
     "parms": {"generatewhen": "eachupstreamcooked", "itemcount": 1}},
    {"name": "all", "type": "waitforall", "inputs": ["dyn"]},
]


class FailFirst(Scripted):
    def answer_for(self, item) -> str:
        return "CookFailed" if item.name == "gen_1" else "CookSucceeded"


def test_a_partition_below_a_node_that_lost_some_items_to_a_failure_does_not_run():
    """Found by this test: gen (2 items, gen_1 fails) -> dyn (each upstream cooked) -> Wait
    for All. dyn makes an item from gen_2 only; the Wait for All, made after dyn lost gen_1's
    items, depends on that one item, and ran (CookedSuccess) as if nothing had failed above
    it; cooked statically, it is Uncooked. The state's own docstring says a partition whose
    upstream nodes lost items to a failure is Uncooked."""
    play = FailFirst(_net(PARTIAL), None)
    play.run()
    (wait,) = [i for i in play.state.items.values() if i.node == "all"]
    assert wait.state == S.Uncooked and wait.reason == "upstream item gen_1 failed", \
        (wait.state, wait.reason)


EVENT_ORDER = [
    {"name": "server", "type": "pythonserver", "parms": {"sessions": 1}},
    {"name": "send", "type": "commandsend", "inputs": ["server"]},
    {"name": "end", "type": "commandserverend", "inputs": ["send"]},
    {"name": "all", "type": "waitforall", "inputs": ["send"]},
    {"name": "last", "type": "waitforall", "inputs": ["all", "end"]},
]


def test_events_tell_an_item_cooked_only_after_what_it_depends_on():
    """Found by this test: when ``send_3`` cooks, the state makes ``end_4`` ready (a Server
    End: ``CookHere``) and then ``all_5`` (a Wait for All, cooked at once: its
    ``ItemStateChanged`` comes after the ``CookHere``). The engine carried out ``CookHere``
    first and put what it led to before the rest, so ``last_6`` (waiting for both) was told
    CookedSuccess before ``all_5`` was: a listener (the journal, the studio) saw an item cook
    while what it depends on is still Waiting."""
    play = Scripted(_net(EVENT_ORDER), {})
    play.run()
    assert play.result.ok
    assert not play.violations, play.violations


def test_a_partition_below_a_dynamic_node_over_uncooked_items_does_not_run():
    """Found by this test: gen (fails) -> mid (one item per gen item: Uncooked) -> dyn (each
    upstream cooked: makes nothing) -> Wait for All. The Wait for All is made from no items
    after dyn lost mid's item, yet it cooked (CookedSuccess): only the dynamic nodes right below
    an item that failed or was canceled learn of it (``_block_dependents``), not those below
    an item blocked by it (``block``). The same with Python Server Begin's session (Uncooked
    once its server item fails) above a dynamic Command Send."""
    play = Scripted(_net([
        {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 1}},
        {"name": "mid", "type": "genericgenerator", "inputs": ["gen"]},
        {"name": "dyn", "type": "genericgenerator", "inputs": ["mid"],
         "parms": {"generatewhen": "eachupstreamcooked"}},
        {"name": "all", "type": "waitforall", "inputs": ["dyn"]},
    ]), {"gen": "CookFailed"})
    play.run()
    (wait,) = [i for i in play.state.items.values() if i.node == "all"]
    assert wait.state == S.Uncooked and wait.id not in play.ran, (wait.state, wait.reason)


ONE_ABOVE = [
    {"name": "gen", "type": "genericgenerator", "parms": {"itemcount": 1}},
    {"name": "dyn", "type": "genericgenerator", "inputs": ["gen"],
     "parms": {"generatewhen": "eachupstreamcooked"}},
    {"name": "all", "type": "waitforall", "inputs": ["dyn"]},
]


@pytest.mark.parametrize("answer", ["CookFailed", "CookCanceled"])
def test_a_partition_below_a_dynamic_node_whose_only_upstream_item_failed_does_not_run(answer):
    """Found by this test: gen (1 item, fails or is canceled) -> dyn (each upstream cooked) ->
    Wait for All: the Wait for All cooked (CookedSuccess). ``_fail`` finalizes gen_1 first; that
    ends gen, so generation runs at once (``resolved``), completes dyn and makes the Wait for
    All, which finds no ``failed_above`` and is ready; only then does ``_block_dependents``
    set dyn's ``failed_above``. With two items that both fail the first one sets it in time
    (``test_a_partition_below_a_dynamic_node_that_made_nothing_from_failures_does_not_run``)."""
    play = Scripted(_net(ONE_ABOVE), {"gen": answer})
    play.run()
    (wait,) = [i for i in play.state.items.values() if i.node == "all"]
    assert wait.state == S.Uncooked and wait.id not in play.ran, (wait.state, wait.reason)
