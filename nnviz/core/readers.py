"""Bounded reading of files a user names: regular files only, with size, line and row caps.

CSV points, weights and sessions all read through here, so a FIFO, /dev/zero, a folder or a file
of gigabytes gives a message at once instead of blocking or filling memory. Errors are raised as
the caller's own type (DataError, FileFormatError, SessionError), which it passes as `error`;
every message names the file, the limit and what was found.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

Error = Callable[[str], Exception]

#: The longest CSV line read, in characters; nnviz writes lines of at most about 120.
MAX_LINE_CHARS = 64 * 1024
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # absent on Windows, which has no FIFOs to open
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a pipe (FIFO)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def size_text(size: int) -> str:
    """`size` in bytes as a message shows it: exact when small, in MiB when large."""
    return f"{size:,} bytes" if size < 2**20 else f"{size / 2**20:,.1f} MiB ({size:,} bytes)"


def open_regular(path: str | Path, max_bytes: int, error: Error, what: str) -> IO[bytes]:
    """`path` opened for binary reading, if it is a regular file of at most `max_bytes`.

    A FIFO would block a plain open until a writer comes, and /dev/zero never ends, so anything
    but a regular file is refused. The path is looked at with stat before it is opened (opening a
    device can do something by itself), then the open file again with fstat, so a file swapped
    in between is caught too; O_NONBLOCK keeps that open from waiting on a FIFO.
    """
    try:
        _check_regular(path, os.stat(path).st_mode, error)
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0))
    except OSError as failure:
        raise error(f"cannot read {path}: {failure.strerror or failure}") from None
    try:
        info = os.fstat(fd)
        _check_regular(path, info.st_mode, error)
        if info.st_size > max_bytes:
            raise error(
                f"{path} is {size_text(info.st_size)}; nnviz reads {what} up to "
                f"{size_text(max_bytes)}"
            )
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words: "a folder", "a pipe (FIFO)", "a device", ..."""
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def _check_regular(path: str | Path, mode: int, error: Error) -> None:
    if not stat.S_ISREG(mode):
        raise error(f"cannot read {path}: it is {kind_of(mode)}, not a regular file")


class _Capped(io.RawIOBase):
    """`stream`, refusing to give more than `limit` bytes: a zip member's claimed size can lie,
    and a file can grow after its size was checked."""

    def __init__(self, stream: IO[bytes], limit: int, name: str, error: Error) -> None:
        self._stream, self._name, self._error = stream, name, error
        self._limit = self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(min(len(buffer), self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise self._error(
                f"{self._name} holds more than {size_text(self._limit)}, the most nnviz reads"
            )
        buffer[: len(data)] = data
        return len(data)


def read_capped(stream: IO[bytes], max_bytes: int, name: str, error: Error) -> bytes:
    """The rest of `stream`, read in chunks and refused as soon as it passes `max_bytes`."""
    return _Capped(stream, max_bytes, name, error).readall()


def csv_rows(
    stream: IO[bytes], name: str, error: Error, *, max_bytes: int, max_rows: int
) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-empty record of UTF-8 CSV, read line by line.

    At most `max_rows` records may follow the first (the header), blank ones included, so a file
    of endless empty lines ends as early as one of endless rows; a line longer than
    MAX_LINE_CHARS is refused before it is read whole.
    """
    capped = io.BufferedReader(_Capped(stream, max_bytes, name, error))
    text = io.TextIOWrapper(capped, encoding="utf-8-sig", newline="")
    reader = csv.reader(_lines(text, name, error))
    try:
        for row in reader:
            if reader.line_num > max_rows + 1:
                raise error(
                    f"{name} has more than {max_rows + 1:,} lines; nnviz reads at most "
                    f"{max_rows:,} rows after the header"
                )
            if row:
                yield reader.line_num, row
    except csv.Error as failure:
        raise error(f"{name} line {reader.line_num} is not readable CSV: {failure}") from None


def _lines(text: io.TextIOWrapper, name: str, error: Error) -> Iterator[str]:
    number = 0
    while True:
        number += 1
        try:
            line = text.readline(MAX_LINE_CHARS + 1)
        except UnicodeDecodeError as failure:  # decoded by the block: the line is not known
            raise error(f"{name} is not UTF-8 text ({failure.reason}); save it as UTF-8") from None
        if len(line) > MAX_LINE_CHARS:
            raise error(
                f"{name} line {number} is longer than {MAX_LINE_CHARS:,} characters; "
                "is it a CSV file?"
            )
        if not line:
            return
        yield line


def parse_json(data: bytes, name: str, error: Error) -> Any:
    """The document in `data`; a nesting too deep or an integer too long is a clear error."""
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise error(f"{name} is not UTF-8 text") from None
    except RecursionError:
        raise error(f"{name} is not valid JSON: its lists or objects nest too deeply") from None
    except ValueError as failure:  # JSONDecodeError, and an integer of over 4300 digits
        raise error(f"{name} is not valid JSON: {failure}") from None


def check_zip_directory(
    handle: IO[bytes], name: str, error: Error, *, max_members: int, max_bytes: int
) -> None:
    """Refuse a zip whose directory announces more than `max_members` entries or `max_bytes`,
    before zipfile reads and parses it entry by entry (3 million entries took it 43 s and 1.2 GB).

    The end record is found by zipfile's own function, so the numbers checked are the ones
    zipfile then trusts, zip64 records included.
    """
    try:
        record = zipfile._EndRecData(handle)  # private, but it is what ZipFile itself reads
    except (OSError, ValueError, zipfile.BadZipFile) as failure:
        raise error(f"{name} is not a readable zip archive: {failure}") from None
    finally:
        handle.seek(0)
    if not record:
        raise error(f"{name} is not a zip archive, or it is truncated")
    entries, directory_bytes = record[zipfile._ECD_ENTRIES_TOTAL], record[zipfile._ECD_SIZE]
    if entries > max_members:
        raise error(f"{name} claims {entries} members; nnviz reads at most {max_members}")
    if directory_bytes > max_bytes:
        raise error(
            f"{name} claims a zip directory of {size_text(directory_bytes)}; nnviz reads at "
            f"most {size_text(max_bytes)}"
        )
