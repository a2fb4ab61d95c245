"""Random requests against a live result server: it keeps answering and applies nothing."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import xmlrpc.client

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedcore.rpcmethods import XMLRPC_METHODS

from .test_resultserver import Cook

KINDS = ["start_cook", "success", "failed", "cancelled", "result", "attrib", "attrib_array",
         "log", "warning", "keepalive", "percent", "custom_state", "invalidate_cache",
         "sharedserver", "bogus"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10)
reports = st.fixed_dictionaries(
    {"rid": st.one_of(st.text(max_size=8), values), "kind": st.one_of(st.sampled_from(KINDS),
                                                                        values),
     "item": st.one_of(st.integers(0, 5), st.text(max_size=10), values)},
    optional={"path": values, "name": values, "type": values, "value": values,
              "values": values, "text": values, "duration": values})
json_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda jobid, batch: json.dumps({"jobid": jobid, "reports": batch}).encode(),
              st.one_of(st.text(max_size=32), values), st.lists(reports, max_size=5)),
    st.builds(lambda v: json.dumps(v).encode(), values))
xml_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda method, params: xmlrpc.client.dumps(tuple(params), method,
                                                         allow_none=True).encode(),
              st.one_of(st.sampled_from(sorted(XMLRPC_METHODS) + ["system.multicall"]),
                        st.text(min_size=1, max_size=12)),
              st.lists(st.one_of(st.integers(-2**31, 2**31 - 1), st.text(max_size=12),
                                 st.floats(allow_nan=False), st.none(),
                                 st.lists(st.integers(-5, 5), max_size=3)), max_size=7)))
# no header, garbage, or Basic authorization of a wrong secret (the right one is never drawn)
authorizations = st.one_of(st.none(), st.text(st.characters(min_codepoint=32,
                                                           max_codepoint=126), max_size=30),
                          st.builds(
    lambda user: "Basic " + base64.b64encode(user.encode()).decode(), st.text(max_size=40)))
requests = st.one_of(
    st.tuples(st.just("json"), json_bodies), st.tuples(st.just("xml"), xml_bodies),
    st.tuples(st.just("raw"), st.binary(min_size=1, max_size=300)))


def test_random_requests_change_nothing(tmp_path):
    cook = Cook(tmp_path, 3)
    host, port = cook.host, cook.port
    before = [item.to_json() for item in cook.engine.items.values()]
    answered = []

    @settings(max_examples=1000, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(requests, authorizations)
    def send(request, authorization):
        dialect, body = request
        if dialect == "raw":
            with socket.create_connection((host, int(port)), timeout=10) as raw:
                raw.sendall(body + b"\r\n\r\n")
                raw.shutdown(socket.SHUT_WR)
                raw.recv(4096)
            answered.append(None)
            return
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            headers = {"Authorization": authorization} if authorization is not None else {}
            conn.request("POST", "/reports" if dialect == "json" else "/RPC2", body, headers)
            response = conn.getresponse()
            response.read()
            assert response.status in (200, 400, 403, 404, 411, 413)
            answered.append(response.status)
        finally:
            conn.close()

    try:
        send()
        assert len(answered) >= 1000
        # the server still answers, and the cook's state is as it was
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
        assert [item.to_json() for item in cook.engine.items.values()] == before
    finally:
        result = cook.finish()
    assert result.ok
