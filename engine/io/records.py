r"""Reading batch input one record at a time, bounded by bytes: JSON Lines lines and CSV rows.

A reader never holds more than one record of at most ``limit`` bytes plus
one block of input, however the input is shaped: a record over the limit
(a 2 GB line, ``/dev/zero``, a CSV field of a million characters) is read
past without being kept and comes out as one :class:`Record` whose
``problem`` says so, and the next record is read as usual. Records come out
in input order with the line they start on.

* **JSON Lines**: one record per line (ended by ``\n``; a ``\r`` before it
  is dropped); blank lines are not records; a UTF-8 byte order mark at the
  start of the input is dropped.
* **CSV**: rows exactly as Python's :func:`csv.reader` reads them with the
  default (Excel) dialect from a file opened with ``newline=""`` (quoted
  fields may hold commas and line breaks; ``""`` is a quote), but without
  its field size limit (131,072 characters) and with the record limit
  instead. A UTF-8 byte order mark at the start is dropped; a row whose
  bytes are not UTF-8 comes out with a problem.

Each reader also hashes the bytes it reads: :meth:`RecordReader.checkpoint`
gives the offset just after the last record read and the SHA-256 of the
input up to there, which is how ``batch --resume`` knows the input did not
change before the point it resumes from.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

__all__ = ["BLOCK_SIZE", "CsvReader", "JsonLinesReader", "Record", "RecordReader"]

#: Bytes read from the input at a time.
BLOCK_SIZE = 1 << 16

_BOM = b"\xef\xbb\xbf"
_CSV_LINE_END = re.compile(rb"\r\n?|\n")
# Bytes that are not UTF-8 decode to these under "surrogateescape".
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True, slots=True)
class Record:
    """One input record: the line it starts on and its content, or why it has none.

    Attributes:
        line: the 1-based line of the input the record starts on.
        payload: JSON Lines: the line's bytes; CSV: the row's cells; None
            when there is a ``problem``.
        problem: why the record cannot be read (over the size limit, not
            UTF-8), or None.
    """

    line: int
    payload: bytes | tuple[str, ...] | None
    problem: str | None = None


class RecordReader:
    """The common part of the readers: the input in bounded pieces, offsets and the running hash."""

    def __init__(self, stream: IO[bytes], *, limit: int, block_size: int = BLOCK_SIZE) -> None:
        """Read records of at most ``limit`` bytes from ``stream``, ``block_size`` bytes at a time."""
        if limit < 1:
            raise ValueError(f"the record limit must be at least 1 byte, got {limit}")
        self._read = getattr(stream, "read1", stream.read)
        self.limit = limit
        self.block_size = max(block_size, 4)
        self._hash = hashlib.sha256()
        self._consumed = 0
        self._mark: tuple[int, hashlib._Hash] = (0, self._hash.copy())

    def _too_large(self) -> str:
        return f"the record is larger than the limit of {self.limit:,} bytes"

    def _consume(self, piece: bytes) -> None:
        self._hash.update(piece)
        self._consumed += len(piece)

    def _mark_record_end(self) -> None:
        self._mark = (self._consumed, self._hash.copy())

    def checkpoint(self) -> tuple[int, str]:
        """The offset just after the last record read (or the header), and the SHA-256 (hex) of the input before it."""
        offset, state = self._mark
        return offset, state.hexdigest()

    def _line_end(self, buffer: bytes, start: int, eof: bool) -> int:
        """Where the line starting at ``start`` ends (after its terminator), or -1 if more input is needed."""
        end = buffer.find(b"\n", start)
        return -1 if end < 0 else end + 1

    def _pieces(self) -> Iterator[tuple[bytes, bool]]:
        """The input as pieces of at most one block each, flagged when the piece ends a physical line."""
        buffer, start, eof, in_line = b"", 0, False, False
        while True:
            end = self._line_end(buffer, start, eof)
            if end >= 0:
                yield buffer[start:end], True
                start, in_line = end, False
                continue
            pending = len(buffer) - start
            if pending >= self.block_size:
                cut = len(buffer) - (buffer.endswith(b"\r") and pending > 1)  # keep \r with a \n that may follow
                yield buffer[start:cut], False
                start, in_line = cut, True
                continue
            if eof:
                if pending or in_line:  # the last line has no line end
                    yield buffer[start:], True
                return
            data = self._read(self.block_size)
            if data:
                buffer, start = buffer[start:] + data, 0
            else:
                eof = True


class JsonLinesReader(RecordReader):
    """JSON Lines records: each non-blank line, as bytes, at most ``limit`` bytes long."""

    def __iter__(self) -> Iterator[Record]:
        """Every record of the input, in order."""
        line, parts, size, over, content_seen = 0, [], 0, False, False
        for piece, ends_line in self._pieces():
            if self._consumed == 0 and piece.startswith(_BOM):
                self._consume(_BOM)
                piece = piece[len(_BOM) :]
            self._consume(piece)
            content_seen = content_seen or bool(piece.strip())
            size += len(piece)
            if not over:
                parts.append(piece)
                # Two bytes of slack for a \r\n line end.
                over = size > self.limit + 2
                if over:
                    parts = []
            if not ends_line:
                continue
            line += 1
            # A blank line is not a record, however long its whitespace runs.
            if content_seen:
                data = b"".join(parts).rstrip(b"\r\n")
                self._mark_record_end()
                if over or len(data) > self.limit:
                    yield Record(line, None, self._too_large())
                else:
                    yield Record(line, data)
            parts, size, over, content_seen = [], 0, False, False


# The states of CPython's CSV reader (Modules/_csv.c) that the Excel dialect uses.
_START_RECORD, _START_FIELD, _IN_FIELD, _IN_QUOTED, _QUOTE_IN_QUOTED, _EAT_CRNL = range(6)
_UNQUOTED_END = re.compile(r"[,\r\n]")


class _CsvParser:
    """The CSV state machine, fed one physical line (or part of one) at a time.

    Mirrors CPython's reader for delimiter ``,``, quote ``"``, ``doublequote``
    on, no escape character, ``strict`` off. With ``keep`` off it only
    follows the quoting, to find where a record too large to keep ends.
    """

    def __init__(self) -> None:
        self.state = _START_RECORD
        self.fields: list[str] = []
        self.field: list[str] = []
        self.keep = True

    def start_record(self) -> None:
        self.state, self.fields, self.field, self.keep = _START_RECORD, [], [], True

    def drop(self) -> None:
        """Stop keeping this record's text (it is too large); keep following its quoting."""
        self.keep, self.fields, self.field = False, [], []

    def _save(self) -> None:
        if self.keep:
            self.fields.append("".join(self.field))
        self.field = []

    def feed(self, text: str) -> None:
        """Process the characters of part of a physical line (its line end included, when it has one)."""
        keep, i, n = self.keep, 0, len(text)
        while i < n:
            state = self.state
            if state == _IN_QUOTED:
                j = text.find('"', i)
                if j < 0:
                    if keep:
                        self.field.append(text[i:])
                    return
                if keep:
                    self.field.append(text[i:j])
                self.state, i = _QUOTE_IN_QUOTED, j + 1
            elif state == _IN_FIELD:
                found = _UNQUOTED_END.search(text, i)
                j = found.start() if found is not None else n
                if keep:
                    self.field.append(text[i:j])
                if found is None:
                    return
                self._save()
                self.state, i = (_START_FIELD if text[j] == "," else _EAT_CRNL), j + 1
            elif state == _QUOTE_IN_QUOTED:
                char, i = text[i], i + 1
                if char == '"':  # "" is a quote inside a quoted field
                    if keep:
                        self.field.append('"')
                    self.state = _IN_QUOTED
                elif char == ",":
                    self._save()
                    self.state = _START_FIELD
                elif char in "\r\n":
                    self._save()
                    self.state = _EAT_CRNL
                else:  # not strict: the character is kept and the field goes on unquoted
                    if keep:
                        self.field.append(char)
                    self.state = _IN_FIELD
            elif state == _EAT_CRNL:
                i += 1  # only the rest of a line end can follow: pieces end at line ends
            else:  # _START_RECORD or _START_FIELD
                char = text[i]
                if char in "\r\n":
                    if state == _START_FIELD:
                        self._save()
                    self.state, i = _EAT_CRNL, i + 1
                elif char == '"':
                    self.state, i = _IN_QUOTED, i + 1
                elif char == ",":
                    self._save()
                    self.state, i = _START_FIELD, i + 1
                else:
                    self.state = _IN_FIELD

    def end_line(self) -> bool:
        """The end of a physical line; True when it ends the record."""
        if self.state == _IN_QUOTED:
            return False  # a line break inside quotes is part of the field
        if self.state in (_START_FIELD, _IN_FIELD, _QUOTE_IN_QUOTED):
            self._save()
        self.state = _START_RECORD
        return True

    def end_input(self) -> bool:
        """The end of the input; True when an unterminated quoted field ends a record there."""
        if self.state != _IN_QUOTED:
            return False
        self._save()
        self.state = _START_RECORD
        return True


class CsvReader(RecordReader):
    """CSV rows, each at most ``limit`` bytes (its line breaks included)."""

    def _line_end(self, buffer: bytes, start: int, eof: bool) -> int:
        # Lines end at \n, \r\n or a lone \r, as with open(..., newline="").
        found = _CSV_LINE_END.search(buffer, start)
        if found is None or (found.group() == b"\r" and found.end() == len(buffer) and not eof):
            return -1
        return found.end()

    def rows(self) -> Iterator[Record]:
        """Every row of the input, the header and blank rows (no cells) included, in order."""
        decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        parser = _CsvParser()
        line, first_line, size = 0, 1, 0
        for piece, ends_line in self._pieces():
            if self._consumed == 0 and piece.startswith(_BOM):
                self._consume(_BOM)
                piece = piece[len(_BOM) :]
            self._consume(piece)
            if not piece and parser.state == _START_RECORD:
                continue  # the end of an input that held only a byte order mark
            size += len(piece)
            if parser.keep and size > self.limit:
                parser.drop()
            text = decoder.decode(piece, final=ends_line)
            if parser.keep and ends_line and parser.state == _START_RECORD and '"' not in text:
                content = text.rstrip("\r\n")  # the common row: no quotes, one line
                parser.fields = content.split(",") if content else []
                parser.state = _START_RECORD
                done = True
            else:
                parser.feed(text)
                done = ends_line and parser.end_line()
            if ends_line:
                line += 1
            if done:
                yield self._row(first_line, parser)
                parser.start_record()
                first_line, size = line + 1, 0
        if parser.end_input():
            yield self._row(first_line, parser)

    def _row(self, line: int, parser: _CsvParser) -> Record:
        self._mark_record_end()
        if not parser.keep:
            return Record(line, None, self._too_large())
        cells = tuple(parser.fields)
        if any(_UNDECODABLE.search(cell) for cell in cells):
            return Record(line, None, "not UTF-8 text")
        return Record(line, cells)
