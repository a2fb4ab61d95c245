"""The usage report (``workItemUsage``) from a farm's job through the result server, and what
bad input to it gets: a clear error, and the cook goes on."""

from __future__ import annotations

import math
import subprocess
import sys
import xmlrpc.client

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedcore.trace import entries_of, trace_text
from schedcore.usage import ItemUsage, UsageError
from schedcore.workitem import WorkItemState as S

from .test_resultserver import cook, job_env  # noqa: F401  (cook: the fixture)

pytestmark = pytest.mark.usefixtures("outsiders_only")


def test_a_farm_job_reports_its_usage_and_it_reaches_the_trace(cook):  # noqa: F811
    c = cook(1)
    (item_id,) = c.ids
    script = ("import pdgjob\n"
              "pdgjob.workItemStartCook()\n"
              "pdgjob.workItemUsage(native_id='4711', host='node7', cpu_user=12.5,\n"
              "                     cpu_system=0.5, peak_rss=2**30, exit_code=0)\n"
              "pdgjob.workItemSuccess(duration=3.0)\n")
    done = subprocess.run([sys.executable, "-c", script], env=job_env(c, item_id),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    result = c.engine.wait(20)
    item = c.item(item_id)
    assert item.state == S.CookedSuccess
    assert item.usage == ItemUsage(native_id="4711", host="node7", cpu_user=12.5,
                                   cpu_system=0.5, peak_rss=2**30, exit_code=0)
    header, row = trace_text(entries_of(result)).splitlines()
    cells = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert cells["native_id"] == "4711" and cells["hostname"] == "node7"
    assert cells["peak_rss"] == "1 GB" and cells["status"] == "COMPLETED"


def test_xmlrpc_usage_after_the_item_ended_is_taken_and_bad_usage_is_refused(cook):  # noqa: F811
    c = cook(2)
    first, second = c.ids
    with xmlrpc.client.ServerProxy(f"http://{c.address}") as proxy:
        with pytest.raises(xmlrpc.client.Fault) as refused:
            proxy.workItemUsage(first, {"peak_rss": -5}, c.job_id)
        assert "peak_rss must not be negative" in refused.value.faultString
        with pytest.raises(xmlrpc.client.Fault) as unknown:
            proxy.workItemUsage(first, {"cpu_seconds": 1.0}, c.job_id)
        assert "unknown usage field(s) cpu_seconds" in unknown.value.faultString
        proxy.success(first, 0.5, c.job_id)  # the cook went on
        # a farm's accounting comes after the job ended: it is still taken
        proxy.workItemUsage(first, {"native_id": "job.42", "cpu_user": 2.0}, c.job_id)
        proxy.success(second, 0.5, c.job_id)
    result = c.engine.wait(20)
    assert result is not None and result.ok
    assert c.item(first).usage == ItemUsage(native_id="job.42", cpu_user=2.0)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(
    st.sampled_from(["submit", "wall", "cpu_user", "peak_rss", "exit_code", "signal",
                     "attempt", "slot", "host", "native_id", "other"]),
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=300),
              st.lists(st.integers(), max_size=2))))
def test_any_usage_object_is_a_record_or_a_usage_error_naming_a_field(data):
    try:
        usage = ItemUsage.from_json(data)
    except UsageError as exc:
        assert "usage field" in str(exc) or "unknown usage field" in str(exc)
        return
    assert ItemUsage.from_json(usage.to_json()) == usage
    for value in usage.to_json().values():
        assert not isinstance(value, float) or math.isfinite(value)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.builds(
    ItemUsage,
    submit=st.none() | st.floats(0, 4e9), start=st.none() | st.floats(0, 4e9),
    end=st.none() | st.floats(0, 4e9), wall=st.none() | st.floats(0, 1e7),
    cpu_user=st.none() | st.floats(0, 1e7), peak_rss=st.none() | st.integers(0, 2**50),
    exit_code=st.none() | st.integers(-300, 300), signal=st.none() | st.integers(1, 64),
    slot=st.text(max_size=20), host=st.text(max_size=20), native_id=st.text(max_size=20)),
    st.sampled_from(list(S)), st.text(max_size=30))
def test_any_usage_makes_one_trace_row_of_every_column(usage, state, node):
    from schedcore.trace import COLUMNS, ItemTrace

    text = trace_text([ItemTrace(7, f"{node}_7", node, state, usage)])
    header, row, *rest = text.split("\n")
    assert rest == [""]  # one line per item, whatever its texts hold
    assert len(row.split("\t")) == len(COLUMNS)
