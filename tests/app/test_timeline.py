"""The Cook Viewer's timeline: bars where their times say, in the lanes that ran them, hover
and click, zoom and pan, the critical path, and a real cook followed live.

The items here are small dataclasses following the protocol the timeline reads (id, name,
node, state, dependencies, usage): they are its input, as the engine's items are."""

from __future__ import annotations

import enum
import shutil
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QToolTip

from schedcore.usage import ItemUsage
from schedstudio.cookview.chart import CANCELED, FAILED, MIN_BAR, tick_text
from schedstudio.cookview.lanes import Span, critical_path
from schedstudio.cookview.spans import CookSpans
from schedstudio.cookview.timeline import TimelineView, span_of
from schedstudio.document import Document
from schedstudio.window import MainWindow

from ..conftest import EXAMPLES

T0 = 1_700_000_000.0  # epoch seconds: the test cooks start here


class State(enum.Enum):
    Waiting = 3
    Scheduled = 4
    Cooking = 5
    CookedSuccess = 6
    CookedFail = 8
    CookedCancel = 9


def Usage(started=None, ended=None, queued=None, cpu=None, slot=None, **fields) -> ItemUsage:
    """The usage record a cook gives an item (``schedcore.usage.ItemUsage``), with the
    timeline's words: started, ended, queued (when it was handed over), cpu."""
    return ItemUsage(start=started, end=ended, submit=queued, cpu_user=cpu, slot=slot or "",
                     **fields)


@dataclass(eq=False)
class Item:
    id: int
    node: str
    state: State = State.CookedSuccess
    dependencies: tuple = ()
    usage: ItemUsage | None = None
    cook_duration: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.node}_{self.id}"


def ran(item_id, node, started, ended, slot="slot 1", state=State.CookedSuccess, deps=(),
        **usage) -> Item:
    return Item(item_id, node, state, tuple(deps),
                Usage(started=None if started is None else T0 + started,
                      ended=None if ended is None else T0 + ended, slot=slot, **usage))


@pytest.fixture
def view(qtbot):
    widget = TimelineView()
    widget.clock = lambda: T0 + 100  # the clock the view reads: fixed, so bars stay put
    widget.resize(900, 320)
    widget.show()
    qtbot.addWidget(widget)
    qtbot.waitExposed(widget)
    return widget


def pixel(view, x: float, y: float) -> QColor:
    return view.canvas.grab().toImage().pixelColor(int(x), int(y))


def send_mouse(widget, kind, pos: QPointF, button, buttons) -> None:
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, QPointF(widget.mapToGlobal(pos)),
                                               button, buttons, Qt.KeyboardModifier.NoModifier))


def wheel(widget, at: QPointF, delta: int) -> None:
    QApplication.sendEvent(widget, QWheelEvent(
        at, QPointF(widget.mapToGlobal(at)), QPoint(), QPoint(0, delta),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False))


# -- where bars go ----------------------------------------------------------------------------
def test_bars_sit_where_their_times_say_in_the_lanes_that_ran_them(view):
    render = ran(1, "render", 0, 10, slot="slot A")
    comp = ran(2, "comp", 5, 20, slot="slot B")
    view.add([render, comp])
    assert [row.label for row in view.lanes.rows] == ["slot A", "slot B"]
    first, second = view.bar_rect(1), view.bar_rect(2)
    assert first.left() == pytest.approx(view.x_of(T0))
    assert first.width() == pytest.approx(10 * view.scale)
    assert second.left() == pytest.approx(view.x_of(T0 + 5))
    assert second.right() == pytest.approx(view.x_of(T0 + 20))
    assert second.top() > first.bottom()  # its own lane, under the first
    assert pixel(view, *first.center().toTuple()) == view.colors["render"]
    assert pixel(view, *second.center().toTuple()) == view.colors["comp"]
    assert view.colors["render"] != view.colors["comp"]
    gap = view.x_of(T0 + 15)  # in the first lane, after its bar: nothing
    assert pixel(view, gap, first.center().y()) not in (view.colors["render"],
                                                        view.colors["comp"])
    assert "render" in view.legend.text() and "comp" in view.legend.text()


def test_failed_and_canceled_items_are_marked_and_a_wait_is_drawn_apart(view):
    view.add([ran(1, "gen", 0, 10, state=State.CookedFail),
              ran(2, "gen", 10, 20, state=State.CookedCancel),
              ran(3, "gen", 30, 40, queued=T0 + 20)])
    failed, canceled, waited = (view.bar_rect(i) for i in (1, 2, 3))
    top_edge = lambda rect: pixel(view, rect.center().x() + 1, rect.top())  # noqa: E731
    assert top_edge(failed) == QColor(FAILED)
    assert QColor(CANCELED) in (top_edge(canceled), pixel(view, canceled.center().x() + 4,
                                                          canceled.top()))
    wait_x = view.x_of(T0 + 25)
    wait_y = waited.top() - 3 + view.row_h - 5  # the thin line under the bars' row
    assert pixel(view, wait_x, wait_y).rgb() != pixel(view, wait_x, waited.center().y()).rgb()
    assert pixel(view, wait_x, waited.center().y()).rgb() == pixel(
        view, view.x_of(T0 + 25), waited.center().y() + 1).rgb()  # no bar while it waits


def test_items_of_no_length_at_one_instant_share_a_lane(view):
    """The items a node makes and cooks at once in the cook's own process (a wedge's):
    seen ended together, they are ticks at one instant, not a lane each."""
    made = [Item(i, "wedge", State.Waiting) for i in range(1, 7)]
    view.add(made)
    for item in made:
        item.state = State.CookedSuccess
    view.changed(made)
    assert len(view.lanes.rows) == 1 and len(view.lanes.rows[0].ids) == 6
    assert view.item_at(view.bar_rect(6).center()) == 6


def test_items_of_one_host_that_overlap_get_rows_of_their_own(view):
    view.add([ran(1, "a", 0, 10, slot=None, host="farm1"),
              ran(2, "a", 5, 15, slot=None, host="farm1"),
              ran(3, "a", 11, 20, slot=None, host="farm1")])
    assert [row.label for row in view.lanes.rows] == ["farm1", "farm1 (2)"]
    assert view.lanes.row_of[3] is view.lanes.row_of[1]  # it fits after the first


# -- hover and click --------------------------------------------------------------------------
def test_hover_shows_the_items_figures(qtbot, view):
    view.add([ran(7, "render", 2, 6.5, slot="slot 3", host="farm2", queued=T0 + 1,
                  cpu=4.5, peak_rss=123_000_000, exit_code=0, attempt=2)])
    rows = dict(view.figures(7))
    assert rows["node"] == "render" and rows["state"] == "CookedSuccess"
    assert rows["lane"] == "farm2 slot 3" and rows["host"] == "farm2"
    assert rows["wall"] == "4.50 s" and rows["CPU"] == "4.50 s"
    assert rows["peak RSS"] == "123.0 MB"
    assert rows["exit code"] == "0" and rows["attempt"] == "2"
    assert rows["queued"].endswith("(+0.00 s)") and rows["started"].endswith("(+1.00 s)")
    assert "native id" not in rows  # not known: not said
    at = view.bar_rect(7).center().toPoint()
    QApplication.sendEvent(view.canvas, QHelpEvent(QEvent.Type.ToolTip, at,
                                                   view.canvas.mapToGlobal(at)))
    qtbot.waitUntil(QToolTip.isVisible)
    assert "render_7" in QToolTip.text() and "123.0 MB" in QToolTip.text()
    QToolTip.hideText()


def test_a_click_selects_the_item_and_says_which(qtbot, view):
    view.add([ran(1, "a", 0, 10), ran(2, "b", 12, 20)])
    with qtbot.waitSignal(view.itemClicked) as clicked:
        qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton,
                         pos=view.bar_rect(2).center().toPoint())
    assert clicked.args == [2] and view.selected == 2
    with qtbot.assertNotEmitted(view.itemClicked):
        qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton,
                         pos=QPoint(int(view.x_of(T0 + 11)), int(view.bar_rect(1).center().y())))
    view.select(1)
    assert view.selected == 1


# -- zoom, pan, fit ---------------------------------------------------------------------------
def test_the_wheel_zooms_around_the_cursor_and_a_drag_pans(qtbot, view):
    view.add([ran(i, "a", 10 * i, 10 * i + 8) for i in range(10)])
    at = QPointF(400, 60)
    under, scale = view.time_at(at.x()), view.scale
    for delta in (120, 120, -120):
        wheel(view.canvas, at, delta)
        assert view.time_at(at.x()) == pytest.approx(under)
    assert view.scale == pytest.approx(scale * 1.0015 ** 120)
    assert not view.follow

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    before = view.t0
    start = QPointF(300, 60)
    send_mouse(view.canvas, QEvent.Type.MouseButtonPress, start, left, left)
    send_mouse(view.canvas, QEvent.Type.MouseMove, start + QPointF(40, 0), none, left)
    with qtbot.assertNotEmitted(view.itemClicked):  # a drag, not a click
        send_mouse(view.canvas, QEvent.Type.MouseButtonRelease, start + QPointF(40, 0),
                   left, none)
    assert view.t0 == pytest.approx(before - 40 / view.scale)


def test_fit_shows_the_whole_cook(qtbot, view):
    items = [ran(i, "a", 7 * i, 7 * i + 5, slot=f"s{i % 3}") for i in range(60)]
    view.add(items)
    view.zoom(20.0, 500)
    assert view.bar_rect(59).left() > view.canvas.width()  # zoomed in: the end out of view
    view.canvas.setFocus()
    qtbot.keyClick(view.canvas, Qt.Key.Key_A)
    assert view.follow
    for item in items:
        rect = view.bar_rect(item.id)
        assert view.gutter <= rect.left() and rect.right() <= view.canvas.width()
    view.zoom(3.0)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Home)
    assert view.bar_rect(59).right() <= view.canvas.width()


def test_the_axis_reads_in_seconds_and_minutes():
    assert tick_text(0.25, 0.05) == "0.25 s"
    assert tick_text(45, 5) == "45 s"
    assert tick_text(150, 30) == "2 min 30 s"
    assert tick_text(120, 60) == "2 min"
    assert tick_text(3900, 300) == "1 h 05 min"


# -- live -------------------------------------------------------------------------------------
def test_running_bars_grow_with_the_clock_and_lanes_come_as_items_do(view):
    cooking = ran(1, "a", 0, None, state=State.Cooking)
    view.add([cooking])
    assert view.time_at(view.bar_rect(1).right()) == pytest.approx(T0 + 100)
    view.clock = lambda: T0 + 160
    view._tick()
    assert view.time_at(view.bar_rect(1).right()) == pytest.approx(T0 + 160)
    assert view.bar_rect(1).right() <= view.canvas.width()  # followed: still in view
    other = ran(2, "b", 150, None, slot="slot 2", state=State.Cooking)
    view.changed([other])
    assert [row.label for row in view.lanes.rows] == ["slot 1", "slot 2"]
    cooking.state, cooking.usage = State.CookedSuccess, replace(cooking.usage, end=T0 + 155)
    view.changed([cooking])
    assert view.time_at(view.bar_rect(1).right()) == pytest.approx(T0 + 155)
    view.clear()
    assert not view.lanes.rows and view.bar_rect(1) is None


def test_without_usage_the_times_the_studio_saw_are_shown(view):
    now = [T0]
    view.clock = lambda: now[0]
    item = Item(1, "gen", State.Scheduled)
    quick = Item(2, "gen", State.Waiting, cook_duration=2.5)
    never = Item(3, "gen", State.Scheduled)
    slow = Item(5, "gen", State.Scheduled, cook_duration=10.0)
    after = Item(6, "gen", State.Waiting, dependencies=(item,), cook_duration=3.0)
    view.add([item, quick, never, slow, after])
    assert view.bar_rect(1) is None  # not started: no bar
    now[0] = T0 + 1
    item.state = State.Cooking
    view.changed([item])
    now[0] = T0 + 5
    item.state = quick.state = State.CookedSuccess  # quick: started and ended in one batch
    never.state = State.CookedCancel  # canceled before it ran: no bar
    slow.state = State.CookedSuccess  # ran 10 s, by its report, but was seen queued at T0
    after.state = State.CookedSuccess  # ran 3 s, by its report, after the first ended
    view.changed([after, item, quick, never, slow])
    assert view.lanes.spans[1] == Span(T0 + 1, T0 + 5, T0, "")
    assert view.lanes.spans[2] == Span(T0 + 2.5, T0 + 5, None, "")
    assert 3 not in view.lanes.spans
    assert view.lanes.spans[5] == Span(T0, T0 + 5, T0, "")  # no sooner than seen queued
    assert dict(view.figures(5))["cook time"] == "10.00 s (reported)"
    assert view.lanes.spans[6] == Span(T0 + 5, T0 + 5, None, "")  # not before its input
    assert [row.label for row in view.lanes.rows] == ["lane 1", "lane 2", "lane 3"]
    assert "as the studio saw them" in dict(view.figures(1))["times"]
    assert span_of(Item(4, "gen", State.Cooking)) is None  # nothing seen, nothing reported


def test_a_record_placed_when_first_shown_places_as_one_that_followed_live():
    now = [T0]
    live, later = CookSpans(lambda: now[0]), CookSpans(lambda: now[0], placing=False)
    items = [Item(i, "gen", State.Waiting, cook_duration=0.5 * i) for i in range(1, 9)]
    for record in (live, later):
        record.add(items)
    steps = [(items, State.Scheduled), (items[2:], State.Cooking),
             (items[:1] + items[2:], State.CookedSuccess)]  # the first never seen cooking
    for step, (changed, state) in enumerate(steps):
        now[0] = T0 + step
        for item in changed:
            item.state = state
        for record in (live, later):
            record.changed(changed)
    assert not later.lanes.spans
    later.place_all()
    assert later.lanes.spans == live.lanes.spans and sorted(live.lanes.spans) == [
        1, 3, 4, 5, 6, 7, 8]  # the second is still queued
    assert [r.ids for r in later.lanes.rows] == [r.ids for r in live.lanes.rows]


# -- the critical path ------------------------------------------------------------------------
def test_the_critical_path_follows_what_ended_last(qtbot, view):
    a = ran(1, "a", 0, 2)
    b = ran(2, "b", 0, 5, slot="slot 2")
    f = ran(6, "f", 0, 4, slot="slot 3")  # on no one's way
    c = ran(3, "c", 5, 7, deps=(a, b))
    d = ran(4, "d", 2, 3, deps=(a,), slot="slot 2")
    e = ran(5, "e", 7, 10, deps=(c, d))
    view.add([a, b, c, d, e, f])
    assert view.critical_path() == [2, 3, 5]
    view.critical_button.click()
    assert view.critical
    path_color = view.colors["b"]
    dimmed = pixel(view, *view.bar_rect(6).center().toTuple())
    assert pixel(view, *view.bar_rect(2).center().toTuple()) == path_color
    assert dimmed != view.colors["f"]  # off the path: dimmed
    view.set_critical_path(False)
    assert not view.critical_button.isChecked()
    assert pixel(view, *view.bar_rect(6).center().toTuple()) == view.colors["f"]


def test_the_critical_path_walks_past_a_dependency_that_never_ran():
    spans = {1: Span(0, 4), 3: Span(5, 6)}
    assert critical_path(spans, {3: [2, 1], 2: [], 1: []}.__getitem__) == [1, 3]


# -- any cook ---------------------------------------------------------------------------------
@st.composite
def cooks(draw):
    """Items in milliseconds (two starts in one lane are a millisecond apart at least),
    some in named slots or hosts, some where nothing says where, each depending on a few
    before it."""
    count = draw(st.integers(1, 40))
    items = []
    for item_id in range(1, count + 1):
        start = draw(st.one_of(st.integers(0, 20_000), st.sampled_from([0, 1_000])))
        length = draw(st.one_of(st.integers(0, 5_000), st.just(0)))
        state = draw(st.sampled_from([State.CookedSuccess, State.CookedSuccess,
                                      State.CookedFail, State.CookedCancel, State.Cooking]))
        place = draw(st.sampled_from([None, "s1", "s2", "host"]))
        deps = tuple(draw(st.lists(st.sampled_from(items), max_size=3, unique=True))
                     if items else ())
        usage = Usage(started=T0 + start / 1000,
                      ended=None if state is State.Cooking else T0 + (start + length) / 1000,
                      slot=place if place != "host" else None,
                      host="farm" if place == "host" else None)
        items.append(Item(item_id, f"n{item_id % 4}", state, deps, usage))
    return items


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=cooks())
def test_every_bar_is_hit_at_its_middle_and_the_critical_path_is_a_chain(view, items):
    view.clear()
    view.add(items)
    for item in items:
        span = view.lanes.spans[item.id]
        view.select(item.id)
        view.show_range(span.started - 0.002, (span.ended or view.clock()) + 0.002)
        rect = view.bar_rect(item.id)
        assert rect.width() >= MIN_BAR
        hit = view.item_at(rect.center())
        if hit != item.id:  # only another item of no length at the same instant, beside it
            other = view.lanes.spans[hit]
            assert span.started == span.ended == other.started == other.ended, (item, hit)
            assert view.lanes.row_of[hit] is view.lanes.row_of[item.id]
    path = view.critical_path()
    ended = [i for i in items if i.state is not State.Cooking]
    if not ended:
        assert path == []
        return
    last = max(i.usage.end for i in ended)
    assert view.lanes.spans[path[-1]].ended == last
    by_id = {i.id: i for i in items}
    for before, after in zip(path, path[1:], strict=False):
        assert by_id[before] in by_id[after].dependencies


# -- in the studio ----------------------------------------------------------------------------
def test_the_timeline_follows_a_real_cook_in_the_cook_viewer(qtbot, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    win = MainWindow(Document.open(tmp_path / "ex" / "wedge_summary.top.json"))
    win.show()
    try:
        qtbot.waitExposed(win)
        viewer = win.viewer
        with qtbot.waitSignal(win.bridge.cookFinished, timeout=90_000) as finished:
            assert win.cook()
        assert finished.args[0].ok
        assert viewer.timeline is None  # made when first shown: from what was recorded
        timeline = viewer.show_timeline()
        assert timeline.isVisible()
        items = win.bridge.items
        assert len(items) == 14 and set(timeline.lanes.spans) == {i.id for i in items}
        assert {str(i.node) for i in items} == set(timeline.data.nodes)
        timeline.fit()

        def clickable(item) -> bool:  # not one of several ticks at one instant, under the last
            timeline.select(item.id)  # in view, whichever lane it ran in
            return timeline.item_at(timeline.bar_rect(item.id).center()) == item.id

        render = next(i for i in items if str(i.node) == "render1" and clickable(i))
        with qtbot.waitSignal(timeline.itemClicked):
            qtbot.mouseClick(timeline.canvas, Qt.MouseButton.LeftButton,
                             pos=timeline.bar_rect(render.id).center().toPoint())
        assert [i.id for i in viewer.selected_items()] == [render.id]  # the table follows
        summary = next(i for i in items if str(i.node) == "summary1")
        viewer.select_item(summary.id)
        assert timeline.selected == summary.id  # and the timeline follows the table
        path = timeline.critical_path()
        assert path[-1] == summary.id and len(path) >= 2
        with qtbot.waitSignal(win.bridge.cookFinished, timeout=90_000):
            assert win.cook()  # a second cook starts afresh, followed live
        assert set(timeline.lanes.spans) == {i.id for i in win.bridge.items}
        assert timeline.selected is None
    finally:
        win.document.dirty = False
        win.close()
        win.deleteLater()
