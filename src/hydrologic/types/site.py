"""Where in the user's program something was built.

Every node, nondet token and proof records the first stack frame outside hydrologic, so that
errors and simulator traces point at the user's line rather than at our internals.
"""

from __future__ import annotations

import inspect
import os
import sysconfig
from dataclasses import dataclass

__all__ = ["Site", "caller_site", "is_internal"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Site:
    """A file:line in user code (or ``<unknown>`` if no user frame was found)."""

    file: str
    line: int
    function: str = ""

    def __str__(self) -> str:
        # Line 0 means "the file as a whole" (e.g. a program file that lacks a function).
        return f"{self.short_file}:{self.line}" if self.line > 0 else self.short_file

    @property
    def known(self) -> bool:
        """Was a user frame (or file) found at all?"""
        return self.file != UNKNOWN_SITE.file

    @property
    def short_file(self) -> str:
        """The path relative to the working directory when it is below it, for readable messages."""
        try:
            rel = os.path.relpath(self.file)
        except ValueError:  # pragma: no cover - different drive on Windows
            return self.file
        return self.file if rel.startswith("..") else rel


UNKNOWN_SITE = Site("<unknown>", 0)


def _scripts_dir() -> str:
    try:
        return os.path.abspath(sysconfig.get_path("scripts"))
    except KeyError:  # pragma: no cover - unusual installation scheme
        return ""


_SCRIPTS_DIR = _scripts_dir()


def is_internal(filename: str) -> bool:
    """Is ``filename`` part of the hydrologic package (not the user's program)?

    The ``hydrologic`` console script and Python's frozen modules (``runpy`` for ``python -m``)
    count as internal too: neither is a line the user wrote.
    """
    if filename.startswith("<frozen"):
        return True
    path = os.path.abspath(filename)
    if path.startswith(_PACKAGE_DIR + os.sep):
        return True
    return bool(_SCRIPTS_DIR) and os.path.dirname(path) == _SCRIPTS_DIR and os.path.basename(path) == "hydrologic"


def caller_site() -> Site:
    """The innermost frame that is not part of the hydrologic package."""
    frame = inspect.currentframe()  # this function's frame: internal, so skipped like the others
    while frame is not None:
        filename = frame.f_code.co_filename
        if not is_internal(filename):
            return Site(filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return UNKNOWN_SITE
