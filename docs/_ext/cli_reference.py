"""The ``schedcore`` command's parser for the manual's CLI reference.

sphinx-argparse reads help texts as reStructuredText, where ``(*.top.json)`` opens an
emphasis that never closes. This returns ``schedcore.cli.parser()`` itself, every help text
and description escaped, so the reference says exactly what ``schedcore --help`` says.
"""

from __future__ import annotations

import argparse
import re

from schedcore.cli import parser as schedcore_parser

_MARKUP = re.compile(r"([\\*`|_])")


def _escaped(text):
    return _MARKUP.sub(r"\\\1", text) if isinstance(text, str) else text


def _escape(parser: argparse.ArgumentParser) -> None:
    parser.description = _escaped(parser.description)
    parser.epilog = _escaped(parser.epilog)
    for action in parser._actions:
        if action.help is not argparse.SUPPRESS:
            action.help = _escaped(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = _escaped(choice.help)
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                _escape(sub)


def parser() -> argparse.ArgumentParser:
    """``schedcore.cli.parser()`` with its texts escaped for reStructuredText."""
    top = schedcore_parser()
    _escape(top)
    return top
