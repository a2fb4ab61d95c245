"""A broken scheduler for the check kit's tests: it starts every job twice, "in case the first
is lost"."""

from schedcore.compat import pdg
from schedcore.schedulers import Scheduler


class RunsTwice(Scheduler):
    type_name = "brokenrunstwice"
    label = "Broken: runs every item twice"

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        self.spare_jobs = []
        return True

    def onSchedule(self, work_item):
        command = self.expandCommandTokens(work_item.command, work_item)
        self.createJobDirsAndSerializeWorkItems(work_item)
        self.spare_jobs.append(self.startJob(work_item, command))
        self.startJob(work_item, command)
        return pdg.scheduleResult.Succeeded

    def onTick(self):
        self.pollJobs()
        return pdg.tickResult.SchedulerReady

    def onStopCook(self, cancel):
        if cancel:
            self.killJobs()
            for job in self.spare_jobs:
                self.killJob(job)
        self.waitJobs()
        for job in self.spare_jobs:
            job.wait()
        return True


def registerTypes(type_registry):
    type_registry.registerScheduler(RunsTwice, label=RunsTwice.label)
