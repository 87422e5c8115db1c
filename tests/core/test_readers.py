"""Bounded reading: special files refused without blocking, caps on bytes, lines and rows, zip
directories checked before zipfile parses them, JSON that nests too deeply."""

from __future__ import annotations

import io
import os
import socket
import struct
import zipfile

import pytest

from nnviz.core import readers
from nnviz.core.readers import (
    MAX_LINE_CHARS,
    check_zip_directory,
    csv_rows,
    open_regular,
    parse_json,
    read_capped,
)


class Refused(ValueError):
    """The error type a caller passes in; the readers raise it and nothing else."""


def test_a_regular_file_opens_and_reads(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"hello")
    with open_regular(tmp_path / "a.txt", 5, Refused, "text files") as handle:
        assert handle.read() == b"hello"


def test_a_file_over_the_cap_is_refused_naming_both_sizes(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"x" * 3000)
    with pytest.raises(Refused, match=r"a\.txt is 3,000 bytes; nnviz reads text files up to 2,999"):
        open_regular(tmp_path / "a.txt", 2999, Refused, "text files")
    with (tmp_path / "big.txt").open("wb") as handle:
        handle.truncate(5 * 2**30)  # sparse: takes no disk
    with pytest.raises(Refused, match=r"big\.txt is 5,120\.0 MiB \(5,368,709,120 bytes\)"):
        open_regular(tmp_path / "big.txt", 2**20, Refused, "text files")


def test_a_fifo_is_refused_at_once_with_or_without_a_writer(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    # a plain open() of this FIFO would wait for a writer for ever
    with pytest.raises(Refused, match=r"cannot read .*pipe\.csv: it is a pipe \(FIFO\)"):
        open_regular(fifo, 100, Refused, "CSV files")
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer that never writes
    try:
        with pytest.raises(Refused, match="not a regular file"):
            open_regular(fifo, 100, Refused, "CSV files")
    finally:
        os.close(writer)


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda path: path.mkdir(), "a folder"),
        (lambda path: path.symlink_to("/dev/zero"), "a device"),
        (lambda path: socket.socket(socket.AF_UNIX).bind(str(path)), "a socket"),
    ],
    ids=["folder", "dev-zero", "socket"],
)
def test_other_special_files_are_refused_by_kind(tmp_path, make, kind):
    make(tmp_path / "x.npz")
    with pytest.raises(Refused, match=f"it is {kind}, not a regular file"):
        open_regular(tmp_path / "x.npz", 100, Refused, "weights")


def test_missing_files_and_symlink_loops_are_refused(tmp_path):
    with pytest.raises(Refused, match=r"cannot read .*none\.csv: No such file"):
        open_regular(tmp_path / "none.csv", 100, Refused, "CSV files")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(Refused, match="Too many levels of symbolic links"):
        open_regular(tmp_path / "a", 100, Refused, "CSV files")


def test_read_capped_stops_past_the_cap_without_reading_on():
    class Endless(io.RawIOBase):
        """A stream that never ends, counting what it gave: a member whose size claim lies."""

        given = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"\0" * len(buffer)
            self.given += len(buffer)
            return len(buffer)

    stream = Endless()
    with pytest.raises(Refused, match=r"m\.csv holds more than 1\.0 MiB \(1,048,576 bytes\)"):
        read_capped(io.BufferedReader(stream), 2**20, "m.csv", Refused)
    assert stream.given < 2**20 + 2**17  # it stopped within a chunk of the cap
    assert read_capped(io.BytesIO(b"abc"), 3, "m.csv", Refused) == b"abc"


def rows(text: bytes, **caps) -> list:
    caps = {"max_bytes": 2**20, "max_rows": 100, **caps}
    return list(csv_rows(io.BytesIO(text), "t.csv", Refused, **caps))


def test_csv_rows_skip_blank_records_and_number_lines():
    text = "\ufeffx1,x2\r\n1,2\n\n3,4\r5,6\n".encode()  # a BOM, and three kinds of line ends
    assert rows(text) == [(1, ["x1", "x2"]), (2, ["1", "2"]), (4, ["3", "4"]), (5, ["5", "6"])]


def test_csv_rows_cap_lines_blank_ones_included():
    assert len(rows(b"h\n" + b"1\n" * 100)) == 101
    with pytest.raises(Refused, match=r"t\.csv has more than 101 lines; nnviz reads at most 100"):
        rows(b"h\n" + b"1\n" * 101)
    with pytest.raises(Refused, match="more than 101 lines"):
        rows(b"h\n" + b"\n" * 10_000_000)  # ends after 102 lines, not ten million


def test_csv_rows_refuse_a_long_line_before_reading_it_whole():
    assert rows(b"x" * MAX_LINE_CHARS)[0][1][0] == "x" * MAX_LINE_CHARS
    with pytest.raises(Refused, match=r"t\.csv line 2 is longer than 65,536 characters"):
        rows(b"h\n" + b"1" * (50 * MAX_LINE_CHARS), max_bytes=2**30)


def test_csv_rows_cap_bytes_and_refuse_bad_text():
    with pytest.raises(Refused, match=r"t\.csv holds more than 100 bytes"):
        rows(b"a,b\n" * 30, max_bytes=100)
    with pytest.raises(Refused, match=r"t\.csv is not UTF-8 text \(invalid start byte\)"):
        rows(b"a,b\n\xff,1\n")
    with pytest.raises(
        Refused, match=r"t\.csv line \d+ is not readable CSV: field larger than field limit"
    ):
        rows(b'a\n"' + b"1\n" * 100_000 + b'"\n', max_bytes=2**30)  # a field of many lines


def test_parse_json_refuses_deep_nesting_and_huge_integers():
    assert parse_json(b'{"a": [1, 2.5]}', "d.json", Refused) == {"a": [1, 2.5]}
    with pytest.raises(Refused, match=r"d\.json is not valid JSON: its lists or objects nest"):
        parse_json(b"[" * 100_000 + b"]" * 100_000, "d.json", Refused)
    with pytest.raises(Refused, match=r"d\.json is not valid JSON: .*4300 digits"):
        parse_json(b"[" + b"9" * 5000 + b"]", "d.json", Refused)
    with pytest.raises(Refused, match=r"d\.json is not UTF-8 text"):
        parse_json(b'{"a": "\xff"}', "d.json", Refused)


def zip_bytes(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(count):
            archive.writestr(f"m{index}", b"x")
    return buffer.getvalue()


def test_zip_directory_claims_are_checked_from_the_end_record():
    check_zip_directory(io.BytesIO(zip_bytes(3)), "z", Refused, max_members=3, max_bytes=2**20)
    with pytest.raises(Refused, match="z claims 4 members; nnviz reads at most 3"):
        check_zip_directory(io.BytesIO(zip_bytes(4)), "z", Refused, max_members=3, max_bytes=2**20)
    with pytest.raises(Refused, match=r"z claims a zip directory of 192 bytes; .* at most 100"):
        check_zip_directory(io.BytesIO(zip_bytes(4)), "z", Refused, max_members=9, max_bytes=100)
    for data in (b"", b"not a zip", zip_bytes(2)[:-5]):
        with pytest.raises(Refused, match="z is not a zip archive, or it is truncated"):
            check_zip_directory(io.BytesIO(data), "z", Refused, max_members=9, max_bytes=2**20)


def test_a_zip64_end_record_is_what_gets_checked(monkeypatch):
    """An end record saying 1 entry, and a zip64 record (which zipfile trusts) saying 3
    million: refused before zipfile reads the 3 million."""
    data = zip_bytes(1)
    end = data.rfind(b"PK\x05\x06")
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 3_000_000, 3_000_000, 0, 0
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1)
    bomb = io.BytesIO(data[:end] + record + locator + data[end:])
    monkeypatch.setattr(zipfile, "ZipFile", None)  # zipfile's parser must not be needed
    with pytest.raises(Refused, match="z claims 3000000 members; nnviz reads at most 9"):
        check_zip_directory(bomb, "z", Refused, max_members=9, max_bytes=2**20)
    assert bomb.tell() == 0  # left at the start for zipfile


def test_size_text():
    assert readers.size_text(1023) == "1,023 bytes"
    assert readers.size_text(3 * 2**20) == "3.0 MiB (3,145,728 bytes)"
