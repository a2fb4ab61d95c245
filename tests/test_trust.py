"""Who may report without the cook's secret: processes of the cook's own user on this
machine (the kernel names the owner of each connection), and the hosts of
``pdg_trustedhosts``. Jobs whose scheduler rebuilt the address (Afanasy's ``ip:port``) or set
no ``PDG_JOBID`` land; Houdini's ``PDGPingHelper`` reaches the bare address; another local
user and an untrusted host still cannot write."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedcore.peers import TrustedHosts, owners_known, socket_owner
from schedcore.workitem import WorkItemState as S

from .test_hostile import as_another_user
from .test_pdgcmd_calls import JOB, run_job
from .test_resultserver import cook  # noqa: F401 -- the fixture

SET = [["set_int_attrib", ["$ID", -1, "n", 1, 0, "$JOB"]]]
needs_owners = pytest.mark.skipif(not owners_known(), reason="this kernel does not name the "
                                  "owner of a TCP connection (no sock_diag/inet_diag)")


@needs_owners
def test_jobs_on_loopback_get_a_bare_address_and_report_without_the_secret(cook):  # noqa: F811
    c = cook(1)
    (item_id,) = c.ids
    assert "@" not in c.address and c.host == "127.0.0.1"
    # what pdgcmd's PDGPingHelper does with $PDG_RESULT_SERVER: split at ':' and connect
    host, port = c.address.split(":")
    socket.create_connection((host, int(port)), timeout=5).close()
    # no PDG_JOBID at all (Afanasy sets none): the job id is whatever pdgcmd finds
    env = {"PDG_RESULT_SERVER": c.address, "PDG_JOBID": "", "PDG_JOBID_VAR": "PDG_JOBID"}
    assert run_job(c, item_id, SET + [["success", ["$ID", 0, "$JOB"]]], **env) == \
        [{"ok": True}, {"ok": True}]
    assert c.engine.wait(20).ok and c.item(item_id).attribValue("n") == 1


@needs_owners
def test_another_local_user_without_the_secret_writes_nothing(cook):  # noqa: F811
    command, who = as_another_user()
    if who != "nobody":
        pytest.skip("needs another local user: run as root where `nobody` and runuser exist")
    c = cook(1)
    (item_id,) = c.ids
    env = {**c.scheduler.jobEnvironment(c.item(item_id)), "PDG_JOBID": "forged"}
    done = subprocess.run([*command, "-c", JOB, '[["set_int_attrib", ["$ID", -1, "n", 1, 0, '
                           '"$JOB"]], ["failed", ["$ID", 0, "$JOB"]]]'],
                          env=env, capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    assert "job id refused" in done.stdout and '"ok"' not in done.stdout, done.stdout
    assert c.item(item_id).state == S.Scheduled and not c.item(item_id).hasAttrib("n")
    c.finish()


@needs_owners
def test_the_kernel_names_the_owner_of_a_connection():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname()):
            accepted, peer = listener.accept()
            with accepted:
                assert socket_owner(peer, accepted.getsockname()) == os.geteuid()
                # no such connection on this machine (a farm host's): nobody owns it
                assert socket_owner((peer[0], peer[1] ^ 1), accepted.getsockname()) is None


@pytest.mark.usefixtures("outsiders_only")
def test_a_trusted_network_reports_without_the_secret(cook):  # noqa: F811
    trusted = cook(1, pdg_trustedhosts="10.9.0.0/16 127.0.0.0/8")
    (item_id,) = trusted.ids
    assert run_job(trusted, item_id, SET, PDG_RESULT_SERVER=trusted.bare,
                   PDG_JOBID="farm-31") == [{"ok": True}]
    assert trusted.item(item_id).attribValue("n") == 1
    trusted.finish()


@pytest.mark.usefixtures("outsiders_only")
def test_an_untrusted_host_needs_the_secret(cook):  # noqa: F811
    c = cook(1, pdg_trustedhosts="10.9.0.0/16")
    (item_id,) = c.ids
    assert "@" in c.address  # an outsider may connect: jobs carry the secret
    (refused,) = run_job(c, item_id, SET, PDG_RESULT_SERVER=c.bare, PDG_JOBID="farm-31")
    assert "job id refused" in refused["fault"] and "pdg_trustedhosts" in refused["fault"]
    assert run_job(c, item_id, SET) == [{"ok": True}]  # as the scheduler gave it
    c.finish()


def test_the_address_jobs_get(cook):  # noqa: F811
    beyond = cook(1, pdg_resultserverbind="0.0.0.0")
    assert "@" in beyond.address  # any host may connect: the secret rides along
    beyond.finish()
    assert beyond.engine.wait(20).ok
    everyone = cook(1, pdg_resultserverbind="0.0.0.0", pdg_trustedhosts="*")
    assert "@" not in everyone.address  # as open as Houdini, as asked
    everyone.finish()


def test_a_trusted_host_name_that_does_not_resolve_is_said(cook):  # noqa: F811
    c = cook(1, pdg_trustedhosts="farm-node-that-is-not-here.invalid 10.0.0.1")
    c.finish()
    assert any("farm-node-that-is-not-here.invalid" in w and "not trusted" in w
               for w in c.engine.wait(20).warnings)


networks = st.one_of(
    st.builds(lambda a, n: ipaddress.ip_network(f"{ipaddress.IPv4Address(a)}/{n}",
                                                strict=False),
              st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(lambda a, n: ipaddress.ip_network(f"{ipaddress.IPv6Address(a)}/{n}",
                                                strict=False),
              st.integers(0, 2**128 - 1), st.integers(0, 128)))
addresses = st.one_of(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
                      st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address))


@given(st.lists(networks, max_size=4), addresses)
def test_trusted_hosts_admit_exactly_their_networks(listed, address):
    trusted = TrustedHosts(", ".join(map(str, listed)))
    assert trusted.admits(str(address)) == any(address in n for n in listed)
    if isinstance(address, ipaddress.IPv4Address):  # as a dual-stack socket reports it
        assert trusted.admits(f"::ffff:{address}") == any(address in n for n in listed)
    assert TrustedHosts("*").admits(str(address)) and not TrustedHosts("").admits(str(address))

