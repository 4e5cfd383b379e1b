"""Saving and loading fitted lifters in a format that cannot run code, and exporting them.

A model file is a zip archive with four members:

``manifest.json``
    ``{"format": "skpose3d-model", "format_version": 1, "skpose3d_version": ...,
    "torch_version": ..., "estimator": "skpose3d.lifters.TemporalPoseLifter"}``.
``params.json``
    The constructor parameters (``get_params(deep=False)``).
``fitted.json``
    Every other instance attribute (``history_``, skeletons, ...); torch modules appear as their
    class name and constructor arguments.
``weights.pt``
    ``{"modules": {attribute: state_dict}, "tensors": {attribute: tensor}}`` written by
    :func:`torch.save` and read with ``torch.load(weights_only=True, map_location="cpu")``.

JSON has no tuples, skeletons or arrays, so those are written as tagged objects
(``{"__type__": "tuple", "items": [...]}``). Loading builds only classes of this package,
looked up by name in a fixed set, so a file cannot make Python run code; a file written by a
CUDA model loads on a CPU-only machine.

To run a fitted lifter outside Python see :mod:`skpose3d.export` (TorchScript and ONNX).
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .camera import Intrinsics
from .nn.temporal import TemporalConvNet
from .skeleton import Skeleton

__all__ = ["FORMAT_VERSION", "load_model", "save_model"]

FORMAT_NAME = "skpose3d-model"
FORMAT_VERSION = 1
_MEMBERS = ("manifest.json", "params.json", "fitted.json", "weights.pt")
_DATACLASSES = {"Skeleton": Skeleton, "Intrinsics": Intrinsics}
_ESTIMATOR_MODULES = ("skpose3d.lifters", "skpose3d.semi_supervised")


# -- JSON encoding of parameters and fitted attributes ------------------------------------------


def _encode(value, where: str, tensors: dict):
    """Turn ``value`` into JSON-compatible data; tensors are set aside in ``tensors``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        return _encode(value.item(), where, tensors)
    if isinstance(value, int | float):
        return value
    if isinstance(value, tuple | list):
        items = [_encode(v, f"{where}[{i}]", tensors) for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"__type__": "tuple", "items": items}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and "__type__" not in value:
            return {k: _encode(v, f"{where}[{k!r}]", tensors) for k, v in value.items()}
        pairs = [[_encode(k, where, tensors), _encode(v, where, tensors)] for k, v in value.items()]
        return {"__type__": "dict", "items": pairs}
    if type(value).__name__ in _DATACLASSES and isinstance(value, tuple(_DATACLASSES.values())):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__name__, "fields": _encode(fields, where, tensors)}
    if isinstance(value, np.ndarray) and value.dtype != object:
        return {"__type__": "ndarray", "dtype": value.dtype.str, "data": value.tolist()}
    if isinstance(value, np.random.RandomState):
        _, keys, pos, has_gauss, gauss = value.get_state()
        state = [keys.tolist(), int(pos), int(has_gauss), float(gauss)]
        return {"__type__": "RandomState", "state": state}
    if isinstance(value, torch.device):
        return {"__type__": "device", "value": str(value)}
    if isinstance(value, torch.Tensor):
        tensors[where] = value.detach().cpu()
        return {"__type__": "tensor", "key": where}
    raise TypeError(
        f"cannot save {where}: values of type {type(value).__name__} have no safe file format"
    )


def _decode(value, tensors: dict):
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("__type__")
    if kind is None:
        return {k: _decode(v, tensors) for k, v in value.items()}
    if kind == "tuple":
        return tuple(_decode(v, tensors) for v in value["items"])
    if kind == "dict":
        return {_decode(k, tensors): _decode(v, tensors) for k, v in value["items"]}
    if kind in _DATACLASSES:
        return _DATACLASSES[kind](**_decode(value["fields"], tensors))
    if kind == "ndarray":
        return np.array(value["data"], dtype=np.dtype(value["dtype"]))
    if kind == "RandomState":
        keys, pos, has_gauss, gauss = value["state"]
        rs = np.random.RandomState()
        rs.set_state(("MT19937", np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
        return rs
    if kind == "device":
        return torch.device(value["value"])
    if kind == "tensor":
        return tensors[value["key"]]
    raise ValueError(f"unknown tagged value {kind!r}")


# -- torch modules ------------------------------------------------------------------------------


def _module_config(module: nn.Module, where: str) -> dict:
    """Class name and constructor arguments that rebuild ``module`` (weights aside)."""
    if isinstance(module, TemporalConvNet):
        kwargs = {
            "n_joints_in": module.n_joints_in,
            "in_features": module.in_features,
            "n_joints_out": module.n_joints_out,
            "filter_widths": module.filter_widths,
            "channels": module.expand_conv.out_channels,
            "dropout": module.dropout.p,
            "causal": module.causal,
            "out_features": module.out_features,
        }
    elif hasattr(module, "get_config") and type(module).__module__.startswith("skpose3d.nn"):
        kwargs = module.get_config()
    else:
        raise TypeError(
            f"cannot save {where}: {type(module).__name__} is not a skpose3d.nn module with a "
            "known configuration (TemporalConvNet, or a get_config() method)"
        )
    return {"class": type(module).__name__, "kwargs": _encode(kwargs, where, {})}


def _module_classes() -> dict:
    """The nn.Module classes of :mod:`skpose3d.nn`, by name: the only ones a file may build."""
    import pkgutil

    from . import nn as package

    classes = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, nn.Module):
                if obj.__module__ == module.__name__:
                    classes[obj.__name__] = obj
    return classes


def _estimator_classes() -> dict:
    """Estimator classes of this package by qualified name."""
    from sklearn.base import BaseEstimator

    classes = {}
    for name in _ESTIMATOR_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseEstimator):
                if obj.__module__.startswith("skpose3d."):
                    classes[f"{obj.__module__}.{obj.__name__}"] = obj
    return classes


# -- save / load --------------------------------------------------------------------------------


def save_model(estimator, path) -> Path:
    """Write a (fitted or unfitted) skpose3d estimator to ``path``.

    Parameters
    ----------
    estimator : TemporalPoseLifter or another skpose3d estimator
    path : str or path-like
        The file to write (replaced atomically if it exists).

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        If a parameter or attribute has a type with no safe representation (the file is then
        not written).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skpose3d import TemporalPoseLifter
    >>> from skpose3d.persistence import load_model, save_model
    >>> X, y = [np.zeros((9, 17, 2))], [np.zeros((9, 17, 3))]
    >>> lifter = TemporalPoseLifter(channels=8, n_epochs=1, random_state=0).fit(X, y)
    >>> path = save_model(lifter, os.path.join(tempfile.mkdtemp(), "lifter.skp3d"))
    >>> np.allclose(load_model(path).predict(X)[0], lifter.predict(X)[0])
    True
    """
    path = Path(path)
    name = f"{type(estimator).__module__}.{type(estimator).__name__}"
    if name not in _estimator_classes():
        raise TypeError(f"save_model supports skpose3d estimators, got {name}")
    params_dict = estimator.get_params(deep=False)
    params = {k: _encode(v, f"parameter {k!r}", {}) for k, v in params_dict.items()}
    fitted, weights = {}, {"modules": {}, "tensors": {}}
    for attr, value in vars(estimator).items():
        if attr in params_dict:
            continue
        if isinstance(value, nn.Module):
            fitted[attr] = {"__type__": "module", **_module_config(value, f"attribute {attr!r}")}
            weights["modules"][attr] = {k: v.detach().cpu() for k, v in value.state_dict().items()}
        else:
            fitted[attr] = _encode(value, f"attribute {attr!r}", weights["tensors"])
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "skpose3d_version": _package_version(),
        "torch_version": torch.__version__,
        "estimator": name,
    }
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for member, data in zip(_MEMBERS[:3], (manifest, params, fitted)):
                zf.writestr(member, json.dumps(data, indent=1))
            zf.writestr("weights.pt", buffer.getvalue(), compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


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
    classes = _estimator_classes()
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


def _build_module(spec: dict, state_dict, attr: str) -> nn.Module:
    classes = _module_classes()
    if spec.get("class") not in classes:
        raise ValueError(f"unknown module class {spec.get('class')!r} for {attr}")
    module = classes[spec["class"]](**_decode(spec["kwargs"], {}))
    if state_dict is None:
        raise ValueError(f"no weights stored for {attr}")
    module.load_state_dict(state_dict, strict=True)
    return module.eval()


def load_model(path, *, device=None):
    """Load an estimator written by :func:`save_model` (never runs code from the file).

    Parameters
    ----------
    path : str or path-like
    device : str or None, default=None
        If given, replaces the saved ``device`` parameter (e.g. ``"cpu"`` for a model whose
        ``device`` was ``"cuda"``). Weights are always loaded onto the CPU first.

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
    """
    path = Path(path)
    members = _read_members(path)
    cls = _check_manifest(path, _read_json(path, members, "manifest.json"))
    params_json = _read_json(path, members, "params.json")
    fitted_json = _read_json(path, members, "fitted.json")
    weights = _read_weights(path, members["weights.pt"])
    member = "params.json"
    try:
        estimator = cls(**_decode(params_json, {}))
        if device is not None:
            estimator.set_params(device=device)
        member = "fitted.json"
        for attr, value in fitted_json.items():
            if not attr.isidentifier() or attr.startswith("__"):
                raise ValueError(f"invalid attribute name {attr!r}")
            if isinstance(value, dict) and value.get("__type__") == "module":
                state = weights["modules"].get(attr)
                setattr(estimator, attr, _build_module(value, state, attr))
            else:
                setattr(estimator, attr, _decode(value, weights["tensors"]))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        raise ValueError(
            f"{path}: {member} does not describe a valid {cls.__name__} ({exc})"
        ) from (None)
    return estimator
