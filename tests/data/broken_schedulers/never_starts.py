"""A broken scheduler for the check kit's tests: it takes every item and starts nothing (a
farm submit that silently does nothing)."""

from schedcore.compat import pdg
from schedcore.schedulers import Scheduler


class NeverStarts(Scheduler):
    type_name = "brokenneverstarts"
    label = "Broken: never starts a job"

    def onSchedule(self, work_item):
        self.queued = getattr(self, "queued", []) + [work_item.name]
        return pdg.scheduleResult.Succeeded


def registerTypes(type_registry):
    type_registry.registerScheduler(NeverStarts, label=NeverStarts.label)
