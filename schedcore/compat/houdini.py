"""Why a scheduler file that needs Houdini itself cannot load here, in words.

A file fails this way when it uses the parts of ``hou`` that need a scene or the UI, imports
a module only Houdini ships (its own schedulers, to subclass them; its C++ layers), or imports
a ``pdg`` name this layer does not provide.
"""

from __future__ import annotations

from .hou import HoudiniRequired

# modules only a Houdini install has, and what they are
HOUDINI_MODULES = {
    "hou": "Houdini's hou module",
    "local": "Houdini's own Local Scheduler ($HFS/houdini/pdg/types/schedulers/local.py), "
             "to subclass it",
    "tbdeadline": "Houdini's own Deadline Scheduler (tbdeadline.py), to subclass it",
    "hqueuescheduler": "Houdini's own HQueue Scheduler, to subclass it",
    "tractorscheduler": "Houdini's own Tractor Scheduler, to subclass it",
    "hdefereval": "Houdini's UI event loop (hdefereval)",
    "pdgd": "PDG's C++ data layer (pdgd)",
    "pdgutils": "PDG's C++ utilities (pdgutils)",
    "_pdg": "PDG's C++ core (_pdg)",
    "pdgjob": "Houdini's job-side package (pdgjob)",
    "toolutils": "Houdini's UI tools (toolutils)",
}

KIND = "needs Houdini"


def explain(exc: BaseException) -> tuple[str, str] | None:
    """``(KIND, why)`` when ``exc`` says the file needs Houdini itself, else None."""
    if isinstance(exc, HoudiniRequired):
        return KIND, f"it uses {exc}"
    if not isinstance(exc, ImportError) or not exc.name:
        return None
    name = _houdini_name(exc.name)
    top = name.split(".")[0]
    if isinstance(exc, ModuleNotFoundError) and top in HOUDINI_MODULES:
        return KIND, (f"it imports {name!r}: {HOUDINI_MODULES[top]}, which only a "
                      f"Houdini install has; run it in Houdini, or port it to "
                      f"pdg.scheduler.PyScheduler")
    if top == "pdg":
        return KIND, _missing_pdg_name(exc)
    return None


def _missing_pdg_name(exc: ImportError) -> str:
    """A ``pdg`` submodule or name that only Houdini's ``pdg`` package has."""
    name = _houdini_name(exc.name or "")
    wanted = name if isinstance(exc, ModuleNotFoundError) else _imported_name(exc, name)
    return (f"it imports {wanted!r}, a part of Houdini's pdg package that schedcore's "
            f"compatibility layer does not provide (the manual's page \"Code written for "
            f"Houdini\" lists Houdini's names and what each does here)")


def _houdini_name(name: str) -> str:
    """``pdg.scheduler`` for ``schedcore.compat.pdg.scheduler``: the name the file used."""
    return name.removeprefix(f"{__package__}.")


def _imported_name(exc: ImportError, module: str) -> str:
    """``pdg.scheduler.evaluateParamOr`` from "cannot import name 'evaluateParamOr' ..."."""
    text = str(exc)
    if text.startswith("cannot import name '"):
        return f"{module}.{text.split(chr(39))[1]}"
    return module
