"""Values substituted into commands cannot run anything: file names and attributes are quoted
for the shell where they land, whatever they hold."""

from __future__ import annotations

import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from schedcore.engine import Engine
from schedcore.tokens import expand_command
from schedcore.workitem import WorkItem

from .conftest import make_network

# every place a value lands in a command; each prints it back (printf: echo may unescape)
PLACES = ["printf %s @v", "printf %s '@v'", 'printf %s "@v"', "printf %s pre_@v.post",
          "sh -c 'printf %s @v'", 'sh -c "printf %s @v"', "sh -c 'printf %s \"@v\"'",
          "bash -c \"sh -c 'printf %s @v'\"",
          "printf '%s' @v.0"]
HOSTILE = ["x$(touch PWNED).exr", "y;touch PWNED;.exr", "`touch PWNED`", "a b'c\".exr",
           "it's", "$HOME", "--x", "tab\there", "new\nline", "\\$(touch PWNED)", "*", "~",
           "!x", "a&&touch PWNED", "|touch PWNED", "'\"'\"'", ""]


def run(command: str, cwd) -> str:
    return subprocess.run(["/bin/sh", "-c", command], capture_output=True, cwd=cwd,
                          timeout=10).stdout.decode("utf-8", "surrogateescape")


def item_with(value: str) -> WorkItem:
    item = WorkItem(1, "n", 0)
    item.setStringAttrib("v", value)
    return item


@settings(max_examples=150, deadline=None, derandomize=True)
@given(value=st.one_of(st.sampled_from(HOSTILE),
                       st.text(st.characters(blacklist_categories=("Cs",),
                                             blacklist_characters="\x00"), max_size=20)),
       place=st.sampled_from(PLACES))
def test_any_value_in_any_place_is_printed_back_and_runs_nothing(tmp_path_factory, value,
                                                                  place):
    folder = tmp_path_factory.mktemp("q")
    command = expand_command(place, item_with(value))
    assert run(command, folder) == ("pre_" + value + ".post" if "pre_" in place else value)
    assert_nothing_ran(folder, command)


def assert_nothing_ran(folder, command: str) -> None:
    run(command, folder)
    assert not (folder / "PWNED").exists(), command


def test_raw_values_are_inserted_as_they_are(tmp_path):
    command = expand_command("printf %s @v:raw", item_with("$((6*7))"))
    assert command == "printf %s $((6*7))" and run(command, tmp_path) == "42"


def test_file_pattern_items_with_hostile_names_are_copied_not_run(tmp_path):
    """The reported attack: a File Pattern over files a colleague named, each copied with
    `cp @pdg_input converted/`; and the same inside `sh -c '...'`."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    names = ["x$(id>PWNED).exr", "y;id>PWNED;.exr", "z`id>PWNED`.exr", "w $(id) w.exr"]
    for name in names:
        (incoming / name).write_text(name)
    (tmp_path / "converted").mkdir()
    (tmp_path / "again").mkdir()
    net = make_network(tmp_path, [
        {"name": "files", "type": "filepattern", "parms": {"pattern": "$HIP/incoming/*.exr"}},
        {"name": "copy", "type": "genericgenerator", "inputs": ["files"],
         "parms": {"command": "cp @pdg_input converted/"}},
        {"name": "copy2", "type": "genericgenerator", "inputs": ["files"],
         "parms": {"command": "sh -c 'cp @pdg_input again/ && echo copied'"}}])
    result = Engine(net, journal=False).run()
    assert result.ok, [i.reason for i in result.items]
    assert sorted(p.name for p in (tmp_path / "converted").iterdir()) == sorted(names)
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == sorted(names)
    assert not list(tmp_path.rglob("PWNED"))


def item_with_inputs(paths) -> WorkItem:
    parent = WorkItem(1, "up")
    for path in paths:
        parent.addOutputFile(path)
    return WorkItem(2, "down", dependencies=(parent,))


def test_pdg_inputs_is_one_quoted_word_per_input_file(tmp_path):
    """``@pdg_inputs`` is every input file, space-separated as in Houdini: bare in a command,
    each file one shell word, quoted (``ls -d @pdg_inputs`` lists three files, not one file
    named after all three); inside quotes the list stays in those quotes, as one word."""
    names = ["a.exr", "b c.exr", "x$(touch PWNED).exr"]
    for name in names:
        (tmp_path / name).write_text("")
    item = item_with_inputs([str(tmp_path / name) for name in names])
    listed = run(expand_command("ls -d @pdg_inputs", item), tmp_path).splitlines()
    assert listed == [str(tmp_path / name) for name in names]
    words = "printf '<%s>' @pdg_inputs; sh -c 'printf \"[%s]\" @pdg_inputs'"
    out = run(expand_command(words, item), tmp_path)
    each = [str(tmp_path / name) for name in names]
    assert out == "".join(f"<{p}>" for p in each) + "".join(f"[{p}]" for p in each)
    assert run(expand_command('printf "<%s>" "@pdg_inputs"', item), tmp_path) == \
        "<" + " ".join(each) + ">"
    assert_nothing_ran(tmp_path, expand_command("ls -d @pdg_inputs", item))
    assert run(expand_command("printf '<%s>' x @pdg_inputs", item_with_inputs([])),
               tmp_path) == "<x>"  # no input files: no words
