"""Fixtures of the cluster tests: the local run the clusters' tables are compared with."""

from __future__ import annotations

import pytest
from cluster_helpers import ARTICLE, nnviz_sweep


@pytest.fixture(scope="session")
def local_article(tmp_path_factory):
    """`nnviz sweep --preset article` on this machine, run once for every engine's test."""
    out = tmp_path_factory.mktemp("local_article")
    done = nnviz_sweep(*ARTICLE, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out
