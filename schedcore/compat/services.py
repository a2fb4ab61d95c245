"""Houdini's ``pdg.SchedulerBase`` services that scheduler files written for Houdini call on
themselves, beyond reference §2: parameters set and overridden per node, job environments,
the graph context, the scheduler's own node, interpreter paths. Every scheduler has them.

Properties here are non-data descriptors (``houdini_property``): a subclass may assign the
same name (``self.context = ...``) without breaking the class, as it may in Houdini.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, cast

from . import hou

if TYPE_CHECKING:
    from ..parms import ParmSet, ParmValue
    from ..workitem import WorkItem


class houdini_property:  # noqa: N801 -- reads like ``property``
    """A read-only computed attribute that an instance may still assign (and so shadow)."""

    def __init__(self, getter):
        self.getter = getter
        self.__doc__ = getter.__doc__

    def __get__(self, instance, owner=None):
        return self if instance is None else self.getter(instance)


class Graph:
    """What ``self.context.graph`` offers: work items by id or name."""

    def __init__(self, scheduler):
        self._scheduler = scheduler

    def workItemById(self, item_id):
        return self._scheduler.find_item(int(item_id))

    def workItemByName(self, name: str):
        return self._scheduler.find_item(str(name))

    @property
    def workItems(self) -> list:
        return self._scheduler.all_items()


class GraphContext:
    """``pdg.GraphContext``: the cook this scheduler serves."""

    def __init__(self, scheduler):
        self.graph = Graph(scheduler)
        self.name = scheduler.name

    def cookError(self, message: str) -> None:
        self.graph._scheduler.cookError(message)


class HoudiniServices:
    """Mixed into ``Scheduler``: Houdini's names, with Houdini's meaning where this project
    has the thing, and a documented stand-in where it has not."""

    if TYPE_CHECKING:
        # what the services use of the Scheduler they are mixed into (schedulers/base.py)
        name: str
        type_name: str
        parms: ParmSet

        def __getitem__(self, name: str) -> ParmValue: ...
        def pdgEnvironment(self, work_item: WorkItem) -> dict[str, str]: ...
        def _copy_job_modules(self) -> None: ...

    # -- parameters ---------------------------------------------------------------------
    def __setitem__(self, name: str, value) -> None:
        """``self["pdg_tickperiod"] = 2.0``: set a parameter's value for this scheduler."""
        self.parms.set(name, value)

    def _override(self, node, prefix: str, parm: str, default, kind: str):
        """Houdini's ``evaluate*Override``: the TOP node's own ``<prefix>_<parm>`` when it has
        one, else the scheduler's, else ``default``."""
        name = f"{prefix}_{parm}" if prefix else parm
        for parms in (self._node_parms(node), self.parms):
            if parms is not None and name in parms:
                return getattr(parms[name], kind)()
        return default

    def _node_parms(self, node):
        """A TOP node's parameters in the cook (None outside a cook or for an unknown node)."""
        if self._cook is None or node is None:
            return None
        return self._cook.node_parms(node)

    def evaluateStringOverride(self, node, prefix, parm, work_item, default_value) -> str:
        return self._override(node, prefix, parm, default_value, "evaluateString")

    def evaluateIntOverride(self, node, prefix, parm, work_item, default_value) -> int:
        return self._override(node, prefix, parm, default_value, "evaluateInt")

    def evaluateFloatOverride(self, node, prefix, parm, work_item, default_value) -> float:
        return self._override(node, prefix, parm, default_value, "evaluateFloat")

    def evaluateBoolOverride(self, node, prefix, parm, work_item, default_value) -> bool:
        return self._override(node, prefix, parm, default_value, "evaluateBool")

    @houdini_property
    def isWaitForFailures(self) -> bool:
        """True when ``pdg_waitforfailures`` (Block on Failed Work Items) is on."""
        return "pdg_waitforfailures" in self.parms and self["pdg_waitforfailures"].evaluateBool()

    # -- the graph and the scheduler's own node -------------------------------------------
    @houdini_property
    def context(self) -> GraphContext:
        """``pdg.GraphContext`` of the cook: ``self.context.graph.workItemById(id)``."""
        return GraphContext(self)

    def topNode(self) -> hou.TopNode:
        """The scheduler's node, hou-like: ``self.topNode().name()``."""
        return hou.TopNode(self.name, self.type_name)

    @houdini_property
    def _workItemResultServerAddr(self) -> str:
        """The result server's own ``host:port`` (what a subclass that overrides
        ``workItemResultServerAddr`` starts from)."""
        from ..schedulers.base import Scheduler
        # only a Scheduler mixes the services in
        return Scheduler.workItemResultServerAddr(cast(Scheduler, self))

    # -- job environments -----------------------------------------------------------------
    def resolveBaseEnvironment(self, parm_prefix: str, node=None, work_item=None) -> dict:
        """A job's starting environment: this process's when ``<prefix>_inheritlocalenv`` is
        on, else empty (the PDG variables are added by ``addCommonJobEnvVars``)."""
        name = f"{parm_prefix}_inheritlocalenv"
        inherit = name in self.parms and self[name].evaluateBool()
        return dict(os.environ) if inherit else {}

    def resolveEnvParams(self, parm_prefix: str, work_item=None, *args) -> tuple[dict, list]:
        """``(variables, names to remove)`` from the scheduler's environment parameters:
        ``<prefix>_envmulti`` pairs ``<prefix>_envname<n>``/``<prefix>_envvalue<n>``
        (n from 1) and the space-separated names of ``<prefix>_envunset``. A scheduler
        without them gets ``({}, [])``."""
        variables, count = {}, f"{parm_prefix}_envmulti"
        for n in range(1, (self[count].evaluateInt() if count in self.parms else 0) + 1):
            name, value = f"{parm_prefix}_envname{n}", f"{parm_prefix}_envvalue{n}"
            if name in self.parms and self[name].evaluateString():
                variables[self[name].evaluateString()] = (
                    self[value].evaluateString() if value in self.parms else "")
        unset = f"{parm_prefix}_envunset"
        return variables, (self[unset].evaluateString().split() if unset in self.parms else [])

    def addCommonJobEnvVars(self, job_env: dict, work_item, *args) -> dict:
        """Add the ``PDG_*`` variables every job needs to ``job_env`` (in place)."""
        job_env.update(self.pdgEnvironment(work_item))
        return job_env

    def resolvePathMapping(self, job_env: dict) -> dict:
        """Houdini adds its path map (``PDG_PATHMAP``) here; schedcore has no path mapping
        (paths go through ``__PDG_DIR__``), so ``job_env`` is left as it is."""
        return job_env

    # -- interpreters and job files --------------------------------------------------------
    def _pythonBin(self, *args) -> str:
        """The Python jobs run (what the base ``applicationBin("python", None)`` answers;
        never a subclass's ``applicationBin``, which is often built on this)."""
        from ..schedulers.base import python_for_jobs
        return python_for_jobs()

    def _hythonBin(self, *args) -> str:
        """``hython`` on the PATH (``$HFS/bin/hython`` when HFS is set), else the name."""
        hfs = os.environ.get("HFS")
        found = os.path.join(hfs, "bin", "hython") if hfs else shutil.which("hython")
        return found or "hython"

    def _copyJobSupportFiles(self, *args) -> None:
        """Copy the job-side modules into the script dir (Houdini copies ``pdgcmd.py`` and
        friends; here ``pdgjob.py`` speaks the same protocol)."""
        self._copy_job_modules()


__all__ = ["GraphContext", "HoudiniServices", "houdini_property"]
