"""The plane the boundary view shows of data with more than two inputs: PCA and slices."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from nnviz import Config
from nnviz.core import Dataset, load_dataset
from nnviz.gui.frame import grid_points
from nnviz.gui.plane import Plane, PlaneChoice


@pytest.fixture(scope="module")
def iris():
    return load_dataset(Config.preset("iris"))


def test_two_inputs_are_the_plane_itself():
    data = load_dataset(Config.preset("seed"))
    plane = Plane.of(data, PlaneChoice("slice", (1, 0), 3))  # a choice means nothing in 2-D
    assert plane.kind == "plane" and plane.caption == ""
    assert plane.extent == data.bounds and plane.axis_labels == ("x1", "x2")
    np.testing.assert_array_equal(plane.grid(150), grid_points(data.bounds))
    assert plane.project(data.x_train) is data.x_train


def test_pca_is_sklearns_pca_with_fixed_signs(iris):
    plane = Plane.of(iris, PlaneChoice("pca"))
    reference = PCA(2).fit(iris.x_train)
    assert plane.explained == pytest.approx(reference.explained_variance_ratio_.sum())
    assert plane.caption == "PCA: PC1 × PC2, 95% of variance"
    signs = np.sign(np.sum(plane.basis * reference.components_, axis=1))
    np.testing.assert_allclose(plane.basis, reference.components_ * signs[:, None], atol=1e-12)
    np.testing.assert_allclose(
        plane.project(iris.x_test), reference.transform(iris.x_test) * signs, atol=1e-12
    )
    largest = np.abs(plane.basis).argmax(axis=1)
    assert np.all(plane.basis[[0, 1], largest] > 0)
    uv = np.array([[0.5, -1.0], [2.0, 0.25]])
    np.testing.assert_allclose(plane.project(plane.to_raw(uv)), uv, atol=1e-12)


def test_a_slice_holds_the_other_inputs_at_their_mean_or_a_sample(iris):
    plane = Plane.of(iris, PlaneChoice("slice", (2, 3)))
    assert plane.caption == "slice: petal length × petal width, others at their mean"
    assert plane.axis_labels == ("petal length", "petal width")
    grid = plane.grid(5)
    np.testing.assert_allclose(grid[:, :2], np.tile(iris.x_train[:, :2].mean(axis=0), (25, 1)))
    points = np.vstack([iris.x_train, iris.x_test])[:, 2:]
    assert grid[0, 2:] == pytest.approx([points[:, 0].min() - 0.1 * np.ptp(points[:, 0]),
                                         points[:, 1].min() - 0.1 * np.ptp(points[:, 1])])  # fmt: skip
    at = Plane.of(iris, PlaneChoice("slice", (0, 2), 7))
    assert at.caption == "slice: sepal length × petal length, others at training sample 7"
    np.testing.assert_array_equal(at.grid(3)[:, [1, 3]], np.tile(iris.x_train[7, [1, 3]], (9, 1)))
    np.testing.assert_array_equal(at.project(iris.x_test), iris.x_test[:, [0, 2]])


def test_an_impossible_choice_falls_back(iris):
    plane = Plane.of(iris, PlaneChoice("slice", (3, 3), 10_000))
    assert (plane.axes, plane.sample) == ((0, 1), None)


def test_a_slices_extent_is_the_bounds_of_the_data_on_its_two_inputs(iris):
    plane = Plane.of(iris, PlaneChoice("slice", (3, 1)))
    two = Dataset(iris.x_train[:, [3, 1]], iris.y_train, iris.x_test[:, [3, 1]], iris.y_test,
                  iris.task, iris.n_classes)  # fmt: skip
    assert plane.extent == two.bounds
