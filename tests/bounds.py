"""Bounds on the work a block of code does, counted rather than timed.

A machine shared with other jobs can run any code slowly, so no test limits
wall-clock time. These count what the code does instead: the function calls
it makes (Python and built-in, through :func:`sys.setprofile`) and the bytes
the process reads from files (``rchar`` in ``/proc/self/io``). Both counts
are the same on an idle and a loaded machine.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_IO = Path("/proc/self/io")


@contextlib.contextmanager
def calls_at_most(limit: int) -> Iterator[None]:
    """Fail if the block makes more than ``limit`` function calls (Python and built-in)."""
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(count)
    try:
        yield
    finally:
        sys.setprofile(previous)
    assert calls <= limit, f"{calls:,} function calls (bound {limit:,})"


def _bytes_read() -> int:
    for line in _IO.read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@contextlib.contextmanager
def bytes_read_at_most(limit: int) -> Iterator[None]:
    """Fail if the process reads more than ``limit`` bytes (files, pipes) during the block."""
    if not _IO.exists():
        pytest.skip("counting bytes read needs /proc/self/io (Linux)")
    before = _bytes_read()
    yield
    read = _bytes_read() - before
    assert read <= limit, f"{read:,} bytes read (bound {limit:,})"
