"""Random requests against a live result server and a shared server: they keep answering
and apply nothing."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import struct
import threading
import xmlrpc.client

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schedcore.jobs import pdgserver
from schedcore.resultserver import MAX_BODY
from schedcore.rpcmethods import XMLRPC_METHODS

from .test_resultserver import Cook, basic

pytestmark = pytest.mark.usefixtures("outsiders_only")  # random bytes come from outsiders

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
        conn.request("GET", "/", headers={"Authorization": basic(cook.secret)})
        assert conn.getresponse().status == 200
        conn.close()
        assert [item.to_json() for item in cook.engine.items.values()] == before
    finally:
        result = cook.finish()
    assert result.ok


# == GET paths, query strings, deep nesting ===============================================
no_line_breaks = st.binary(max_size=60).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b""))
query_values = st.one_of(st.sampled_from([b"", b"0", b"-1", b"99999999999999999999", b"abc",
                                          b"%00", b"\xb2"]), no_line_breaks)
queries = st.lists(st.tuples(st.sampled_from([b"key", b"tail", b"html", b"x", b""]),
                             query_values), max_size=6).map(
    lambda pairs: b"&".join(k + b"=" + v for k, v in pairs))
paths = st.builds(lambda prefix, rest, query: prefix + rest + (b"?" + query if query else b""),
                  st.sampled_from([b"/", b"/status/", b"/log/", b"//", b"/status/0/", b"",
                                   b"/log/" + b"9" * 5000, b"*", b"http://x/log/"]),
                  no_line_breaks, queries)
ranges = st.one_of(st.none(), st.sampled_from(["bytes=0-0", "bytes=-1", "bytes=5-", "bytes=9-2",
                                               "bytes=-", "bytes=0-1,2-3", "items=1-2"]),
                   st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30))


def nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    if kind == "dict":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return (b"<methodCall><methodName>success</methodName><params><param>"
            + b"<value><array><data>" * depth + b"</data></array></value>" * depth
            + b"</param></params></methodCall>")


def exchange(host, port, data: bytes) -> bytes:
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(data)
        raw.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := raw.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def test_random_get_paths_queries_and_deep_nesting_change_nothing(tmp_path):
    """With the cook's secret: what is fuzzed is what is read after the credential."""
    cook = Cook(tmp_path, 3)
    host, port = cook.host, cook.port
    auth = f"Authorization: {basic(cook.secret)}\r\n".encode()
    before = [item.to_json() for item in cook.engine.items.values()]
    codes = []

    @settings(max_examples=400, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(
        st.tuples(st.just("get"), paths, ranges),
        st.tuples(st.just("nested"), st.integers(1, 200_000),
                  st.sampled_from(["list", "dict", "xml"]))))
    @example(("nested", 200_000, "xml"))  # just over the server's limit
    def send(request):
        if request[0] == "get":
            _, path, byte_range = request
            extra = f"Range: {byte_range}\r\n".encode() if byte_range is not None else b""
            data = b"GET " + (path or b"/") + b" HTTP/1.1\r\nHost: x\r\n" + auth + extra \
                + b"\r\n"
        else:
            _, depth, kind = request
            body = nested(depth, kind)
            target = b"/RPC2" if kind == "xml" else b"/reports"
            data = (b"POST " + target + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: "
                    + str(len(body)).encode() + b"\r\n\r\n")
            if len(body) > MAX_BODY:
                # refused on its declared length, before a byte of it is read: a client still
                # sending would meet a closed connection, so only the head is sent
                assert status_of(exchange(host, port, data)) == 413
                codes.append(413)
                return
            data += body
        code = status_of(exchange(host, port, data))
        assert 200 <= code < 500, (data[:80], code)
        codes.append(code)

    try:
        send()
        assert len(codes) >= 400
        assert [item.to_json() for item in cook.engine.items.values()] == before
        assert status_of(exchange(host, port, b"GET / HTTP/1.1\r\nHost: x\r\n" + auth
                                  + b"\r\n")) == 200
    finally:
        result = cook.finish()
    assert result.ok


# == the shared server's frames ===========================================================
def frame(body: bytes, size: int | None = None) -> bytes:
    return struct.pack(">I", len(body) if size is None else size) + body


json_messages = st.one_of(
    values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"op": st.one_of(st.sampled_from(["ping", "exec", "quit", "stop"]),
                                           values)},
                          optional={"script": st.text(max_size=20), "item": values,
                                    "env": values}).map(lambda v: json.dumps(v).encode()))
# frames a stranger or a careless client sends: the right token is never drawn with an op
# that changes the server (exec, quit)
frames = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda token, message: frame(token) + frame(message),
              st.one_of(st.binary(max_size=40), st.sampled_from([b"", b"secre", b"secret\x00",
                                                                 b"SECRET"])),
              json_messages),
    st.builds(lambda token, size, rest: frame(token) + frame(rest, size),
              st.sampled_from([b"secret", b"guess"]), st.integers(0, 2**32 - 1),
              st.binary(max_size=50)),
    st.builds(lambda body: frame(b"secret") + frame(body), st.one_of(
        st.binary(max_size=100), st.just(b"[" * 100_000 + b"]" * 100_000),
        st.just(json.dumps({"op": "bogus"}).encode()), st.just(b'"a string"'))))


def test_random_shared_server_frames_change_nothing():
    listener = socket.create_server(("127.0.0.1", 0))
    server = pdgserver.CommandServer(listener, "secret", auth_timeout=1)
    thread = threading.Thread(target=server.serve)
    thread.start()
    info = {"host": "127.0.0.1", "port": listener.getsockname()[1], "token": "secret"}
    scope = dict(server.scope)
    sent = []

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(frames)
    def send(data):
        with socket.create_connection((info["host"], info["port"]), timeout=10) as conn:
            try:
                conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
                answer = conn.recv(65536)  # an answer or the close, never a hang
            except OSError:  # closed on us while we still sent: as good as an answer
                answer = b""
        if answer:
            (size,) = struct.unpack(">I", answer[:4])
            assert json.loads(answer[4:4 + size])["ok"] in (True, False)
        sent.append(data)

    try:
        send()
        assert len(sent) >= 300
        answer = pdgserver.request(info, {"op": "ping"})
        assert answer["ok"] and answer["commands"] == 0 and server.scope == scope
        assert thread.is_alive()
    finally:
        server.stop()
        thread.join()
