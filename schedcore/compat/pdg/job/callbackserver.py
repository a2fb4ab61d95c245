"""``pdg.job.callbackserver.CallbackServerMixin``: in Houdini it adds the result server to a
scheduler; here every scheduler has it (``startCallbackServer``...), so the mixin only keeps
Houdini-written class definitions and ``__init__`` calls working."""


class CallbackServerMixin:
    def __init__(self, *args, **kwargs):
        """Houdini passes ``compress_work_item_data``; nothing to keep here."""


__all__ = ["CallbackServerMixin"]
