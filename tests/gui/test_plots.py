"""write_plots: the four views drawn offscreen into PNG and SVG files, for `nnviz train --out`."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

import nnviz.gui  # noqa: F401  (binds pyqtgraph to PySide6)
from nnviz import Config, Trainer
from nnviz.core import FileFormatError
from nnviz.gui import plots, style
from nnviz.gui.frame import make_frame
from nnviz.gui.plots import PLOT_SIZE, write_plots
from nnviz.gui.views.loss_view import loss_curves
from nnviz.gui.views.roc_view import auc_text

NAMES = ("network", "loss", "boundary", "roc")
FILES = sorted(f"{name}.{suffix}" for name in NAMES for suffix in ("png", "svg"))
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def trainer() -> Trainer:
    trainer = Trainer(Config.preset("seed", iterations=2000))
    trainer.step(2000)
    return trainer


@pytest.fixture(scope="module")
def run(trainer, tmp_path_factory, qapp) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("run") / "out"
    return out, write_plots(out, trainer)


def _pixels(path: Path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    return buffer[:, : width * 4].reshape(height, width, 4)[..., :3].copy()  # outlives `image`


def _hex(color: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in color)


def _curve_points(root: ET.Element, stroke: str, width: str) -> np.ndarray:
    """(n, 2) points, in data coordinates, of every polyline and path drawn with this pen in the
    plot. QSvgGenerator puts the pen and the data-to-pixel transform on the group; the legend's
    sample line has the same pen but a pure translation (pixel coordinates), so it is left out."""
    points: list[tuple[float, float]] = []
    for group in root.iter(f"{SVG}g"):
        if group.get("stroke") != stroke or group.get("stroke-width") != width:
            continue
        if group.get("transform", "").startswith("matrix(1,0,0,1,"):
            continue
        for child in group:
            text = child.get("points") or child.get("d") or ""
            numbers = [float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", text)]
            points.extend(zip(numbers[0::2], numbers[1::2]))
    return np.array(points, dtype=float).reshape(-1, 2)


def _texts(root: ET.Element) -> list[str]:
    return [" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG}text")]


# -- the files ------------------------------------------------------------------------------------


def test_writes_a_png_and_an_svg_of_each_view(run):
    out, written = run
    assert sorted(path.name for path in written) == FILES
    assert all(path.parent == out for path in written)
    assert sorted(path.name for path in out.iterdir()) == FILES  # no staging folder left


#: The colours each picture's data is drawn in: weights and classes, or the two splits.
DATA_COLOURS = {
    "network": (style.ORANGE, style.BLUE),
    "loss": (style.TRAIN_CURVE, style.TEST_CURVE),
    "boundary": (style.ORANGE, style.BLUE),
    "roc": (style.TRAIN_CURVE, style.TEST_CURVE),
}


@pytest.mark.parametrize("name", NAMES)
def test_png_has_the_asked_size_and_is_a_picture(run, name):
    pixels = _pixels(run[0] / f"{name}.png")
    assert pixels.shape == (PLOT_SIZE[1], PLOT_SIZE[0], 3)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"{name}.png has only {len(colours)} colours"
    not_white = np.any(pixels < 235, axis=2).mean()
    assert not_white > 0.01, f"{name}.png is {not_white:.1%} ink"
    for colour in DATA_COLOURS[name]:  # the data itself is drawn, not only axes and labels
        near = np.abs(pixels.astype(int) - np.array(colour)).max(axis=2) <= 24
        assert near.sum() >= 100, f"{name}.png has {near.sum()} pixels of {colour}"


def test_png_size_is_a_parameter(trainer, tmp_path, qapp):
    write_plots(tmp_path, trainer, size=(400, 320))
    for name in NAMES:
        image = QImage(str(tmp_path / f"{name}.png"))
        assert (image.width(), image.height()) == (400, 320)


@pytest.mark.parametrize("name", NAMES)
def test_svg_parses_with_the_plot_size(run, name):
    root = ET.parse(run[0] / f"{name}.svg").getroot()
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {PLOT_SIZE[0]} {PLOT_SIZE[1]}"
    assert root.find(f"{SVG}title").text == f"nnviz {name}"


def test_roc_svg_holds_both_curves_and_the_auc_legend(run, trainer):
    root = ET.parse(run[0] / "roc.svg").getroot()
    frame = make_frame(trainer.snapshot(), trainer.config, trainer.data)
    texts = _texts(root)
    for split, roc in (("train", frame.train_roc), ("test", frame.test_roc)):
        assert " ".join(auc_text(split, roc).split()) in texts
        assert not math.isnan(roc.auc)
        points = _curve_points(root, _hex(getattr(style, f"{split.upper()}_CURVE")), "2")
        curve = np.column_stack([roc.fpr, roc.tpr])
        # every vertex of the curve is in the SVG (6 significant digits), and nothing else
        distance = np.abs(curve[:, None, :] - points[None, :, :]).max(axis=2)
        assert distance.min(axis=1).max() < 1e-5
        assert distance.min(axis=0).max() < 1e-5
    assert "at threshold 0.50" in texts


def test_loss_svg_holds_the_curves_on_a_log_axis(run, trainer):
    root = ET.parse(run[0] / "loss.svg").getroot()
    frame = make_frame(trainer.snapshot(), trainer.config, trainer.data)
    iteration, train, test = loss_curves(frame)
    for stroke, values in ((style.TRAIN_CURVE, train), (style.TEST_CURVE, test)):
        points = _curve_points(root, _hex(stroke), "1")
        assert len(points) >= 50
        assert points[0, 0] == 0 and points[-1, 0] == iteration[-1]
        np.testing.assert_allclose(points[-1, 1], np.log10(values[-1]), rtol=1e-5)
        np.testing.assert_allclose(points[0, 1], np.log10(values[0]), rtol=1e-5)
    assert "loss per point (SSE / n)" in _texts(root)


def test_boundary_svg_holds_the_map_the_threshold_line_and_the_points(run, trainer):
    root = ET.parse(run[0] / "boundary.svg").getroot()
    images = list(root.iter(f"{SVG}image"))
    n_points = len(trainer.data.y_train) + len(trainer.data.y_test)
    assert len(images) > n_points  # the map, the colour bar, one marker per point
    line = _curve_points(root, _hex(style.CONTOUR_COLOR), "2")
    xmin, xmax, ymin, ymax = trainer.data.bounds
    assert len(line) > 100
    assert np.all((line[:, 0] >= xmin) & (line[:, 0] <= xmax))
    assert np.all((line[:, 1] >= ymin) & (line[:, 1] <= ymax))
    assert {"x1", "x2", "p(class 1)"} <= set(_texts(root))


def test_network_svg_holds_every_edge_and_the_labels(run, trainer):
    root = ET.parse(run[0] / "network.svg").getroot()
    texts = _texts(root)
    assert {"input", "hidden 1 (5)", "output", "x1", "x2", "p"} <= set(texts)
    weights = trainer.weights()
    largest = max(float(np.abs(weights[k]).max()) for k in ("W1", "W2"))
    assert any(f"widest |w| = {largest:.2f}" in text for text in texts)
    # 2x5 + 5x1 weights, each edge one segment (a pair of points) in some pen's path
    segments = 0
    for group in root.iter(f"{SVG}g"):
        for path in group.iter(f"{SVG}path"):
            if group.get("stroke") not in (None, "none"):
                segments += path.get("d", "").count("M")
    assert segments >= 15


def test_a_diverged_run_is_drawn_from_its_last_finite_weights(tmp_path, qapp):
    """`nnviz train` writes its folder (and exits 3) when the weights diverge; so do the plots."""
    config = Config.preset(
        "seed", hidden=(8, 4), activation="linear", loss="bce", learning_rate=50.0, iterations=200
    )
    trainer = Trainer(config)
    for _ in trainer.run(chunk=50):
        pass
    assert trainer.diverged_at is not None
    written = write_plots(tmp_path, trainer)
    assert sorted(path.name for path in written) == FILES
    for name in NAMES:
        assert QImage(str(tmp_path / f"{name}.png")).width() == PLOT_SIZE[0]
        ET.parse(tmp_path / f"{name}.svg")


# -- failures -----------------------------------------------------------------------------------


def test_an_unwritable_folder_raises_and_writes_nothing(trainer, tmp_path, qapp):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(FileFormatError, match="cannot write"):
        write_plots(blocker / "out", trainer)
    with pytest.raises(FileFormatError, match="cannot write"):
        write_plots(blocker, trainer)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file"]
    assert blocker.read_text() == "not a folder"


def test_a_failure_midway_leaves_no_picture(trainer, tmp_path, qapp, monkeypatch):
    (tmp_path / "config.json").write_text("{}")  # the rest of a run folder is left alone
    original = plots.save_svg

    def failing(widget, path, **kwargs):
        if Path(path).name == "roc.svg":
            raise FileFormatError(f"cannot write {path}: No space left on device")
        return original(widget, path, **kwargs)

    monkeypatch.setattr(plots, "save_svg", failing)
    with pytest.raises(FileFormatError, match="No space left"):
        write_plots(tmp_path, trainer)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.json"]


def test_a_failure_while_moving_into_place_takes_back_the_moved_files(trainer, tmp_path, qapp):
    (tmp_path / "roc.svg").mkdir()  # the last rename fails: a folder is in the way
    with pytest.raises(FileFormatError, match=r"roc\.svg"):
        write_plots(tmp_path, trainer)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["roc.svg"]


# -- a headless process -------------------------------------------------------------------------


def test_a_process_with_no_display_and_no_application_draws_offscreen(tmp_path):
    script = (
        "import os, sys\n"
        "from nnviz import Config, Trainer\n"
        "from nnviz.gui.plots import write_plots\n"
        "trainer = Trainer(Config.preset('seed', iterations=200))\n"
        "trainer.step(200)\n"
        "written = write_plots(sys.argv[1], trainer)\n"
        "print(os.environ['QT_QPA_PLATFORM'], len(written))\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["offscreen", "8"]
    assert "propagateSizeHints" not in result.stderr  # the offscreen notice is not shown
    assert sorted(path.name for path in tmp_path.iterdir()) == FILES
