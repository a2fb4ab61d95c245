"""How many work items a cook may make: a runaway parameter (``itemcount`` 10^7, a wedge
over a million values) fails its node at once, naming it, instead of filling the memory."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import CookError

NODE_VAR, COOK_VAR = "SCHEDCORE_MAX_NODE_ITEMS", "SCHEDCORE_MAX_ITEMS"
DEFAULT_NODE, DEFAULT_COOK = 250_000, 1_000_000


class TooManyItems(CookError):
    """A node would make more items than a limit allows."""


@dataclass(frozen=True)
class ItemLimits:
    node: int = DEFAULT_NODE  # items one node may make
    cook: int = DEFAULT_COOK  # items the whole cook may make

    @classmethod
    def configured(cls, node: int | None = None, cook: int | None = None) -> ItemLimits:
        """The limits given, else those of the environment, else the defaults."""
        return cls(_limit(node, NODE_VAR, DEFAULT_NODE), _limit(cook, COOK_VAR, DEFAULT_COOK))

    def exceeded(self, node_name: str, node_items: int, cook_items: int,
                 cause: str = "") -> str:
        """Why making one more item of ``node_name`` is refused ("" when it is not)."""
        if node_items >= self.node:
            what, limit, how = "a node", self.node, f"--max-node-items or {NODE_VAR}"
        elif cook_items >= self.cook:
            what, limit, how = "a cook", self.cook, f"--max-items or {COOK_VAR}"
        else:
            return ""
        cause = f" ({cause})" if cause else ""
        return (f"node {node_name} would make more than {limit:,} work items{cause}, the "
                f"most {what} may make; lower it, or raise the limit with {how}")


def _limit(given: int | None, var: str, default: int) -> int:
    if given is None:
        text = os.environ.get(var, "").strip()
        if not text:
            return default
        try:
            given = int(text)
        except ValueError:
            raise CookError(f"{var}={text!r} is not a whole number of work items") from None
    if given < 1:
        raise CookError(f"the limit of work items must be at least 1, not {given} "
                        f"({var} or its option)")
    return given
