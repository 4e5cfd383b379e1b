"""Sphinx configuration of the skpose3d documentation.

Build with ``make docs`` (warnings are errors). The gallery is built from ``examples/`` by
sphinx-gallery, which runs every example in its quick mode (``SKPOSE3D_EXAMPLES_QUICK=1``: a few
short clips, one epoch) to show its printed output and figures; ``SKPOSE3D_DOCS_RUN_EXAMPLES=0``
(``make docs DOCS_RUN_EXAMPLES=0``) renders the code only.
"""

import importlib
import inspect
import os
import pkgutil
import re
import sys
import types
from pathlib import Path

from sphinx.util import logging

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

import skpose3d  # noqa: E402

project = "skpose3d"
author = "the skpose3d developers"
copyright = "2025, the skpose3d developers"
release = skpose3d.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
default_role = "py:obj"
# Every reference to skpose3d must resolve; other projects are not linked (no intersphinx, so
# that the build works offline).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!skpose3d\b).*"), (r"py:.*", r"skpose3d\.__main__\..*")]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
# numpydoc lists methods itself through the class template; its own member tables would
# duplicate them and point at pages that do not exist.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "alabaster"
html_static_path = []
html_title = f"skpose3d {release}"

_run_examples = os.environ.get("SKPOSE3D_DOCS_RUN_EXAMPLES", "1") == "1"
if _run_examples:
    # Rendering the gallery runs every example; the quick mode keeps the build short.
    os.environ.setdefault("SKPOSE3D_EXAMPLES_QUICK", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")

sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/",  # every example, when the gallery is run at all
    "plot_gallery": _run_examples,
    "doc_module": ("skpose3d",),
    "backreferences_dir": "gen_modules/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "write_computation_times": False,  # it would write sg_execution_times.rst into the sources
}


# -- every public name is in the API reference --------------------------------------------------


def public_names() -> dict[str, list[str]]:
    """Public names per public module of the package (``__all__``, else names defined there)."""
    out = {}
    for info in pkgutil.walk_packages(skpose3d.__path__, "skpose3d."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts):
            continue
        module = importlib.import_module(info.name)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [
                name
                for name, obj in vars(module).items()
                if not name.startswith("_") and getattr(obj, "__module__", None) == info.name
                and callable(obj)
            ]  # fmt: skip
        if info.ispkg:
            # A package's ``__all__`` re-exports names documented in their own modules.
            names = [name for name in names if not _reexported(module, name)]
        out[info.name] = sorted(n for n in names if not n.startswith("__"))
    return out


def _data_home(package, name: str) -> str | None:
    """The public submodule of ``package`` that defines the data constant ``name``, if any.

    Classes and functions carry their module in ``__module__``; data constants (a tuple, a
    dict, a scorer) do not, so the defining submodule is the one listing the object in __all__.
    """
    obj = getattr(package, name, None)
    for info in pkgutil.iter_modules(getattr(package, "__path__", []), f"{package.__name__}."):
        if info.name.rsplit(".", 1)[1].startswith("_"):
            continue  # private modules (and __main__, which runs the CLI when imported)
        submodule = importlib.import_module(info.name)
        if name in getattr(submodule, "__all__", ()) and getattr(submodule, name) is obj:
            return info.name
    return None


def _is_data(obj) -> bool:
    # Instances (a dict, a scorer) report their class's module, not where they are defined.
    return not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj))


def _reexported(package, name: str) -> bool:
    """Whether ``package.name`` is defined (and so documented) in one of its public modules."""
    obj = getattr(package, name, None)
    if _is_data(obj):
        return _data_home(package, name) is not None
    return getattr(obj, "__module__", package.__name__) != package.__name__


def documented_names() -> set[str]:
    """Fully qualified names listed in the autosummary tables of ``api.rst``."""
    documented, current = set(), None
    for line in (DOCS / "api.rst").read_text().splitlines():
        match = re.match(r"\.\. currentmodule:: (\S+)", line.strip())
        if match:
            current = match.group(1)
        elif current and re.fullmatch(r"    [A-Za-z]\w*", line):
            documented.add(f"{current}.{line.strip()}")
    return documented


def check_api_reference(app):
    """Warn (an error under ``-W``) for each public name missing from ``api.rst``."""
    logger = logging.getLogger("skpose3d.api")
    documented = documented_names()
    for module, names in public_names().items():
        for name in names:
            if f"{module}.{name}" not in documented:
                logger.warning(f"{module}.{name} is public but missing from docs/api.rst")


# -- names re-exported by the package resolve to where they are documented ---------------------


def resolve_reexport(app, env, node, contnode):
    """Resolve ``skpose3d.TemporalPoseLifter`` to ``skpose3d.lifters.TemporalPoseLifter``."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("skpose3d."):
        return None
    obj = parent = skpose3d
    for part in target.split(".")[1:]:
        parent, obj = obj, getattr(obj, part, None)
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if _is_data(obj) and isinstance(parent, types.ModuleType):  # a re-exported data constant
        module, name = _data_home(parent, target.rsplit(".", 1)[1]), target.rsplit(".", 1)[1]
    if not (module and name) or f"{module}.{name}" == target:
        return None
    canonical = f"{module}.{name}"
    return env.get_domain("py").resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode
    )


def setup(app):
    app.connect("builder-inited", check_api_reference)
    app.connect("missing-reference", resolve_reexport)
