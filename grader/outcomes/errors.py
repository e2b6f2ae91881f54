"""The library's usage error, importable without torch."""


class GraderError(Exception):
    """A usage problem the user can fix: the message is one line saying how."""
