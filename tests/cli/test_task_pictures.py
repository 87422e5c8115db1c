"""`nnviz train --out DIR` draws the four pictures for every task (issue 14): iris's three
classes on its principal plane, a 3-class spiral through feature crosses, and a regression."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

IRIS = "train --dataset iris --hidden 8 --activation tanh --loss ce --optimizer adam "
IRIS += "--learning-rate 0.01 --iterations 3000"
PICTURES = [
    f"{view}.{kind}" for view in ("network", "loss", "boundary", "roc") for kind in ("png", "svg")
]
#: The boundary map's colours of sure regions (class colour at 60% over white), as in style.
REGION_COLORS = {0: (249, 190, 122), 1: (107, 173, 215), 2: (128, 198, 128)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each command in a fresh interpreter, as a user types it, started side by side."""
    base = tmp_path_factory.mktemp("pictures")
    commands = {
        "iris": [*IRIS.split(), "--out", str(base / "iris")],
        "spiral3": ["train", "--preset", "spiral3", "--iterations", "1500", "--out", str(base / "sp")],
        "regression": ["train", "--preset", "regression", "--iterations", "1500", "--out", str(base / "reg")],
    }  # fmt: skip
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    started = {
        name: subprocess.Popen(
            [sys.executable, "-m", "nnviz", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name, args in commands.items()
    }
    results = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=300)
        results[name] = (process.returncode, out, err)
    return base, results


def image(path) -> np.ndarray:
    from PySide6.QtGui import QImage

    picture = QImage(str(path)).convertToFormat(QImage.Format.Format_RGBA8888)
    assert not picture.isNull(), path
    width, height = picture.width(), picture.height()
    rows = np.frombuffer(picture.constBits(), np.uint8).reshape(height, picture.bytesPerLine())
    return rows[:, : width * 4].reshape(height, width, 4)[..., :3].astype(int)


def share_near(pixels: np.ndarray, color: tuple[int, int, int], tolerance: int = 12) -> float:
    return float(np.mean(np.all(np.abs(pixels - np.array(color)) <= tolerance, axis=-1)))


@pytest.mark.parametrize("name", ["iris", "spiral3", "regression"])
def test_every_task_writes_the_four_pictures(runs, name):
    base, results = runs
    code, _, err = results[name]
    assert code == 0, err
    assert "pictures skipped" not in err
    folder = base / {"iris": "iris", "spiral3": "sp", "regression": "reg"}[name]
    for picture in PICTURES:
        assert (folder / picture).stat().st_size > 1000, picture
    assert image(folder / "boundary.png").shape == (450, 600, 3)
    assert (folder / "boundary.svg").read_text().lstrip().startswith("<?xml")


def test_iris_pictures_show_three_regions_on_the_principal_plane(runs):
    base, results = runs
    assert results["iris"][0] == 0
    boundary = image(base / "iris" / "boundary.png")
    for k, color in REGION_COLORS.items():
        assert share_near(boundary, color) > 0.03, f"class {k}'s region"
    svg = (base / "iris" / "boundary.svg").read_text()
    assert "PC1" in svg and "95% of variance" in svg
    network = (base / "iris" / "network.svg").read_text()
    assert all(name in network for name in ("sepal length", "petal width", "p3"))


def test_regression_pictures_plot_predictions_against_targets(runs):
    base, results = runs
    assert results["regression"][0] == 0
    roc = (base / "reg" / "roc.svg").read_text()
    assert "true target" in roc and "R²" in roc
    boundary = image(base / "reg" / "boundary.png")
    orange, blue = (
        (boundary[..., 0] > boundary[..., 2] + 40),
        (boundary[..., 2] > boundary[..., 0] + 40),
    )
    assert orange.mean() > 0.02 and blue.mean() > 0.02  # the surface takes both signs
