"""A broken scheduler for the check kit's tests: its onTick divides by a parameter that is 0
unless set."""

from schedcore.compat import pdg
from schedcore.parms import ParmTemplate
from schedcore.schedulers import Scheduler
from schedcore.schedulers.base import COMMON_PARMS


class TickRaises(Scheduler):
    type_name = "brokentickraises"
    label = "Broken: onTick raises"
    parm_templates = COMMON_PARMS + [ParmTemplate("slots", "int", 0, "Slots", "Jobs at once.")]

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        return True

    def onSchedule(self, work_item):
        command = self.expandCommandTokens(work_item.command, work_item)
        self.createJobDirsAndSerializeWorkItems(work_item)
        self.startJob(work_item, command)
        return pdg.scheduleResult.Succeeded

    def onTick(self):
        self.pollJobs()
        load = len(self.jobs) / self["slots"].evaluateInt()
        return pdg.tickResult.SchedulerBusy if load >= 1 else pdg.tickResult.SchedulerReady

    def onStopCook(self, cancel):
        if cancel:
            self.killJobs()
        self.waitJobs()
        return True


def registerTypes(type_registry):
    type_registry.registerScheduler(TickRaises, label=TickRaises.label)
