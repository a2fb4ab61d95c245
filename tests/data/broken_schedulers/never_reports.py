"""A broken scheduler for the check kit's tests: it starts each job and never tells anyone how
it went (no onTick, no report)."""

import subprocess

from schedcore import process
from schedcore.compat import pdg
from schedcore.schedulers import Scheduler


class NeverReports(Scheduler):
    type_name = "brokenneverreports"
    label = "Broken: never reports"

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        self.started = []
        return True

    def onSchedule(self, work_item):
        command = self.expandCommandTokens(work_item.command, work_item)
        self.started.append(subprocess.Popen(
            process.command_argv(command), env=self.jobEnvironment(work_item),
            cwd=self.workingDir(True), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True))
        return pdg.scheduleResult.Succeeded

    def onStopCook(self, cancel):
        for job in self.started:
            process.kill_tree(job)
        return True


def registerTypes(type_registry):
    type_registry.registerScheduler(NeverReports, label=NeverReports.label)
