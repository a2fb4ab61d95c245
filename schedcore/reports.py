"""How the engine applies what schedulers and jobs report (``Engine.post``): one part of the
engine, kept in a file of its own; it runs on the engine thread."""

from __future__ import annotations

from .cookstate import APPLY, REFUSE, report_verdict
from .events import ItemChanged
from .workitem import AttribIndexError, WorkItem, WorkItemState

S = WorkItemState


class ReportsMixin:
    """The ``Engine``'s handling of queued reports; see ``schedcore.engine``."""

    def _apply(self, message: tuple) -> None:
        kind, scheduler, args = message
        if kind == "cancel_cook":
            if not self._over:  # asked as the cook ended: it completed, and says so
                self._stop, self._canceled = "the cook was canceled", True
            return
        if kind == "call":
            args[0]()
            return
        if kind in ("error", "warning"):
            source = scheduler.name if scheduler else ""
            (self._error if kind == "error" else self._warning)(args[0], source)
            if kind == "error":
                self._stop = f"{source}: cookError: {args[0]}"
            return
        item = self._lookup(args[0], kind, scheduler)
        if item is None:
            return
        verdict = report_verdict(item.state, item.id in self._handed, kind)
        if verdict != APPLY:
            if verdict == REFUSE:
                self._refuse(item, kind, scheduler)
            return
        try:
            self._handlers[kind](item, scheduler, *args[1:])
        except Exception as exc:  # a malformed notification from scheduler code
            self._warning(f"{kind} report for {item.name} could not be applied: {exc!r}",
                          getattr(scheduler, "name", ""))

    def _refuse(self, item: WorkItem, kind: str, scheduler) -> None:
        """A report about an item no scheduler was given (cookstate.REPORTS): it changes
        nothing; said once per item and kind (a job may repeat it)."""
        if (item.id, kind) in self._refused:
            return
        self._refused.add((item.id, kind))
        where = ("blocked below a failure" if item.id in self._blocked
                 else f"it is {item.state.name}")
        if item.reason:
            where += f": {item.reason}"
        reporter = getattr(scheduler, "name", "") or "an unknown sender"
        self._warning(f"{kind} report for {item.name} refused: no scheduler was given this "
                      f"item to cook ({where}); it came through {reporter}. Only the job of "
                      f"an item may report it", getattr(scheduler, "name", ""))

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

    def _lookup(self, ref, kind: str, scheduler) -> WorkItem | None:
        item = self.find(ref)
        if item is None:
            self._warning(f"{kind} report for unknown work item {ref!r} ignored",
                          getattr(scheduler, "name", ""))
        return item

    def _on_start(self, item, scheduler) -> None:
        self._set_state(item, S.Cooking)  # Scheduled, or Waiting handed over (REPORTS)

    def _on_success(self, item, scheduler, duration: float) -> None:
        if not item.state.is_final and item.id not in self._blocked:
            item.cook_duration = duration
            self._succeed(item, scheduler)

    def _on_fail(self, item, scheduler, reason: str = "", duration: float = 0.0) -> None:
        if not item.state.is_final and item.id not in self._blocked:
            item.cook_duration = duration  # how long it ran before it failed, when known
            self._fail(item, reason or f"{scheduler.name} reported the job failed")

    def _on_cancel(self, item, scheduler) -> None:
        if not item.state.is_final and item.id not in self._blocked:
            self._finalize(item, S.CookedCancel, "the job was canceled")
            self._block_dependents(item)

    def _on_output(self, item, scheduler, path: str, tag: str, checksum: int) -> None:
        item.addOutputFile(path, tag, checksum)
        self._changed(item, "output", path)

    def _on_attribute(self, item, scheduler, name, type, value, index) -> None:
        try:
            item.setAttrib(name, type, value, index)
        except AttribIndexError as exc:  # one value far out would take the cook's memory
            self._warning(f"{item.name}: attribute report refused: {exc}",
                          getattr(scheduler, "name", ""))
            return
        self._changed(item, "attribute", name)

    def _on_attribute_array(self, item, scheduler, name, type, values) -> None:
        item.setAttribArray(name, type, values)
        self._changed(item, "attribute", name)

    def _on_log(self, item, scheduler, text: str) -> None:
        item.appendLog(text)
        self._changed(item, "log", text)

    def _on_percent(self, item, scheduler, percent: float) -> None:
        item.cook_percent = min(100.0, max(0.0, percent))
        self._changed(item, "percent", percent)

    def _on_custom_state(self, item, scheduler, state: str) -> None:
        """A job's own word for where it is (pdgcmd's ``workItemSetCustomState``): for the
        cook's views, as the cook percent is."""
        item.custom_state = state
        self._changed(item, "custom_state", state)

    def _on_invalidate_cache(self, item, scheduler) -> None:
        """The job's outputs changed without a new file: what the nodes below made in an
        earlier cook is not taken from the journal in this one (all their items, as which
        of them came from this item is known only once they exist)."""
        below = self._nodes_below(item.node)
        stale = [key for key in self._resume if key.rsplit("/", 1)[0] in below]
        for key in stale:
            del self._resume[key]
        item.appendLog(f"the job invalidated its cache: the items of {len(below)} node(s) "
                       f"below cook again ({len(stale)} journal record(s) dropped)\n")
        self._changed(item, "invalidate_cache", len(stale))

    def _nodes_below(self, name: str) -> set[str]:
        below, todo = set(), [name]
        while todo:
            current = todo.pop()
            for node in self._nodes.values():
                if current in node.spec.inputs and node.name not in below:
                    below.add(node.name)
                    todo.append(node.name)
        return below

    def _on_shared_server(self, item, scheduler, name: str, info: dict) -> None:
        if scheduler.getSharedServerInfo(name) is not None:  # the earlier one would be lost
            self._warning(f"{item.name} started shared server {name!r} again: the earlier "
                          f"one is ended", scheduler.name)
            self._call(scheduler, "endSharedServer", name)
        scheduler.setSharedServerInfo(name, info)
        self._changed(item, "sharedserver", name)

    def _changed(self, item: WorkItem, what: str, detail) -> None:
        if self.events.subscribers:
            self.events.emit(ItemChanged(item, what, detail))
