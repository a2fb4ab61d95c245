"""The cook state's small parts: the transition table and the id flags."""

from hypothesis import given
from hypothesis import strategies as st

from schedcore.cookstate import IdFlags
from schedcore.transitions import LEGAL, Verdict, legal, report_verdict
from schedcore.workitem import WorkItemState as S

ENDS = {S.CookedSuccess, S.CookedCache, S.CookedFail, S.CookedCancel}


def test_an_item_ends_once_and_nothing_leaves_an_end():
    for old in S:
        for new in S:
            if old in ENDS or old in (S.Uncooked, S.Undefined, S.Dirty):
                assert not legal(old, new), f"{old.name} -> {new.name}"
    # the way an item moves: forward only
    order = [S.Waiting, S.Scheduled, S.Cooking]
    for old, targets in LEGAL.items():
        for new in targets:
            assert new in ENDS or new == S.Uncooked or order.index(new) > order.index(old)


@given(st.sampled_from(list(S)), st.booleans(),
       st.sampled_from([None, S.Cooking, S.CookedSuccess, S.CookedFail, S.CookedCancel]))
def test_a_report_changes_only_what_the_table_allows(state, handed, target):
    verdict = report_verdict(state, handed, target)
    if verdict is Verdict.APPLY and target is not None:
        assert handed and legal(state, target)
    if not handed or state == S.Uncooked:
        assert verdict is Verdict.REFUSE  # no job of the cook runs it
    if handed and state in ENDS and target is not None:
        assert verdict is Verdict.LATE  # after its end: nothing changes, nothing is said


@given(st.lists(st.integers(min_value=0, max_value=5000)),
       st.lists(st.one_of(st.integers(min_value=-10, max_value=10**7), st.text(max_size=2))))
def test_id_flags_hold_what_a_set_holds(added, probes):
    flags, expected = IdFlags(), set()
    for item_id in added:
        flags.add(item_id)
        expected.add(item_id)
    for probe in [*added, *probes]:
        assert (probe in flags) == (probe in expected)
