"""Scheduler types: the base class and the built-in schedulers."""

from .base import Scheduler
from .dask import DaskScheduler
from .local import LocalScheduler
from .python import PythonScheduler
from .slurm import SlurmScheduler


def registerTypes(type_registry) -> None:
    """The built-in schedulers register like any other (see ``schedcore.registry``)."""
    type_registry.registerScheduler(LocalScheduler, label=LocalScheduler.label,
                                    name=LocalScheduler.type_name)
    type_registry.registerScheduler(PythonScheduler, label=PythonScheduler.label,
                                    name=PythonScheduler.type_name)
    type_registry.registerScheduler(DaskScheduler, label=DaskScheduler.label,
                                    name=DaskScheduler.type_name)
    type_registry.registerScheduler(SlurmScheduler, label=SlurmScheduler.label,
                                    name=SlurmScheduler.type_name)


__all__ = ["DaskScheduler", "LocalScheduler", "PythonScheduler", "Scheduler", "SlurmScheduler",
           "registerTypes"]
