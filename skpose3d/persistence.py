"""Saving and loading fitted lifters and pipelines in a format that cannot run code.

:func:`save` and :func:`load` (also named :func:`save_model` and :func:`load_model`) handle
skpose3d's estimators: the lifters, the :mod:`skpose3d.preprocessing` transformers, and
scikit-learn :class:`~sklearn.pipeline.Pipeline` objects made of them. A model file is a zip
archive with four members:

``manifest.json``
    ``{"format": "skpose3d-model", "format_version": 2, "skpose3d_version": ...,
    "torch_version": ..., "estimator": "skpose3d.lifters.TemporalPoseLifter"}``.
``params.json``
    The constructor parameters (``get_params(deep=False)``); a pipeline's steps are tagged
    ``{"__type__": "estimator", "class": ..., "params": ..., "fitted": ...}`` objects.
``fitted.json``
    Every other instance attribute (``history_``, skeletons, ...); torch modules appear as their
    class name, constructor arguments and the key of their weights.
``weights.pt``
    ``{"modules": {key: state_dict}, "tensors": {key: tensor}}`` written by
    :func:`torch.save` and read with ``torch.load(weights_only=True, map_location="cpu")``.

JSON has no tuples, skeletons or arrays, so those are written as tagged objects
(``{"__type__": "tuple", "items": [...]}``, see ``skpose3d._model_format``). Loading builds
only classes of this package and ``Pipeline``, looked up by name in a fixed set, so a file
cannot make Python run code; a file written by a CUDA model loads on a CPU-only machine. Format
version 1 files (lifters only, written before pipelines were supported) still load.

Estimators of other packages have no such format: a pipeline with one of them raises a
``TypeError`` naming the step and pointing to :func:`joblib.dump` (which pickles, so its files
can run code when loaded).

To run a fitted lifter outside Python see :mod:`skpose3d.export` (TorchScript and ONNX).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import zipfile
import zlib
from pathlib import Path

import torch

from ._model_format import decode, encode_estimator, estimator_classes, set_fitted

__all__ = ["FORMAT_VERSION", "load", "load_model", "save", "save_model"]

FORMAT_NAME = "skpose3d-model"
FORMAT_VERSION = 2
"""int : The file format version written; versions 1 up to this one are read."""
_MEMBERS = ("manifest.json", "params.json", "fitted.json", "weights.pt")


def save(estimator, path) -> Path:
    """Write a (fitted or unfitted) skpose3d estimator or pipeline to ``path``.

    Parameters
    ----------
    estimator : estimator
        A lifter (:class:`~skpose3d.lifters.TemporalPoseLifter`,
        :class:`~skpose3d.semi_supervised.SemiSupervisedLifter`),
        a :mod:`skpose3d.preprocessing` transformer, or a :class:`~sklearn.pipeline.Pipeline`
        whose steps are such estimators (or ``"passthrough"``).
    path : str or path-like
        The file to write (replaced atomically if it exists). It gets the usual permissions of
        a new file (``0o666`` less the umask), like any other file the process writes.

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        If the estimator, a pipeline step, a parameter or an attribute has no safe
        representation; the message names it (and says how to save it with joblib instead).
        The file is then not written and an existing file is left as it was.

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn.pipeline import make_pipeline
    >>> from skpose3d import TemporalPoseLifter
    >>> from skpose3d.persistence import load, save
    >>> from skpose3d.preprocessing import ScreenNormalizer
    >>> X, y = [np.full((9, 17, 2), 500.0)], [np.zeros((9, 17, 3))]
    >>> model = make_pipeline(
    ...     ScreenNormalizer((1000, 1000)),
    ...     TemporalPoseLifter(channels=8, n_epochs=1, random_state=0),
    ... ).fit(X, y)
    >>> path = save(model, os.path.join(tempfile.mkdtemp(), "model.skp3d"))
    >>> np.allclose(load(path).predict(X)[0], model.predict(X)[0])
    True
    """
    path = Path(path)
    weights = {"modules": {}, "tensors": {}}
    spec = encode_estimator(estimator, "", weights)  # raises before anything is written
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "skpose3d_version": _package_version(),
        "torch_version": torch.__version__,
        "estimator": spec["class"],
    }
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    members = {
        "manifest.json": json.dumps(manifest, indent=1),
        "params.json": json.dumps(spec["params"], indent=1),
        "fitted.json": json.dumps(spec["fitted"], indent=1),
    }
    _write_atomically(path, members, buffer.getvalue())
    return path


def _write_atomically(path: Path, members: dict, weights: bytes) -> None:
    """Write the archive to a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # os.open applies the umask to 0o666 as open() does; tempfile.mkstemp would make it 0o600.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, text in members.items():
                zf.writestr(member, text)
            zf.writestr("weights.pt", weights, compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# The names used before save/load; kept so that existing code and files keep working.
save_model = save


def _package_version() -> str:
    # Imported late: skpose3d/__init__.py sets __version__ after importing its modules.
    from . import __version__

    return __version__


def _read_members(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        with zipfile.ZipFile(path) as zf:
            missing = [m for m in _MEMBERS if m not in zf.namelist()]
            if missing:
                raise ValueError(
                    f"{path} is not a skpose3d model file: the archive lacks {', '.join(missing)}"
                )
            return {m: zf.read(m) for m in _MEMBERS}
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise ValueError(
            f"{path} is not a readable skpose3d model file (not a zip archive, or truncated or "
            f"corrupted: {exc})"
        ) from None


def _read_json(path: Path, members: dict, member: str):
    try:
        return json.loads(members[member].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {member} is not valid JSON ({exc})") from None


def _check_manifest(path: Path, manifest) -> type:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not a skpose3d model file (manifest format is not "
                         f"{FORMAT_NAME!r})")  # fmt: skip
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer skpose3d ({manifest.get('skpose3d_version')}, file "
            f"format version {version}); skpose3d {_package_version()} reads format versions up to "
            f"{FORMAT_VERSION}: upgrade skpose3d to load it"
        )
    classes = estimator_classes()
    name = manifest.get("estimator")
    if name not in classes:
        raise ValueError(
            f"{path} holds an estimator {name!r} that this skpose3d does not provide "
            f"(known: {sorted(classes)})"
        )
    return classes[name]


def _read_weights(path: Path, data: bytes) -> dict:
    try:
        weights = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises many types for damaged or unsafe payloads
        raise ValueError(f"{path}: weights.pt cannot be read safely ({exc})") from None
    if not (isinstance(weights, dict) and {"modules", "tensors"} <= set(weights)):
        raise ValueError(f"{path}: weights.pt does not hold skpose3d weights")
    return weights


def load(path, *, device=None):
    """Load an estimator or pipeline written by :func:`save` (never runs code from the file).

    Parameters
    ----------
    path : str or path-like
    device : str or None, default=None
        If given, replaces the saved ``device`` parameter of every estimator that has one
        (e.g. ``"cpu"`` for a model whose ``device`` was ``"cuda"``). Weights are always loaded
        onto the CPU first.

    Returns
    -------
    estimator

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a skpose3d model file, is truncated or corrupted, or was written by
        a newer format version; the message names the file and the problem.

    See Also
    --------
    save : Write the file.
    """
    path = Path(path)
    members = _read_members(path)
    cls = _check_manifest(path, _read_json(path, members, "manifest.json"))
    params_json = _read_json(path, members, "params.json")
    fitted_json = _read_json(path, members, "fitted.json")
    weights = _read_weights(path, members["weights.pt"])
    member = "params.json"
    try:
        estimator = cls(**decode(params_json, weights))
        member = "fitted.json"
        set_fitted(estimator, fitted_json, weights)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        raise ValueError(
            f"{path}: {member} does not describe a valid {cls.__name__} ({exc})"
        ) from None
    if device is not None:
        _set_device(estimator, device)
    return estimator


load_model = load


def _set_device(estimator, device) -> None:
    for step in getattr(estimator, "steps", None) or []:
        if step[1] not in (None, "passthrough"):
            _set_device(step[1], device)
    if "device" in estimator.get_params(deep=False):
        estimator.set_params(device=device)
