"""Shared servers: a long-running Python process that several work items send code to.

Python Server Begin makes one server item (its job runs ``pdgserver.py``, which reports the
server's address; the scheduler keeps it) and a session item per upstream item, which waits for
the server. Command Send items below the sessions run their script in that server, found
through the ``sharedserver`` attribute they inherit. Server End (or the end of
the cook) calls the scheduler's ``endSharedServer``. The three nodes must use the same
scheduler: the server's address is kept there.
"""

from __future__ import annotations

import shlex

from ..errors import CookError
from ..parms import ParmTemplate, expand_vars
from .base import NodeType
from .builtin import PythonScript

SCRIPT_HELP = ("# work_item: the item that sent this (attribValue, setIntAttrib, addOutputFile...)"
               "\n# Runs in the shared server: what it defines stays there for the next "
               "command.\n")


def _server_of(item) -> str:
    name = item.attribValue("sharedserver")
    if not name:
        raise CookError(f"{item.name} names no shared server (no 'sharedserver' attribute): "
                        f"connect its node below a Python Server Begin node")
    return str(name)


def _named_server(item) -> str:
    """The shared server ``item`` belongs to: its sharedserver attribute or, before it has
    inherited it, the nearest upstream item's."""
    queue, seen = [item], set()
    while queue:
        current = queue.pop(0)
        name = current.attribValue("sharedserver")
        if name:
            return str(name)
        seen.add(current.id)
        queue.extend(d for d in current.dependencies if d.id not in seen)
    return ""


class PythonServerBegin(NodeType):
    type_name = "pythonserver"
    label = "Python Server Begin"
    description = ("Starts a shared Python command server, and one session item per upstream "
                   "item for Command Send nodes below to use it.")
    partition = True   # one server item for all the upstream items
    resumable = False  # a server does not survive its cook: a resumed cook starts it again
    parm_templates = [
        ParmTemplate("servername", "string", "", "Server Name",
                     "The server's name in the cook (the sharedserver attribute). Empty: the "
                     "node's name. $HIP and environment variables expand."),
        ParmTemplate("serverport", "int", 0, "Server Port", "0: any free port."),
        ParmTemplate("sessions", "int", 1, "Number of Sessions",
                     "Session items when the node has no inputs (with inputs: one per "
                     "upstream item)."),
    ]

    def generate_partition(self, parms, upstream, make):
        if upstream == []:  # inputs that made no items: no sessions, no server for nothing
            return
        name = expand_vars(str(parms.raw("servername")), parms.hip)
        server = make(-1, ())  # the item whose job starts the server
        server.setStringAttrib("sharedserver", name or server.node)
        sessions = [(u.index, (server, u)) for u in upstream] if upstream is not None else \
            [(i, (server,)) for i in range(parms.int("sessions"))]
        for index, dependencies in sessions:
            make(index, dependencies).setStringAttrib("sharedserver", name or server.node)

    def visible_downstream(self, item):
        return self._is_session(item)  # nodes below work with the sessions, not the server

    def cooks_here(self, item):
        return self._is_session(item)  # sessions pass through once the server is up

    def prepare(self, parms, item):
        if self._is_session(item):
            for upstream in item.dependencies[1:]:
                item.copy_attributes_from(upstream)
                for output in upstream.outputFiles:
                    item.addOutputFile(output.path, output.tag, output.checksum)
            return
        item.command = (f'"__PDG_PYTHON__" "__PDG_SCRIPTDIR__/pdgserver.py" '
                        f'--name {shlex.quote(_server_of(item))} --port {parms.int("serverport")}')

    @staticmethod
    def _is_session(item):
        return any(dep.node == item.node for dep in item.dependencies)


class CommandSend(PythonScript):
    """A Python Script whose code runs in the shared server instead of a process of its own."""

    type_name = "commandsend"
    label = "Command Send"
    description = "Runs Python code for each item in the shared server of its upstream item."
    parm_templates = [
        ParmTemplate("script", "code", SCRIPT_HELP, "Script",
                     "Python run in the shared server for each item, one item at a time."),
        *PythonScript.parm_templates[1:],
    ]

    def prepare(self, parms, item):
        _server_of(item)
        super().prepare(parms, item)

    def payload(self, parms, item):
        return {**super().payload(parms, item), "sharedserver": _server_of(item)}


class ServerEnd(NodeType):
    type_name = "commandserverend"
    label = "Server End"
    description = "Waits for every item sent to a shared server, then ends the server."
    in_process = True
    partition = True
    cook_needs_scheduler = True  # it ends the server the scheduler keeps
    whole = True  # it waits for every item sent to its server
    parm_templates = []

    def generate_partition(self, parms, upstream, make):
        # one item per server, waiting for every upstream item that used it
        servers: dict[str, list] = {}
        for item in upstream or ():
            servers.setdefault(_named_server(item), []).append(item)
        unnamed = servers.pop("", [])
        if unnamed and not servers:
            raise ValueError("no upstream item belongs to a shared server: put Server End "
                             "below the Command Send items of a Python Server Begin node")
        for index, (name, items) in enumerate(sorted(servers.items())):
            item = make(index, tuple(items + unnamed))
            item.setStringAttrib("sharedserver", name)

    def cook(self, parms, item, scheduler):
        name = _server_of(item)
        if not scheduler.endSharedServer(name):
            raise CookError(f"{scheduler.name} could not end shared server {name!r}: it is "
                            f"not running (its begin item failed, or it was ended already) or "
                            f"did not answer")


NODE_TYPE_CLASSES = [PythonServerBegin, CommandSend, ServerEnd]
