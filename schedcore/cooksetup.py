"""What a cook is made of, before it starts: its nodes in dependency order, the scheduler
instance each node uses (from the network's scheduler nodes, a registered type, or one given),
and each scheduler's pace parameters checked."""

from __future__ import annotations

import math
import os
import traceback

from . import registry
from .cooknodes import NodeState, Queue
from .errors import CookError, SchedcoreError, did_you_mean
from .network import Network, NodeSpec
from .nodes import node_type
from .registry import scheduler_types
from .schedulers import Scheduler
from .schedulers.context import CookContext

# The longest tick period: a day. Longer is a slip of the keyboard (and beyond ~1e9 seconds
# the engine's wait overflows the clock).
MAX_TICK_PERIOD = 86_400.0


def houdini_session(network: Network) -> None:
    """Houdini's session variables for a cook (or a submit) of ``network``, in the process
    environment as Houdini has them: scheduler code reads ``os.environ["HIP"]``, parameters
    expand ``$HIPNAME``, jobs inherit them. ``HIPFILE`` is the network file, ``HIPNAME`` its
    name without ``.top.json`` (``scene`` for ``scene.top.json``); an unsaved network has
    neither. Set on the thread that makes the cook, never on the engine's: the environment is
    the process's, and a change while another thread starts a process can break its exec."""
    os.environ["HIP"] = network.hip
    if not network.path:
        os.environ.pop("HIPFILE", None)
        os.environ.pop("HIPNAME", None)
        return
    path = os.path.abspath(network.path)
    name = os.path.basename(path)
    for suffix in (".top.json", ".json"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
            break
    os.environ.update(HIPFILE=path, HIPNAME=name)


class CookSetup:
    """The nodes of a cook of ``network`` (up to ``upto``) and their schedulers, each attached
    to ``context``. ``choice`` overrides every node's scheduler: a scheduler node of the
    network, a registered scheduler type, or a ``Scheduler`` instance; ``workdir`` overrides
    the working dir of every scheduler."""

    def __init__(self, network: Network, context: CookContext, *, upto: str | None = None,
                 choice: str | Scheduler | None = None, workdir: str | None = None,
                 static: bool = False):
        self.network = network
        self.schedulers: dict[str, Scheduler] = {}
        self.queues: dict[str, Queue] = {}
        self.nodes: dict[str, NodeState] = {}
        self._context, self._choice, self._workdir = context, choice, workdir
        try:
            specs = network.topological(upto)
        except KeyError as exc:
            raise CookError(f"cannot cook up to {upto!r}: {exc.args[0]}") from None
        for spec in specs:
            key = self._scheduler_for(spec)
            kind = node_type(spec.type)
            parms = network.node_parms(spec)
            dynamic = not static and kind.is_dynamic(parms, bool(spec.inputs))
            node = self.nodes[spec.name] = NodeState(spec, kind, parms, self.queues[key],
                                                     dynamic)
            node.inputs = [self.nodes[name] for name in spec.inputs]
            for upstream in node.inputs:
                if node.dynamic:
                    upstream.dynamic_children.append(node)

    def _scheduler_for(self, spec: NodeSpec) -> str:
        choice = self._choice
        if isinstance(choice, Scheduler):
            key = choice.name
        else:
            key = choice or self.network.scheduler_for(spec)
        if key not in self.schedulers:
            scheduler = choice if isinstance(choice, Scheduler) else self._make(key)
            scheduler.attach(self._context)
            if self._workdir:
                scheduler.parms.set("pdg_workingdir", os.path.abspath(self._workdir))
            self.schedulers[key] = scheduler
            queue = self.queues[key] = Queue(key)
            # checked now, so a bad value fails before anything starts; onStartCook may
            # change them, and the cook reads them again after it
            queue.period, queue.max_items = tick_period(scheduler), max_items(scheduler)
        return key

    def _make(self, key: str) -> Scheduler:
        types = scheduler_types()
        names = [s.name for s in self.network.schedulers]
        if key in names:
            spec = self.network.scheduler(key)
            cls = types.get(spec.type)
            if cls is None:
                raise CookError(f"scheduler node {key!r}: "
                                + registry.unknown_type_message(spec.type))
            return self._create(cls, spec.name, spec.values())  # with spare parms
        if key in types:
            return self._create(types[key], key, {})
        raise CookError(f"no scheduler node or scheduler type named {key!r}"
                        + did_you_mean(key, names + list(types)))

    def _create(self, cls: type[Scheduler], name: str, parms: dict) -> Scheduler:
        """An instance of a scheduler type; its own code raising (in ``__init__``, say) is a
        cook error pointing at its line, not a crash."""
        try:
            return cls.create(name, parms, self.network.hip)
        except SchedcoreError:
            raise
        except Exception as exc:
            raise CookError(f"scheduler {name!r} ({cls.__name__}) could not be created: "
                            f"{type(exc).__name__}: {exc} ({user_line(exc)})") from None


def tick_period(scheduler: Scheduler) -> float:
    """``pdg_tickperiod`` in seconds; a ``CookError`` naming the scheduler when it is not a
    finite number above 0 and at most ``MAX_TICK_PERIOD``."""
    value = _evaluate(scheduler, "pdg_tickperiod", "evaluateFloat")
    if value is None or not (math.isfinite(value) and 0 < value <= MAX_TICK_PERIOD):
        raise _bad_parm(scheduler, "pdg_tickperiod", f"a number of seconds above 0 and at "
                                                     f"most {MAX_TICK_PERIOD:,.0f} (a day)")
    return max(0.001, value)  # a shorter period would only spin


def max_items(scheduler: Scheduler) -> int:
    """``pdg_maxitems``: -1 (no limit) or a count from 1; else a ``CookError``."""
    value = _evaluate(scheduler, "pdg_maxitems", "evaluateInt")
    if value is None or not (value == -1 or value >= 1):  # 0 would never schedule an item
        raise _bad_parm(scheduler, "pdg_maxitems", "-1 for no limit, or a whole number of "
                                                   "items from 1")
    return int(value)


def _evaluate(scheduler: Scheduler, name: str, how: str):
    """The parameter's value, or None when it does not evaluate to a number at all."""
    try:
        return getattr(scheduler[name], how)()
    except (TypeError, ValueError, OverflowError):  # text, NaN or infinity as an int
        return None


def _bad_parm(scheduler: Scheduler, name: str, expected: str) -> CookError:
    raw = scheduler[name].raw
    return CookError(f"scheduler {scheduler.name!r}: parameter {name} is {raw!r}; it must "
                     f"be {expected}")


def user_line(exc: BaseException) -> str:
    """``file:line`` of the deepest frame of ``exc`` outside schedcore: the user's own code."""
    here = os.path.dirname(os.path.abspath(__file__))
    where = "unknown line"
    for frame, line in traceback.walk_tb(exc.__traceback__):
        if not os.path.abspath(frame.f_code.co_filename).startswith(here + os.sep):
            where = f"{frame.f_code.co_filename}:{line}"
    return where
