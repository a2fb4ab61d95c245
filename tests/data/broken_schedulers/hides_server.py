"""A broken scheduler for the check kit's tests: a farm scheduler in Houdini's style that
starts its jobs itself, with an environment of its own that lacks the result server's address.
It defines no getLogURI and no submitAsJob."""

import os
import subprocess

from schedcore import process
from schedcore.compat import pdg
from schedcore.schedulers import Scheduler


class HidesServer(Scheduler):
    type_name = "brokenhidesserver"
    label = "Broken: keeps the result server from its jobs"

    def onStartCook(self, static, cook_set):
        super().onStartCook(static, cook_set)
        self.startCallbackServer()
        self.started = {}
        return True

    def onSchedule(self, work_item):
        self.createJobDirsAndSerializeWorkItems(work_item)
        env = dict(os.environ)
        env.update({name: value for name, value in self.jobEnvironment(work_item).items()
                    if name != "PDG_RESULT_SERVER"})
        command = self.expandCommandTokens(work_item.command, work_item)
        self.started[work_item.id] = subprocess.Popen(
            process.command_argv(command), env=env, cwd=self.workingDir(True),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        return pdg.scheduleResult.Succeeded

    def onTick(self):
        for item_id, job in list(self.started.items()):
            if job.poll() is not None:
                del self.started[item_id]
                if job.returncode == 0:
                    self.workItemSucceeded(item_id, -1, 0.0)
                else:
                    self.workItemFailed(item_id, -1)
        return pdg.tickResult.SchedulerReady

    def onStopCook(self, cancel):
        for job in self.started.values():
            process.kill_tree(job)
        return True


def registerTypes(type_registry):
    type_registry.registerScheduler(HidesServer, label=HidesServer.label)
