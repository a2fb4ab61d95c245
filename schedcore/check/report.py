"""What a check found: one result per scenario, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from .probe import Where

PASSED, FAILED, NOT_SUPPORTED = "passed", "failed", "not supported"


@dataclass
class ScenarioResult:
    name: str
    title: str
    status: str
    reason: str = ""
    where: Where | None = None     # the callback and line the failure comes from
    required: bool = True
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    folder: str = ""               # the scenario's network and job logs, when kept
    no_jobs: bool = False          # no job of its cook ever started

    @property
    def failed(self) -> bool:
        return self.status == FAILED and self.required

    def line(self) -> str:
        """One line: the verdict, the scenario, why."""
        head = f"{self.status:<13} {self.name:<14} {self.title}"
        if self.status == PASSED:
            return head + (f" ({'; '.join(self.notes)})" if self.notes else "")
        why = self.reason + (f" [{self.where}]" if self.where and self.where.file else "")
        return f"{head}\n{'':<14} {why}" if why else head

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "status": self.status,
                "required": self.required, "reason": self.reason,
                "where": self.where.to_json() if self.where else None,
                "seconds": round(self.seconds, 2), "notes": self.notes,
                "folder": self.folder}


@dataclass
class Report:
    target: str
    results: list[ScenarioResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every required scenario passed."""
        return not any(r.failed for r in self.results)

    def counts(self) -> dict[str, int]:
        counts = {PASSED: 0, FAILED: 0, NOT_SUPPORTED: 0}
        for result in self.results:
            status = result.status if result.required or result.status != FAILED \
                else NOT_SUPPORTED
            counts[status] += 1
        return counts

    def summary(self) -> str:
        counts = self.counts()
        verdict = "conforms" if self.ok else "does not conform"
        return (f"{self.target} {verdict}: {counts[PASSED]} passed, {counts[FAILED]} failed, "
                f"{counts[NOT_SUPPORTED]} not supported")

    def to_json(self) -> dict:
        return {"target": self.target, "ok": self.ok, "counts": self.counts(),
                "scenarios": [r.to_json() for r in self.results]}
