"""The ``pdg`` names scheduler code written for Houdini uses."""

from ...results import scheduleResult, tickResult
from ...workitem import AttribType as attribType
from ...workitem import WorkItem as workItem
from ...workitem import WorkItemState as workItemState
from . import job, scheduler
from .scheduler import TypeRegistry

__all__ = ["attribType", "job", "scheduleResult", "scheduler", "tickResult", "TypeRegistry",
           "workItem", "workItemState"]
