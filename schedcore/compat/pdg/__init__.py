"""The ``pdg`` names scheduler code written for Houdini uses."""

from ...errors import CookError
from ...results import scheduleResult, tickResult
from ...workitem import AttribType as attribType
from ...workitem import WorkItem as workItem
from ...workitem import WorkItemState as workItemState
from . import job, scheduler, utils
from .scheduler import TypeRegistry

__all__ = ["CookError", "attribType", "job", "scheduleResult", "scheduler", "tickResult",
           "TypeRegistry", "utils", "workItem", "workItemState"]
