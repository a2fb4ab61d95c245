"""How the engine applies what schedulers and jobs report (``Engine.post``): one part of the
engine, kept in a file of its own; it runs on the engine thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .events import ItemChanged
from .reports import (
    AttributeArraySet,
    AttributeSet,
    CacheInvalidated,
    CancelAsked,
    Canceled,
    CookErrorSaid,
    CookWarningSaid,
    CustomStateSet,
    Failed,
    ItemReport,
    LogAppended,
    OutputAdded,
    PercentSet,
    Report,
    SharedServerStarted,
    Started,
    Succeeded,
)
from .transitions import Verdict, report_verdict
from .workitem import AttribIndexError, WorkItem, WorkItemState

if TYPE_CHECKING:
    from .schedulers import Scheduler

S = WorkItemState


class ReportsMixin:
    """The ``Engine``'s handling of queued reports; see ``schedcore.engine``."""

    def _apply(self, report: Report, scheduler: Scheduler | None) -> None:
        if isinstance(report, ItemReport):
            self._apply_to_item(report, scheduler)
        elif isinstance(report, CancelAsked):
            if not self._over:  # asked as the cook ended: it completed, and says so
                self._stop, self._canceled = "the cook was canceled", True
        elif isinstance(report, CookErrorSaid):
            source = scheduler.name if scheduler else ""
            self._error(report.text, source)
            self._stop = f"{source}: cookError: {report.text}"
        elif isinstance(report, CookWarningSaid):
            self._warning(report.text, scheduler.name if scheduler else "")

    def _apply_to_item(self, report: ItemReport, scheduler: Scheduler | None) -> None:
        item = self.find(report.item)
        source = scheduler.name if scheduler else ""
        if item is None:
            self._warning(f"{report.label} report for unknown work item {report.item!r} "
                          f"ignored", source)
            return
        verdict = report_verdict(item.state, item.id in self._handed, report.moves_to)
        if verdict is not Verdict.APPLY:
            if verdict is Verdict.REFUSE:
                self._refuse(item, report, source)
            return
        try:
            self.HANDLERS[type(report)](self, item, report, scheduler)
        except Exception as exc:  # a malformed report from scheduler code
            self._warning(f"{report.label} report for {item.name} could not be applied: "
                          f"{exc!r}", source)

    def _refuse(self, item: WorkItem, report: ItemReport, source: str) -> None:
        """A report about an item no scheduler was given (``transitions.report_verdict``):
        it changes nothing; said once per item and kind (a job may repeat it)."""
        key = (item.id, type(report))
        if key in self._refused:
            return
        self._refused.add(key)
        where = ("blocked below a failure" if item.id in self._blocked
                 else f"it is {item.state.name}")
        if item.reason:
            where += f": {item.reason}"
        self._warning(f"{report.label} report for {item.name} refused: no scheduler was "
                      f"given this item to cook ({where}); it came through "
                      f"{source or 'an unknown sender'}. Only the job of an item may report it",
                      source)

    def find(self, ref) -> WorkItem | None:
        """An item by id (int or digits) or by name (PDG 17.5 sent names); any thread."""
        if type(ref) is int:
            return self.items.get(ref)
        if isinstance(ref, WorkItem):
            return self.items.get(ref.id)
        if isinstance(ref, str) and ref.isdigit():
            return self.items.get(int(ref))
        if isinstance(ref, str) and "_" in ref:
            number = ref.rsplit("_", 1)[1]
            item = self.items.get(int(number)) if number.isdigit() else None
            return item if item is not None and item.name == ref else None
        return None

    def _on_start(self, item: WorkItem, report: Started, scheduler) -> None:
        self._set_state(item, S.Cooking)  # Scheduled, or Waiting handed over

    def _on_success(self, item: WorkItem, report: Succeeded, scheduler) -> None:
        item.cook_duration = report.duration
        self._succeed(item, scheduler)

    def _on_fail(self, item: WorkItem, report: Failed, scheduler) -> None:
        item.cook_duration = report.duration  # how long it ran before it failed, when known
        self._fail(item, report.reason or f"{getattr(scheduler, 'name', 'its scheduler')} "
                                          f"reported the job failed")

    def _on_cancel(self, item: WorkItem, report: Canceled, scheduler) -> None:
        if self._finalize(item, S.CookedCancel, "the job was canceled"):
            self._block_dependents(item)

    def _on_output(self, item: WorkItem, report: OutputAdded, scheduler) -> None:
        item.addOutputFile(report.path, report.tag, report.checksum)
        self._changed(item, report)

    def _on_attribute(self, item: WorkItem, report: AttributeSet, scheduler) -> None:
        try:
            item.setAttrib(report.name, report.type, report.value, report.index)
        except AttribIndexError as exc:  # one value far out would take the cook's memory
            self._warning(f"{item.name}: attribute report refused: {exc}",
                          getattr(scheduler, "name", ""))
            return
        self._changed(item, report)

    def _on_attribute_array(self, item: WorkItem, report: AttributeArraySet, scheduler) -> None:
        item.setAttribArray(report.name, report.type, list(report.values))
        self._changed(item, report)

    def _on_log(self, item: WorkItem, report: LogAppended, scheduler) -> None:
        item.appendLog(report.text)
        self._changed(item, report)

    def _on_percent(self, item: WorkItem, report: PercentSet, scheduler) -> None:
        item.cook_percent = min(100.0, max(0.0, report.percent))
        self._changed(item, report)

    def _on_custom_state(self, item: WorkItem, report: CustomStateSet, scheduler) -> None:
        """For the cook's views, as the cook percent is."""
        item.custom_state = report.state
        self._changed(item, report)

    def _on_invalidate_cache(self, item: WorkItem, report: CacheInvalidated, scheduler) -> None:
        """What the nodes below made in an earlier cook is not taken from the journal in this
        one (all their items, as which of them came from this item is known only once they
        exist)."""
        below = self._nodes_below(item.node)
        stale = [key for key in self._resume if key.rsplit("/", 1)[0] in below]
        for key in stale:
            del self._resume[key]
        item.appendLog(f"the job invalidated its cache: the items of {len(below)} node(s) "
                       f"below cook again ({len(stale)} journal record(s) dropped)\n")
        self._changed(item, report)

    def _nodes_below(self, name: str) -> set[str]:
        below, todo = set(), [name]
        while todo:
            current = todo.pop()
            for node in self._nodes.values():
                if current in node.spec.inputs and node.name not in below:
                    below.add(node.name)
                    todo.append(node.name)
        return below

    def _on_shared_server(self, item: WorkItem, report: SharedServerStarted,
                          scheduler) -> None:
        if scheduler is None:
            raise ValueError("a shared server reported without a scheduler to keep it")
        if scheduler.getSharedServerInfo(report.name) is not None:  # the earlier one: lost
            self._warning(f"{item.name} started shared server {report.name!r} again: the "
                          f"earlier one is ended", scheduler.name)
            self._call(scheduler, "endSharedServer", report.name)
        scheduler.setSharedServerInfo(report.name, dict(report.info))
        self._changed(item, report)

    def _changed(self, item: WorkItem, report: ItemReport) -> None:
        if self.events.subscribers:
            self.events.emit(ItemChanged(item, report))

    HANDLERS = {Started: _on_start, Succeeded: _on_success, Failed: _on_fail,
                Canceled: _on_cancel, OutputAdded: _on_output, AttributeSet: _on_attribute,
                AttributeArraySet: _on_attribute_array, LogAppended: _on_log,
                PercentSet: _on_percent, CustomStateSet: _on_custom_state,
                SharedServerStarted: _on_shared_server,
                CacheInvalidated: _on_invalidate_cache}
