"""Inputs that once crashed, hung or exhausted a reader, rebuilt exactly each time they run.

The named cases of issues 11 and 15 are built here by code, because a 250 MB bomb or a 234 MB
zip directory is better generated than kept in git. Each returns `(surface, path)`; the reader
fuzzer (test_reader_fuzz.py) reads it in its guarded child process and records the time and the
peak memory it took. Small inputs the fuzzer found are kept as files in reader_regressions/.
"""

from __future__ import annotations

import io
import json
import os
import socket
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

#: Valid files nnviz writes, built once per worker (see `base_files` in test_reader_fuzz.py).
Base = dict[str, bytes]
Case = Callable[[Path, Base], tuple[str, Path]]

HISTORY_HEADER = b"iteration,train_loss,test_loss,train_accuracy,test_accuracy\n"


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def deflated(header: bytes, row: bytes, size: int) -> tuple[bytes, int, int]:
    """`header` and then `row` repeated to about `size` bytes, deflated a block at a time (never
    held uncompressed): (compressed bytes, uncompressed size, CRC-32)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = row * (2**20 // len(row))
    out, total, crc = [compressor.compress(header)], len(header), zlib.crc32(header)
    for _ in range(size // len(block)):
        total += len(block)
        crc = zlib.crc32(block, crc)
        out.append(compressor.compress(block))
    out.append(compressor.flush())
    return b"".join(out), total, crc


def zip_with(
    members: dict[str, bytes], raw: dict[str, tuple[bytes, int, int]], *, claims: dict | None = None
) -> bytes:
    """A zip of `members` (deflated by zipfile) plus `raw` members given as already-deflated
    (data, size, crc); `claims` overrides the uncompressed size a raw member's headers state."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), payload)
    body = bytearray(buffer.getvalue())
    end = body.rfind(b"PK\x05\x06")
    count, directory_size, directory_at = struct.unpack_from("<HII", body, end + 10)
    files, directory = body[:directory_at], body[directory_at : directory_at + directory_size]
    for name, (data, size, crc) in raw.items():
        claimed = (claims or {}).get(name, size)
        encoded, offset = name.encode(), len(files)
        fields = (0, 8, 0, 33, crc, len(data), claimed, len(encoded), 0)
        files += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, *fields) + encoded + data
        directory += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, *fields, 0, 0, 0, 0, offset
        )
        directory += encoded
        count += 1
    tail = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(files), 0
    )
    return bytes(files + directory + tail)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- CSV points (--csv-path) -----------------------------------------------------------------


def csv_dev_zero(folder: Path, base: Base) -> tuple[str, Path]:
    return "csv", Path("/dev/zero")


def csv_fifo(folder: Path, base: Base) -> tuple[str, Path]:
    os.mkfifo(folder / "points.csv")
    return "csv", folder / "points.csv"


def csv_200_mb(folder: Path, base: Base) -> tuple[str, Path]:
    """Valid rows just under the old 200 MiB cap: 20 million points (MemoryError at
    labels.append before)."""
    path = folder / "large.csv"
    row = b"0.5,-0.25,1\n0.25,0.5,0\n"
    with path.open("wb") as handle:
        handle.write(b"x1,x2,label\n")
        block = row * (2**20 // len(row))
        for _ in range(190):
            handle.write(block)
    return "csv", path


def csv_ten_million_short_rows(folder: Path, base: Base) -> tuple[str, Path]:
    """Under every byte cap, over the row cap: 10 million rows of 6 bytes."""
    path = folder / "rows.csv"
    with path.open("wb") as handle:
        handle.write(b"x1,x2,label\n" + b"0,0,1\n1,1,0\n" * 5_000_000)
    return "csv", path


def csv_blank_lines(folder: Path, base: Base) -> tuple[str, Path]:
    """60 MB of empty lines: nothing to parse, but 60 million lines to count."""
    return "csv", _write(folder / "blank.csv", b"x1,x2,label\n" + b"\n" * 60_000_000)


def csv_one_long_line(folder: Path, base: Base) -> tuple[str, Path]:
    """60 MB with no newline after the header: a reader of lines must not take it whole."""
    return "csv", _write(folder / "long.csv", b"x1,x2,label\n" + b"1" * 60_000_000)


# -- weights (--init-weights, Import weights) ------------------------------------------------


def weights_fifo_npz(folder: Path, base: Base) -> tuple[str, Path]:
    os.mkfifo(folder / "w.npz")
    return "npz", folder / "w.npz"


def weights_fifo_json(folder: Path, base: Base) -> tuple[str, Path]:
    os.mkfifo(folder / "w.json")
    return "json", folder / "w.json"


def weights_dev_zero(folder: Path, base: Base) -> tuple[str, Path]:
    (folder / "zero.npz").symlink_to("/dev/zero")
    return "npz", folder / "zero.npz"


def json_deep_nesting(folder: Path, base: Base) -> tuple[str, Path]:
    depth = 100_000
    return "json", _write(folder / "deep.json", b'{"W1": ' + b"[" * depth + b"]" * depth + b"}")


def json_nesting_past_the_recursion_limit(folder: Path, base: Base) -> tuple[str, Path]:
    """Fewer lists than a weights file may hold, but nested past Python's recursion limit."""
    depth = 5000
    return "json", _write(folder / "deep.json", b'{"W1": ' + b"[" * depth + b"]" * depth + b"}")


def json_ten_to_the_400(folder: Path, base: Base) -> tuple[str, Path]:
    weights = json.loads(base["json"])
    text = json.dumps(weights).replace(repr(weights["W1"][0][0]), str(10**400), 1)
    return "json", _write(folder / "huge.json", text.encode())


def json_many_lists(folder: Path, base: Base) -> tuple[str, Path]:
    """16 MB of empty lists: a list object each (about 20 times the text in memory)."""
    return "json", _write(folder / "lists.json", b'{"W1": [' + b"[]," * 5_000_000 + b"[]]}")


def npz_zip64_entries(folder: Path, base: Base) -> tuple[str, Path]:
    return "npz", _write(folder / "entries.npz", zip64_directory_bomb(3_000_000))


# -- sessions (.nnviz) -----------------------------------------------------------------------


def session_history_bomb(folder: Path, base: Base) -> tuple[str, Path]:
    """history.csv unpacks to 250 MB (the file is about 250 KB); its size is told truly."""
    members = members_of(base["session"])
    del members["history.csv"]
    history = deflated(HISTORY_HEADER, b"0,0.1,0.1,0.5,0.5\n", 250_000_000)
    return "session", _write(folder / "history.nnviz", zip_with(members, {"history.csv": history}))


def session_history_bomb_lying(folder: Path, base: Base) -> tuple[str, Path]:
    """The same bomb, but its headers claim 1 KB, so only reading can find the size out."""
    members = members_of(base["session"])
    del members["history.csv"]
    history = deflated(HISTORY_HEADER, b"0,0.1,0.1,0.5,0.5\n", 250_000_000)
    data = zip_with(members, {"history.csv": history}, claims={"history.csv": 1000})
    return "session", _write(folder / "history-lying.nnviz", data)


def session_data_bomb(folder: Path, base: Base) -> tuple[str, Path]:
    """data.csv unpacks to 500 MB of valid-looking rows (about 500 KB compressed)."""
    members = members_of(base["session"])
    del members["data.csv"]
    data = deflated(b"x1,x2,label,split\n", b"0.5,0.5,1,train\n", 500_000_000)
    return "session", _write(folder / "data.nnviz", zip_with(members, {"data.csv": data}))


def session_data_bomb_under_the_claim_cap(folder: Path, base: Base) -> tuple[str, Path]:
    """data.csv claims 60 MB (under the data cap) and holds 60 MB of rows: 3.75 million of
    them, so only the row cap stops it."""
    members = members_of(base["session"])
    del members["data.csv"]
    data = deflated(b"x1,x2,label,split\n", b"0.5,0.5,1,train\n", 60_000_000)
    return "session", _write(folder / "data-rows.nnviz", zip_with(members, {"data.csv": data}))


def session_zip64_entries(folder: Path, base: Base) -> tuple[str, Path]:
    """A zip64 end record that announces 3 million directory entries (a 234 MB file)."""
    return "session", _write(folder / "entries.nnviz", zip64_directory_bomb(3_000_000))


def session_init_weights_fifo(folder: Path, base: Base) -> tuple[str, Path]:
    """A session whose config names a FIFO as its initial weights: opening must not wait."""
    os.mkfifo(folder / "w.npz")
    members = members_of(base["session"])
    config = json.loads(members["config.json"])
    config["init_weights"] = str(folder / "w.npz")
    members["config.json"] = json.dumps(config).encode()
    return "session-init-weights", _write(folder / "fifo.nnviz", zip_with(members, {}))


def session_socket(folder: Path, base: Base) -> tuple[str, Path]:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "socket.nnviz"))  # kept bound until the worker exits
    _KEEP.append(server)
    return "session", folder / "socket.nnviz"


_KEEP: list[socket.socket] = []


def zip64_directory_bomb(entries: int) -> bytes:
    """A zip whose central directory has `entries` entries, announced by a zip64 end record."""
    name = b"W1.npy"
    entry = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        45,
        45,
        0,
        0,
        0,
        33,
        0,
        0,
        0,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    directory = (entry + name) * entries
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, len(directory), 0
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, len(directory), 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return directory + record + locator + end


#: name -> (builder, what a correct reader raises: an error type name and a piece of its message)
NAMED: dict[str, tuple[Case, str, str]] = {
    "csv /dev/zero": (csv_dev_zero, "DataError", "not a regular file"),
    "csv FIFO": (csv_fifo, "DataError", "not a regular file"),
    "csv 200 MB of rows": (csv_200_mb, "DataError", "nnviz reads"),
    "csv 10 million short rows": (csv_ten_million_short_rows, "DataError", "rows"),
    "csv 60 million blank lines": (csv_blank_lines, "DataError", "rows"),
    "csv one 60 MB line": (csv_one_long_line, "DataError", "line"),
    "weights FIFO (.npz)": (weights_fifo_npz, "FileFormatError", "not a regular file"),
    "weights FIFO (.json)": (weights_fifo_json, "FileFormatError", "not a regular file"),
    "weights /dev/zero": (weights_dev_zero, "FileFormatError", "not a regular file"),
    "json nested 100000 deep": (json_deep_nesting, "FileFormatError", "deep.json holds 100,001"),
    "json nested 5000 deep": (
        json_nesting_past_the_recursion_limit,
        "FileFormatError",
        "nest too deeply",
    ),
    "json 10**400": (json_ten_to_the_400, "FileFormatError", "too large"),
    "json 5 million empty lists": (json_many_lists, "FileFormatError", "lists"),
    "npz zip64 3 million entries": (npz_zip64_entries, "FileFormatError", "3000000"),
    "session history.csv bomb": (session_history_bomb, "SessionError", "history.csv"),
    "session history.csv bomb, size lies": (
        session_history_bomb_lying,
        "SessionError",
        "history.csv",
    ),
    "session data.csv bomb": (session_data_bomb, "SessionError", "data.csv"),
    "session data.csv of 3.75 million rows": (
        session_data_bomb_under_the_claim_cap,
        "SessionError",
        "data.csv",
    ),
    "session zip64 3 million entries": (session_zip64_entries, "SessionError", "3000000"),
    "session socket": (session_socket, "SessionError", "not a regular file"),
    "session init_weights FIFO": (
        session_init_weights_fifo,
        "FileFormatError",
        "not a regular file",
    ),
}
