"""TOP node types: the built-ins, by type name."""

from ..errors import did_you_mean
from . import builtin, sharedserver
from .base import NodeType

NODE_TYPES: dict[str, NodeType] = {
    cls.type_name: cls()
    for cls in builtin.NODE_TYPE_CLASSES + sharedserver.NODE_TYPE_CLASSES}


def node_type(name: str) -> NodeType:
    try:
        return NODE_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown node type {name!r}" + did_you_mean(name, NODE_TYPES)) from None


__all__ = ["NODE_TYPES", "NodeType", "node_type"]
