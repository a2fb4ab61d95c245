"""The Python Scheduler's callback fields: where each sits, its signature, the seed's words for
it, and the code it holds as shipped (which works: it runs items in parallel as non-blocking
jobs that report to the result server)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str          # the callback, and the parameter's name
    label: str
    group: str         # the tab it sits on
    args: tuple        # the method's arguments after self
    description: str   # the seed's text, for tooltips and docstrings


FIELDS = [
    Field("onSchedule", "Schedule", "Scheduling", ("work_item",),
          "Called when a work item needs to scheduled. Returns True if the work item has been "
          "successfully scheduled."),
    Field("onScheduleStatic", "Schedule Static", "Scheduling",
          ("dependencies", "dependents", "ready_items"),
          "Called when the scheduler should process a static dependency graph."),
    Field("submitAsJob", "Submit As Job", "Scheduling", ("graph_file", "node_path"),
          "Called when the scheduler should cook the entire TOP Network as a standalone job. "
          "Returns the status URI for the submitted job."),
    Field("onStart", "Start", "Initialization and Cleanup", (),
          "Called when the scheduler is registered with PDG. Should initialize or setup "
          "scheduler state."),
    Field("onStop", "Stop", "Initialization and Cleanup", (),
          "Called when the scheduler is unregistered with PDG. Should clean up scheduler state."),
    Field("onStartCook", "Start Cook", "Initialization and Cleanup", ("static", "cook_set"),
          "Called when a cook starts, before any work items are scheduled. Returns True if "
          "started."),
    Field("onStopCook", "Stop Cook", "Initialization and Cleanup", ("cancel",),
          "Called when cook completes or is canceled. Returns True if stopped."),
    Field("endSharedServer", "End Shared Server", "Shared Server", ("sharedserver_name",),
          "Closes an existing shared server instance. Returns True on success."),
    Field("workItemResultServerAddr", "Result Server Address", "Result Server Address", (),
          "Returns the results server address. This is the TCP port that listens for status "
          "being returned by jobs. It should be a string-based IP address: "
          "(e.g. '192.168.1.123:83000')."),
    Field("transferFile", "Transfer File", "Transfer File", ("file_path",),
          "Called when a file should be copied from the local machine to a remote location "
          "(e.g. a shared network drive). These would be files that are necessary to do the "
          "work, so they are copied to the working directory. Returns True if copied the "
          "file."),
    Field("getLogURI", "Log URI", "Logging", ("work_item",),
          "Returns the URI that points to the log of the given work item "
          "(e.g. file:///myfarm/tasklogs/jobid20.log)."),
    Field("getStatusURI", "Status URI", "Logging", ("work_item",),
          "Returns the URI that points to the status of the given work item "
          "(e.g. http://myfarm/status/jobid20)"),
    Field("onTick", "Tick", "Tick and Cancel", (),
          "Called every Tick Period seconds while cooking: look after running jobs. Returns "
          "pdg.tickResult.SchedulerReady, SchedulerBusy or SchedulerCancelCook."),
    Field("onCancelWorkItems", "Cancel Work Items", "Tick and Cancel", ("work_items", "node"),
          "Called to cancel work items that are queued or running."),
]

GROUPS = ["Scheduling", "Initialization and Cleanup", "Shared Server", "Result Server Address",
          "Transfer File", "Logging", "Tick and Cancel"]

DEFAULT_CODE = {
    "onSchedule": '''\
# Called when a work item is ready to run. Available: self, work_item, pdg.
# Starts the job without waiting for it; the job reports its start and its outcome to the
# result server. Up to Limit Jobs (pdg_maxtasks) run at once; FullDeferred asks again when
# one ends.
self.pollJobs()
if len(self.jobs) >= self.maxTasks():
    return pdg.scheduleResult.FullDeferred
if not work_item.command.strip():
    return pdg.scheduleResult.CookSucceeded  # nothing to run
self.createJobDirsAndSerializeWorkItems(work_item)
command = self.expandCommandTokens(work_item.command, work_item)
self.jobs[work_item.id] = self.startJob(work_item, command)
return pdg.scheduleResult.Succeeded
''',
    "onScheduleStatic": '''\
# Called once for a static cook, with the whole graph. Available: self, dependencies,
# dependents (dicts: work item -> list of work items), ready_items, pdg.
# Nothing to do here: the items still come to onSchedule as they become ready.
pass
''',
    "submitAsJob": '''\
# Called to cook the whole network as one standalone job. Available: self, graph_file,
# node_path, pdg. Returns the status URI of that job, or "" when it is not supported.
# The default runs `schedcore cook` as a detached process on this machine.
return pdg.scheduler.PyScheduler.submitAsJob(self, graph_file, node_path)
''',
    "onStart": '''\
# Called when the scheduler is created. Available: self, pdg. Returns True.
return True
''',
    "onStop": '''\
# Called when the scheduler is removed. Available: self, pdg. Returns True.
self.stopCallbackServer()
return True
''',
    "onStartCook": '''\
# Called when a cook starts, before any work item is scheduled. Available: self, static,
# cook_set, pdg. Returns True when the cook can go on.
workdir = self["pdg_workingdir"].evaluateString()
self.setWorkingDir(workdir, workdir)
if not self.isCallbackServerRunning():
    self.startCallbackServer()
return True
''',
    "onStopCook": '''\
# Called when the cook completes or is canceled. Available: self, cancel, pdg.
# On cancel, kill the running jobs with their process trees; either way, return once every
# job process is gone. Returns True.
if cancel:
    self.killJobs()
self.waitJobs()
return True
''',
    "endSharedServer": '''\
# Called to close a shared server. Available: self, sharedserver_name, pdg. Returns True.
# The default stops a Python Server Begin's server and forgets its info.
return pdg.scheduler.PyScheduler.endSharedServer(self, sharedserver_name)
''',
    "workItemResultServerAddr": '''\
# Returns "host:port" of the result server jobs report to. Available: self, pdg.
return pdg.scheduler.PyScheduler.workItemResultServerAddr(self)
''',
    "transferFile": '''\
# Copies a file the work needs into the working directory. Available: self, file_path, pdg.
# Returns True when the file is there.
return pdg.scheduler.PyScheduler.transferFile(self, file_path)
''',
    "getLogURI": '''\
# Returns the URI of the work item's log. Available: self, work_item, pdg.
import pathlib
return pathlib.Path(self.logDir(True), work_item.name + ".log").as_uri()
''',
    "getStatusURI": '''\
# Returns the URI of the work item's status page on the result server, with the key that
# lets whoever has the URI read the page (never report). Available: self, work_item, pdg.
return pdg.scheduler.PyScheduler.getStatusURI(self, work_item)
''',
    "onTick": '''\
# Called every Tick Period while cooking. Available: self, pdg.
# Forgets jobs that ended; one that ended without reporting fails its item.
self.pollJobs()
return pdg.tickResult.SchedulerReady
''',
    "onCancelWorkItems": '''\
# Called to cancel queued or running items. Available: self, work_items, node, pdg.
for work_item in work_items:
    job = self.jobs.pop(work_item.id, None)
    if job is not None:
        self.killJob(job)
        self.workItemCancelled(work_item.id)
''',
}
