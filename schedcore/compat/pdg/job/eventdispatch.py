"""``pdg.job.eventdispatch.EventDispatchMixin``: in Houdini it hands a scheduler the events its
jobs send over PDG's message queue (PDGNet). Here jobs report through the result server, which
every scheduler has, so the mixin only keeps Houdini-written class definitions and their
``__init__`` calls working; code that drives the message queue itself (``pdg.utils.mq``,
``pdgutils``) needs Houdini, and says so when it loads."""


class EventDispatchMixin:
    def __init__(self, *args, **kwargs):
        """Houdini's takes the scheduler and options; nothing to keep here."""


__all__ = ["EventDispatchMixin"]
