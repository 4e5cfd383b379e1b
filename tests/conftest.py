"""Shared fixtures, the --runslow flag (slow tests run with `make test-all`) and test data paths.

Every test runs on a bare clone: data comes from the copies bundled in ``skpose3d/data/``
(:func:`bundled`), never from the maintainers' ``../shared`` (tests/test_datasets.py checks the
bundled files against the originals' SHA-256 instead).
"""

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

# One torch thread unless a test sets its own: on a busy 2-core machine the suite ran 2.5x
# slower with torch's default of one thread per core (threads fight over the cores).
torch.set_num_threads(1)


def bundled(name):
    """Path of a data file shipped in the package (``skpose3d/data/<name>``); it must exist."""
    path = Path(str(resources.files("skpose3d").joinpath("data", name)))
    assert path.is_file(), f"the package's bundled {name} is missing: {path}"
    return path


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow (make test-all)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
