"""A broken scheduler for the check kit's tests: its jobs report as they should, but a cancel
leaves them (and their children) running."""

from schedcore.compat import pdg
from schedcore.schedulers import Scheduler


class IgnoresCancel(Scheduler):
    type_name = "brokenignorescancel"
    label = "Broken: ignores cancel"

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        return True

    def onSchedule(self, work_item):
        self.pollJobs()
        command = self.expandCommandTokens(work_item.command, work_item)
        self.createJobDirsAndSerializeWorkItems(work_item)
        self.startJob(work_item, command)
        return pdg.scheduleResult.Succeeded

    def onTick(self):
        self.pollJobs()
        return pdg.tickResult.SchedulerReady

    def onStopCook(self, cancel):
        return True  # the jobs will finish by themselves, surely


def registerTypes(type_registry):
    type_registry.registerScheduler(IgnoresCancel, label=IgnoresCancel.label)
