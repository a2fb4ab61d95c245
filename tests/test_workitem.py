import pytest

from schedcore.engine import Engine
from schedcore.results import ScheduleResult
from schedcore.schedulers import Scheduler
from schedcore.tokens import TokenError, expand_attributes
from schedcore.workitem import (
    MAX_ATTRIB_INDEX,
    AttribIndexError,
    AttribType,
    WorkItem,
    WorkItemState,
)

from .conftest import make_network


def test_states_have_pdg_values():
    assert [(s.name, s.value) for s in WorkItemState] == [
        ("Undefined", 0), ("Dirty", 1), ("Uncooked", 2), ("Waiting", 3), ("Scheduled", 4),
        ("Cooking", 5), ("CookedSuccess", 6), ("CookedCache", 7), ("CookedFail", 8),
        ("CookedCancel", 9)]
    assert WorkItemState.CookedCache.is_success and not WorkItemState.CookedFail.is_success


def test_typed_attributes_and_arrays():
    item = WorkItem(7, "wedge1", 2)
    assert item.name == "wedge1_7"
    item.setIntAttrib("count", "3")
    item.setFloatAttrib("scale", 2)
    item.setStringAttrib("label", 5)
    item.setFileAttrib("image", "/tmp/a.png")
    item.setFloatAttribArray("color", [1, 0.5, 0])
    item.setIntAttrib("frames", 9, index=2)
    assert item.attribValue("count") == 3
    assert item.attribValue("scale") == 2.0 and isinstance(item.attribValue("scale"), float)
    assert item.attribValue("label") == "5"
    assert item.attribType("image") == AttribType.File
    assert item.attribArray("color") == [1.0, 0.5, 0.0]
    assert item.attribArray("frames") == [0, 0, 9]
    assert item.attribValue("missing") is None
    assert item.attribValue("color", 5) is None


def test_outputs_inputs_and_serialization():
    parent = WorkItem(1, "a")
    parent.addOutputFile("/out/a.txt", "file/text", 42)
    parent.addOutputFile("/out/a.txt")  # the same file twice is one output
    child = WorkItem(2, "b", dependencies=(parent,))
    child.addExpectedOutputFile("/out/b.txt")
    assert [o.path for o in child.inputFiles] == ["/out/a.txt"]
    data = child.to_json()
    assert data["inputs"] == [{"path": "/out/a.txt", "tag": "file/text", "checksum": 42}]
    assert data["expected_outputs"][0]["path"] == "/out/b.txt"
    assert data["dependencies"] == [1]
    assert data["state"] == "Uncooked"


def test_attribute_references_expand():
    item = WorkItem(3, "gen", 4)
    item.setStringAttrib("shape", "circle")
    item.setFloatAttribArray("pos", [1.5, 2.25])
    item.addExpectedOutputFile("/o/x.svg")
    text = "draw @shape @pos.1 out_@pdg_index.svg to @pdg_output mail a@b.org \\@literal"
    assert expand_attributes(text, item) == (
        "draw circle 2.25 out_4.svg to /o/x.svg mail a@b.org @literal")
    with pytest.raises(TokenError, match="gen_3 has no attribute 'shap'"):
        expand_attributes("@shap", item)


def test_attribute_indexes_are_bounded():
    item = WorkItem(1, "gen")
    item.setIntAttrib("n", 5, MAX_ATTRIB_INDEX)
    assert len(item.attribArray("n")) == MAX_ATTRIB_INDEX + 1
    for index, why in ((MAX_ATTRIB_INDEX + 1, "index 10,001 is out of range"),
                       (10**8, "index 100,000,000 is out of range"),
                       (-1, "index -1 is out of range"),
                       (2.0, "index 2.0 is not a whole number")):
        with pytest.raises(AttribIndexError, match=f"attribute 'm': {why}"):
            item.setFloatAttrib("m", 1.0, index)
    assert not item.hasAttrib("m")


class SetsFarOut(Scheduler):
    """Scheduler code that reports an attribute far out of range, then one in range."""

    def onSchedule(self, work_item):
        self.workItemSetAttribute(work_item.id, -1, "frames", AttribType.Int, 1, 10**8)
        self.workItemSetAttribute(work_item.id, -1, "frames", AttribType.Int, 2, 1)
        return ScheduleResult.CookSucceeded


def test_an_attribute_report_far_out_of_range_is_a_warning_in_the_cook(tmp_path):
    net = make_network(tmp_path, [{"name": "gen", "type": "genericgenerator",
                                   "parms": {"itemcount": 1, "command": "x"}}])
    result = Engine(net, scheduler=SetsFarOut("far", {}), journal=False).run()
    (item,) = result.items
    assert result.ok and item.attribArray("frames") == [0, 2]
    assert result.warnings == [f"{item.name}: attribute report refused: attribute 'frames': "
                               f"index 100,000,000 is out of range: an index goes from 0 to "
                               f"10,000"]
