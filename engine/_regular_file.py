"""Reading a path only when it is a regular file, and never more than a limit.

Opening a FIFO for reading blocks until a writer appears, and a device such
as ``/dev/zero`` never ends, so case and knowledge-base files are read only
when they are regular files. The path is opened without blocking and the
check is made with ``fstat`` on the open descriptor: a file swapped for a
FIFO between a check and the open cannot block either.
"""

from __future__ import annotations

import os
import stat

from spasm_advisor.errors import NotARegularFileError

__all__ = ["file_kind", "read_regular_file"]

_CHUNK = 1 << 20


_KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def file_kind(mode: int) -> str:
    """What a ``st_mode`` describes, in words: ``a folder``, ``a FIFO (named pipe)``, ``a regular file``..."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The first ``limit + 1`` bytes of a regular file (one more than the limit, so a caller sees it is too long).

    Raises:
        NotARegularFileError: ``path`` is not a regular file (it is not read).
        OSError: the file cannot be opened or read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFileError(file_kind(mode))
        chunks, remaining = [], limit + 1
        while remaining > 0:
            data = os.read(fd, min(remaining, _CHUNK))
            if not data:
                break
            chunks.append(data)
            remaining -= len(data)
        return b"".join(chunks)
    finally:
        os.close(fd)
