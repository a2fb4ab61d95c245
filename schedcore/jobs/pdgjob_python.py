"""Runs a Python Script node's code for one work item, as a job.

Copied into the script dir of every cook; standard library only, Python 3.8 or newer, so it
runs on a farm machine with nothing installed. It reads the item from
``$PDG_TEMP/data/$PDG_ITEM_NAME.json``, runs the node's script with ``work_item`` in scope, and
reports what the script sets (outputs, attributes) to the result server through ``pdgjob``.
A Command Send item's script runs in its shared server instead (``pdgserver``); this job sends
it there and prints what it printed.
"""

import json
import linecache
import os
import sys
import traceback

# typing's constant, without importing typing in every job: the checker sees the modules of
# the package where a job imports the copies beside it
TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import pdgjob
else:
    import pdgjob

class JobWorkItem:
    """The work item as a script sees it: PDG's names for reading and setting values."""

    def __init__(self, data, reporter=None):
        self._reporter = reporter  # None: the job's own (pdgjob.reporter())
        self.id = data["id"]
        self.name = data["name"]
        self.index = data["index"]
        self.frame = data.get("frame", 0.0)
        self.node = data["node"]
        self.command = data.get("command", "")
        self._attributes = {n: dict(a) for n, a in data.get("attributes", {}).items()}
        self._inputs = data.get("inputs", [])
        self._expected = data.get("expected_outputs", [])
        self._outputs = []

    # reading
    def attribNames(self):
        return list(self._attributes)

    def hasAttrib(self, name):
        return name in self._attributes

    def attribValue(self, name, index=0):
        values = self._attributes.get(name, {}).get("values", [])
        return values[index] if index < len(values) else None

    def attribArray(self, name):
        attrib = self._attributes.get(name)
        return None if attrib is None else list(attrib["values"])

    @property
    def inputFiles(self):
        return [i["path"] for i in self._inputs]

    @property
    def expectedOutputFiles(self):
        return [e["path"] for e in self._expected]

    @property
    def outputFiles(self):
        return [o["path"] for o in self._outputs]

    # setting: kept here for reading back, and reported
    def _report(self, kind, **fields):
        (self._reporter or pdgjob.reporter()).report(kind, item=self.id, **fields)

    def _set(self, name, kind, values):
        self._attributes[name] = {"type": kind, "values": list(values)}
        self._report("attrib_array", name=str(name), type=kind, values=list(values))

    def _set_at(self, name, kind, value, index):
        attrib = self._attributes.get(name)
        values = list(attrib["values"]) if attrib and attrib["type"] == kind else []
        values.extend([value] * (index + 1 - len(values)))
        values[index] = value
        self._attributes[name] = {"type": kind, "values": values}
        self._report("attrib", name=str(name), type=kind, value=value, index=int(index))

    def setIntAttrib(self, name, value, index=0):
        self._set_at(name, "Int", int(value), index)

    def setFloatAttrib(self, name, value, index=0):
        self._set_at(name, "Float", float(value), index)

    def setStringAttrib(self, name, value, index=0):
        self._set_at(name, "String", str(value), index)

    def setFileAttrib(self, name, value, index=0):
        self._set_at(name, "File", str(value), index)

    def setIntAttribArray(self, name, values):
        self._set(name, "Int", [int(v) for v in values])

    def setFloatAttribArray(self, name, values):
        self._set(name, "Float", [float(v) for v in values])

    def setStringAttribArray(self, name, values):
        self._set(name, "String", [str(v) for v in values])

    def setFileAttribArray(self, name, values):
        self._set(name, "File", [str(v) for v in values])

    def addOutputFile(self, path, tag="file", checksum=0):
        self._outputs.append({"path": str(path), "tag": tag or "file", "checksum": checksum})
        reporter = self._reporter or pdgjob.reporter()
        self._report("result", path=reporter.delocalize(path), tag=tag or "file",
                     checksum=int(checksum))

    addResultData = addOutputFile  # the 17.5 name


def main():
    name = os.environ["PDG_ITEM_NAME"]
    data_path = os.path.join(os.environ["PDG_TEMP"], "data", name + ".json")
    with open(data_path, encoding="utf-8") as handle:
        data = json.load(handle)
    payload = data.get("payload") or {}
    if payload.get("sharedserver"):
        return send_to_server(data, payload)
    work_item = JobWorkItem(data)
    source, filename = payload.get("script", ""), payload.get("script_name", "<script>")
    # tracebacks show the script's own lines
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    scope = {"__name__": "__pdgjob__", "work_item": work_item}
    status = 0
    try:
        exec(code, scope)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        status = 1
    try:
        pdgjob.flush()
    except pdgjob.ReportError as exc:
        sys.stderr.write("pdgjob: %s\n" % exc)
        status = status or 3
    return status


def send_to_server(data, payload):
    """A Command Send item: its script runs in the shared server the item names."""
    if TYPE_CHECKING:
        from . import pdgserver
    else:
        import pdgserver
    name = payload["sharedserver"]
    info = data.get("sharedserver")
    if not info:
        sys.stderr.write("pdgjob: no shared server named %r is running in this cook: its "
                         "Python Server Begin item did not start it, or it was ended\n" % name)
        return 1
    env = {key: os.environ.get(key, "") for key in ("PDG_RESULT_SERVER", "PDG_DIR")}
    env["PDG_JOBID"] = os.environ.get(os.environ.get("PDG_JOBID_VAR", "PDG_JOBID"), "")
    try:
        answer = pdgserver.request(info, {
            "op": "exec", "item": data, "env": env, "script": payload.get("script", ""),
            "script_name": payload.get("script_name", "<command>")})
    except pdgserver.ServerError as exc:
        sys.stderr.write("pdgjob: shared server %r: %s\n" % (name, exc))
        return 1
    sys.stdout.write(answer.get("output", ""))
    return int(answer.get("status", 1))


if __name__ == "__main__":
    sys.exit(main())
