"""The TAB menu and the keyboard focus on a real X server (Xvfb with the openbox window
manager), driven with real key presses and clicks through xdotool: what offscreen tests
cannot see (which window gets the keys, whether a click outside closes a popup, where the
window manager lets it open). Skipped, saying why, where no such display can be started."""

from __future__ import annotations

import shutil
import time

from ..conftest import EXAMPLES
from .xdisplay import xdisplay  # noqa: F401  (the fixture)

STARTUP = 60  # seconds for the studio to show its window on a busy machine


def _inside(rect, area) -> bool:
    x, y, w, h = rect
    ax, ay, aw, ah = area
    return ax <= x and ay <= y and x + w <= ax + aw and y + h <= ay + ah


def _open(xdisplay, tmp_path):  # noqa: F811
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    studio = xdisplay.start_studio(tmp_path / "ex" / "wedge_summary.top.json", tmp_path)
    state = studio.wait_for(lambda s: s["window_active"] and s["node_points"], STARTUP,
                            "the studio's window, active")
    return studio, state


def _open_menu(xdisplay, studio, at) -> dict:  # noqa: F811
    xdisplay.move(*at)
    xdisplay.key("Tab")
    return studio.wait_for(lambda s: s["tab_menu"]["visible"] and s["active_popup"] == "tabmenu"
                           and s["focus"] == "tabmenu-search", 10, "the TAB menu, focused")


def test_tab_menu_is_a_popup_that_owns_the_keyboard(xdisplay, tmp_path):  # noqa: F811
    studio, state = _open(xdisplay, tmp_path)
    xdisplay.click(*state["node_points"]["wedge1"])
    state = studio.wait_for(lambda s: s["selected"] == "wedge1" and s["focus"] == "NetworkPanel",
                            10, "wedge1 selected, the network focused")
    nodes = state["nodes"]
    x, y, w, h = state["panel"]

    state = _open_menu(xdisplay, studio, (x + w // 2, y + h // 2))
    assert _inside(state["tab_menu"]["geometry"], state["screen"])
    xdisplay.type("genericx")
    xdisplay.key("BackSpace")  # once deleted the selected node: the network had the keys
    state = studio.wait_for(lambda s: s["tab_menu"]["search"] == "generic", 10, "typed")
    assert state["nodes"] == nodes and state["selected"] == "wedge1"
    assert state["tab_menu"]["entries"] == ["genericgenerator"]
    xdisplay.key("Return")
    state = studio.wait_for(lambda s: "genericgenerator1" in s["nodes"]
                            and not s["tab_menu"]["visible"], 10, "the node made")
    assert state["nodes"]["genericgenerator1"]["inputs"] == ["wedge1"]
    assert "genericgenerator1" in state["visible_nodes"]  # not behind the pane divider
    state = studio.wait_for(lambda s: s["focus"] == "NetworkPanel", 10, "focus back")

    _open_menu(xdisplay, studio, (x + w // 2, y + h // 2))
    xdisplay.key("Down", "Down", "Up")  # the arrows move the highlight, typing still filters
    state = studio.wait_for(lambda s: s["tab_menu"]["current"], 10, "a highlighted type")
    xdisplay.key("Escape")
    state = studio.wait_for(lambda s: not s["tab_menu"]["visible"]
                            and s["focus"] == "NetworkPanel", 10, "Esc closed it")
    assert "genericgenerator2" not in state["nodes"]

    _open_menu(xdisplay, studio, (x + 20, y + 20))
    px, py, pw, ph = state["pane"]
    xdisplay.click(px + pw - 30, py + ph - 30)  # a click outside closes it, as a menu does
    state = studio.wait_for(lambda s: not s["tab_menu"]["visible"] and not s["active_popup"],
                            10, "an outside click closed it")
    assert "genericgenerator2" not in state["nodes"]


def test_tab_menu_opens_on_screen_at_the_bottom_right(xdisplay, tmp_path):  # noqa: F811
    studio, state = _open(xdisplay, tmp_path)
    x, y, w, h = state["panel"]
    corner = (x + w - 4, y + h - 4)
    xdisplay.click(*corner)  # the network focused, nothing selected
    studio.wait_for(lambda s: s["focus"] == "NetworkPanel", 10, "the network focused")
    state = _open_menu(xdisplay, studio, corner)
    menu = state["tab_menu"]["geometry"]
    assert _inside(menu, state["screen"]), (menu, state["screen"])
    assert menu[0] <= corner[0] and menu[1] <= corner[1]  # it moved to fit
    xdisplay.screenshot(tmp_path / "tabmenu-x.png")
    xdisplay.key("Escape")
    studio.wait_for(lambda s: not s["tab_menu"]["visible"], 10, "closed")


def test_keys_reach_the_network_once_the_menu_is_gone(xdisplay, tmp_path):  # noqa: F811
    studio, state = _open(xdisplay, tmp_path)
    xdisplay.click(*state["node_points"]["render1"])
    studio.wait_for(lambda s: s["selected"] == "render1", 10, "render1 selected")
    x, y, w, h = state["panel"]
    _open_menu(xdisplay, studio, (x + w // 2, y + h // 2))
    xdisplay.key("Escape")
    studio.wait_for(lambda s: not s["tab_menu"]["visible"], 10, "closed")
    started = time.monotonic()
    xdisplay.key("Delete")  # the network has the keyboard again
    state = studio.wait_for(lambda s: "render1" not in s["nodes"], 10, "render1 deleted")
    assert time.monotonic() - started < 10


def test_ctrl_click_selects_several_and_delete_takes_them_in_one_undo(xdisplay,  # noqa: F811
                                                                       tmp_path):
    studio, state = _open(xdisplay, tmp_path)
    xdisplay.click(*state["node_points"]["wedge1"])
    studio.wait_for(lambda s: s["selected_all"] == ["wedge1"], 10, "wedge1 selected")
    xdisplay.move(*state["node_points"]["render1"])
    xdisplay.run("xdotool", "keydown", "ctrl", "click", "1", "keyup", "ctrl")
    studio.wait_for(lambda s: s["selected_all"] == ["wedge1", "render1"], 10,
                    "render1 added to the selection")
    xdisplay.key("Delete")
    state = studio.wait_for(lambda s: not {"wedge1", "render1"} & set(s["nodes"]), 10,
                            "both deleted")
    assert state["undo"] == "Delete wedge1, render1"
    xdisplay.key("ctrl+z")
    studio.wait_for(lambda s: {"wedge1", "render1"} <= set(s["nodes"]), 10, "both back")

