"""Shared fixtures, the --runslow flag (slow tests run with `make test-all`) and test data paths.

Every test runs on a bare clone: data comes from the copies bundled in ``skpose3d/data/``
(:func:`bundled`). Only checks of files that exist solely in the maintainers' ``../shared/data``
beside the repository use :func:`shared`, which skips with a reason starting with
``SHARED_ONLY`` when the file is not there; the summary at the end of the run lists them.
"""

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_ONLY = "only in ../shared"

# One torch thread unless a test sets its own: on a busy 2-core machine the suite ran 2.5x
# slower with torch's default of one thread per core (threads fight over the cores).
torch.set_num_threads(1)


def bundled(name):
    """Path of a data file shipped in the package (``skpose3d/data/<name>``); it must exist."""
    path = Path(str(resources.files("skpose3d").joinpath("data", name)))
    assert path.is_file(), f"the package's bundled {name} is missing: {path}"
    return path


def shared(name):
    """Path of ``../shared/data/<name>``; skip the test when a clone has no ``../shared``."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{SHARED_ONLY}: {path} is not available")
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


def pytest_terminal_summary(terminalreporter):
    """Name the tests skipped for lack of ``../shared``, so that they are never skipped silently."""
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if SHARED_ONLY in str(r.longrepr)
    ]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} test(s) skipped because {SHARED_DATA} is not beside the clone "
            "(they check files that exist only there): " + ", ".join(r.nodeid for r in skipped)
        )


@pytest.fixture
def rng():
    return np.random.default_rng(0)
