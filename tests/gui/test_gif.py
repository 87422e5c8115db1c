"""The GIF writer: LZW round trips through a reference decoder, and files that Qt reads back."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage, QImageReader, QMovie

from nnviz.core.gif import (
    TRANSPARENT,
    GifWriter,
    Quantizer,
    _pack_codes,
    build_palette,
    lzw_codes,
    write_gif,
)

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"


def lzw_decode(data: bytes, min_code_size: int = 8) -> bytes:
    """A plain reading of the GIF89a spec's LZW decoder, independent of the encoder."""
    bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    width, position, out = min_code_size + 1, 0, bytearray()
    table: list[bytes] = []
    previous: bytes | None = None
    while position + width <= len(bits):
        code = int(np.dot(bits[position : position + width], 1 << np.arange(width)))
        position += width
        if code == clear:
            table = [bytes([i]) for i in range(clear)] + [b"", b""]
            width, previous = min_code_size + 1, None
            continue
        if code == end:
            return bytes(out)
        if previous is None:
            entry = table[code]
        else:
            entry = table[code] if code < len(table) else previous + previous[:1]
            if len(table) < 4096:
                table.append(previous + entry[:1])
                if len(table) == 1 << width and width < 12:
                    width += 1
        out += entry
        previous = entry
    raise AssertionError("no end-of-information code")


def _rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    return rows[:, : 3 * width].reshape(height, width, 3).astype(int)


def _read_all(path: Path) -> list[np.ndarray]:
    reader = QImageReader(str(path))
    frames = []
    while True:
        image = reader.read()
        if image.isNull():
            return frames
        frames.append(_rgb(image))


def _moving_square_frames(count: int = 8, size: tuple[int, int] = (90, 120)) -> list[np.ndarray]:
    height, width = size
    ramp = np.linspace(0, 255, width).astype(np.uint8)
    base = np.zeros((height, width, 3), np.uint8)
    base[..., 0], base[..., 2] = ramp, 255 - ramp
    base[: height // 3] = (245, 147, 34)
    frames = []
    for k in range(count):
        frame = base.copy()
        frame[40:70, 5 + 10 * k : 35 + 10 * k] = (8, 119, 189)
        frames.append(frame)
    return frames


# -- LZW --------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 3, 255, 256, 257, 300, 511, 512, 513, 1000])
def test_lzw_round_trips_at_code_width_boundaries(length):
    rng = np.random.default_rng(length)
    for alphabet in (2, 16, 256):  # long matches, medium, and a new entry for every code
        data = rng.integers(0, alphabet, length).astype(np.uint8).tobytes()
        assert lzw_decode(_pack_codes(*lzw_codes(data))) == data


def test_lzw_round_trips_through_table_resets():
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, 20_000).astype(np.uint8).tobytes()  # several full tables
    runs = np.repeat(rng.integers(0, 4, 3000), rng.integers(1, 400, 3000)).astype(np.uint8)
    for data in (noise, runs.tobytes(), bytes(100_000)):
        codes, widths = lzw_codes(data)
        assert codes.count(256) > (1 if data is noise else 0)
        assert max(widths) <= 12
        assert lzw_decode(_pack_codes(codes, widths)) == data


def test_the_last_code_width_follows_the_decoder():
    """Find data whose last code is emitted right as the table reaches 512 entries: the end code
    must then be 10 bits wide, as the decoder reads it."""
    rng = np.random.default_rng(7)
    seen = set()
    for length in range(240, 300):
        data = rng.integers(0, 256, length).astype(np.uint8).tobytes()
        codes, widths = lzw_codes(data)
        seen.add((widths[-2], widths[-1]))
        assert lzw_decode(_pack_codes(codes, widths)) == data
    assert (9, 10) in seen  # the case happened and decoded


# -- palette -----------------------------------------------------------------------------------


def test_palette_keeps_the_frequent_colours_exactly():
    frames = _moving_square_frames()
    palette = build_palette(frames)
    assert palette.shape == (255, 3) and palette.dtype == np.uint8
    quantize = Quantizer(palette)
    for colour in ((245, 147, 34), (8, 119, 189)):
        index = quantize(np.array([[colour]], np.uint8))[0, 0]
        assert tuple(palette[index]) == colour
    assert quantize(frames[0]).max() < TRANSPARENT


# -- files that Qt reads -------------------------------------------------------------------------


def test_an_animation_reads_back_with_qt(tmp_path, qapp):
    frames = _moving_square_frames(count=8)
    path = write_gif(tmp_path / "square.gif", frames, delay_ms=70)
    reader = QImageReader(str(path))
    assert reader.format() == b"gif"
    assert reader.imageCount() == 8
    assert reader.loopCount() == -1  # Qt's "forever", from NETSCAPE2.0 with a count of 0
    reader.read()
    assert reader.nextImageDelay() == 70
    movie = QMovie(str(path))
    assert movie.isValid() and movie.frameCount() == 8
    decoded = _read_all(path)
    assert len(decoded) == 8
    for k, (frame, source) in enumerate(zip(decoded, frames)):
        assert frame.shape == source.shape
        assert np.abs(frame - source).mean() < 2.0  # only the quantized ramp differs
        # the square is exactly where it should be, and gone from where it was
        assert np.all(frame[40:70, 5 + 10 * k : 35 + 10 * k] == (8, 119, 189))
        if k:
            assert (
                np.abs(
                    frame[40:70, 10 * k - 5 : 10 * k + 5] - source[40:70, 10 * k - 5 : 10 * k + 5]
                ).max()
                <= 8
            )


def test_a_window_picture_keeps_its_look(tmp_path, qapp):
    shot = _rgb(QImage(str(SCREENSHOT)))[:600, :900].astype(np.uint8)
    path = write_gif(tmp_path / "window.gif", [shot])
    (decoded,) = _read_all(path)
    difference = np.abs(decoded - shot)
    assert difference.mean() < 1.0
    assert np.percentile(difference, 99) <= 8  # a 5-bit lookup: no colour far off
    assert path.stat().st_size < shot.nbytes / 10


def test_unchanged_and_partly_changed_frames_compose(tmp_path, qapp):
    frames = _moving_square_frames(count=3)
    frames.insert(1, frames[0].copy())  # nothing changes: a one-pixel transparent frame
    frames.append(frames[-1].copy())
    frames[-1][0, 0] = (0, 0, 0)  # one pixel
    handle = io.BytesIO()
    with GifWriter(handle, 120, 90, build_palette(frames), delay_ms=30) as gif:
        for frame in frames:
            gif.add_frame(frame)
    path = tmp_path / "compose.gif"
    path.write_bytes(handle.getvalue())
    decoded = _read_all(path)
    assert len(decoded) == len(frames)
    for frame, source in zip(decoded, frames):
        assert np.abs(frame - source).mean() < 2.0
    assert tuple(decoded[-1][0, 0]) == (0, 0, 0)


def test_frames_of_the_wrong_size_or_type_are_refused():
    handle = io.BytesIO()
    gif = GifWriter(handle, 4, 4, np.zeros((255, 3), np.uint8))
    with pytest.raises(ValueError, match="4x4"):
        gif.add_frame(np.zeros((5, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        gif.add_frame(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError):
        write_gif(io.BytesIO(), [])
