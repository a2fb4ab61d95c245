"""A broken scheduler for the check kit's tests: onSchedule answers with a word of its own
instead of a pdg.scheduleResult."""

from schedcore.compat import pdg
from schedcore.schedulers import Scheduler


class InvalidValue(Scheduler):
    type_name = "brokeninvalidvalue"
    label = "Broken: invalid value"

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        return True

    def onSchedule(self, work_item):
        command = self.expandCommandTokens(work_item.command, work_item)
        self.createJobDirsAndSerializeWorkItems(work_item)
        self.startJob(work_item, command)
        return "submitted"

    def onTick(self):
        self.pollJobs()
        return pdg.tickResult.SchedulerReady

    def onStopCook(self, cancel):
        if cancel:
            self.killJobs()
        self.waitJobs()
        return True


def registerTypes(type_registry):
    type_registry.registerScheduler(InvalidValue, label=InvalidValue.label)
