"""The JSON side of a model file: estimators, parameters and fitted attributes as tagged data.

:mod:`skpose3d.persistence` owns the file (zip members, manifest, checks, atomic writing); this
module turns an estimator into JSON-compatible data plus tensors and back. JSON has no tuples,
skeletons, arrays or estimators, so those are tagged objects
(``{"__type__": "tuple", "items": [...]}``). Decoding builds only the classes listed here (this
package's estimators and ``nn`` modules, dataclasses, and scikit-learn's ``Pipeline``), looked
up by name, so a file cannot make Python run code.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import numpy as np
import torch
from torch import nn

from .camera import Intrinsics
from .nn.temporal import TemporalConvNet
from .skeleton import Skeleton

_DATACLASSES = {"Skeleton": Skeleton, "Intrinsics": Intrinsics}
# Modules whose estimators a file may hold; a module missing from this version is skipped.
_ESTIMATOR_MODULES = ("skpose3d.lifters", "skpose3d.semi_supervised", "skpose3d.preprocessing")
_PIPELINE = "sklearn.pipeline.Pipeline"


def class_name(obj) -> str:
    """The qualified class name a file records for ``obj``."""
    return f"{type(obj).__module__}.{type(obj).__name__}"


def estimator_classes() -> dict:
    """The estimator classes a file may hold, by qualified name."""
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

    classes = {_PIPELINE: Pipeline}
    for name in _ESTIMATOR_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseEstimator):
                if obj.__module__.startswith("skpose3d.") and not obj.__name__.startswith("_"):
                    classes[f"{obj.__module__}.{obj.__name__}"] = obj
    return classes


def _joblib_hint(what: str) -> str:
    return (
        f"{what} has no code-free file format: only skpose3d's lifters and transformers and "
        "scikit-learn Pipelines of them do. Save the whole object with joblib instead "
        "(joblib.dump(obj, 'model.joblib'); joblib.load runs code stored in the file, so load "
        "only files you trust)"
    )


# -- values ---------------------------------------------------------------------------------


def encode(value, where: str, weights: dict):
    """JSON-compatible data for ``value``; tensors and module weights go into ``weights``.

    ``where`` names the value in error messages and keys its tensors, so it must be unique.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        return encode(value.item(), where, weights)
    if isinstance(value, int | float):
        return value
    if isinstance(value, tuple | list):
        items = [encode(v, f"{where}[{i}]", weights) for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"__type__": "tuple", "items": items}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and "__type__" not in value:
            return {k: encode(v, f"{where}[{k!r}]", weights) for k, v in value.items()}
        pairs = [[encode(k, where, weights), encode(v, f"{where}[{k!r}]", weights)]
                 for k, v in value.items()]  # fmt: skip
        return {"__type__": "dict", "items": pairs}
    if type(value).__name__ in _DATACLASSES and isinstance(value, tuple(_DATACLASSES.values())):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__name__, "fields": encode(fields, where, weights)}
    if isinstance(value, np.ndarray) and value.dtype != object:
        return {"__type__": "ndarray", "dtype": value.dtype.str, "data": value.tolist()}
    if isinstance(value, np.random.RandomState):
        _, keys, pos, has_gauss, gauss = value.get_state()
        state = [keys.tolist(), int(pos), int(has_gauss), float(gauss)]
        return {"__type__": "RandomState", "state": state}
    if isinstance(value, torch.device):
        return {"__type__": "device", "value": str(value)}
    if isinstance(value, torch.Tensor):
        weights["tensors"][where] = value.detach().cpu()
        return {"__type__": "tensor", "key": where}
    if hasattr(value, "get_params") and hasattr(value, "fit"):
        return {"__type__": "estimator", **encode_estimator(value, where, weights)}
    raise TypeError(
        f"cannot save {where}: values of type {type(value).__name__} have no safe file format"
    )


def decode(value, weights: dict):
    """The value :func:`encode` turned into ``value`` (modules get their weights back)."""
    if isinstance(value, list):
        return [decode(v, weights) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("__type__")
    if kind is None:
        return {k: decode(v, weights) for k, v in value.items()}
    if kind == "tuple":
        return tuple(decode(v, weights) for v in value["items"])
    if kind == "dict":
        return {decode(k, weights): decode(v, weights) for k, v in value["items"]}
    if kind in _DATACLASSES:
        return _DATACLASSES[kind](**decode(value["fields"], weights))
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
        return weights["tensors"][value["key"]]
    if kind == "estimator":
        return decode_estimator(value, weights)
    raise ValueError(f"unknown tagged value {kind!r}")


# -- estimators -----------------------------------------------------------------------------


def encode_estimator(estimator, where: str, weights: dict) -> dict:
    """``{"class", "params", "fitted"}`` of a skpose3d estimator or a Pipeline of them."""
    name = class_name(estimator)
    if name not in estimator_classes():
        what = f"{where} ({name})" if where else name
        raise TypeError(_joblib_hint(what))
    prefix = f"{where}." if where else ""
    if name == _PIPELINE:
        for step, obj in estimator.steps:  # name the offending step before encoding anything
            if obj not in (None, "passthrough") and class_name(obj) not in estimator_classes():
                hint = _joblib_hint(f"pipeline step {step!r} ({class_name(obj)})")
                raise TypeError(f"cannot save the pipeline: {hint}")
    params_dict = estimator.get_params(deep=False)
    params = {k: encode(v, f"{prefix}parameter {k!r}", weights) for k, v in params_dict.items()}
    fitted = {}
    for attr, value in vars(estimator).items():
        if attr in params_dict:
            continue
        if isinstance(value, nn.Module):
            key = prefix + attr  # a lifter's own networks keep their attribute name as key
            weights["modules"][key] = {k: v.detach().cpu() for k, v in value.state_dict().items()}
            config = _module_config(value, f"{prefix}attribute {attr!r}")
            fitted[attr] = {"__type__": "module", "key": key, **config}
        else:
            fitted[attr] = encode(value, f"{prefix}attribute {attr!r}", weights)
    return {"class": name, "params": params, "fitted": fitted}


def decode_estimator(spec: dict, weights: dict, cls=None):
    """Build the estimator of ``spec`` (``cls`` when the caller has looked it up already)."""
    if cls is None:
        classes = estimator_classes()
        if spec.get("class") not in classes:
            raise ValueError(f"unknown estimator class {spec.get('class')!r}")
        cls = classes[spec["class"]]
    estimator = cls(**decode(spec["params"], weights))
    set_fitted(estimator, spec["fitted"], weights)
    return estimator


def set_fitted(estimator, fitted: dict, weights: dict) -> None:
    """Give ``estimator`` the decoded attributes of ``fitted``."""
    for attr, value in fitted.items():
        if not attr.isidentifier() or attr.startswith("__"):
            raise ValueError(f"invalid attribute name {attr!r}")
        if isinstance(value, dict) and value.get("__type__") == "module":
            key = value.get("key", attr)  # format version 1 keyed weights by attribute name
            value = _build_module(value, weights["modules"].get(key), attr)
        else:
            value = decode(value, weights)
        setattr(estimator, attr, value)


# -- torch modules --------------------------------------------------------------------------


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
    no_tensors = {"tensors": {}, "modules": {}}
    return {"class": type(module).__name__, "kwargs": encode(kwargs, where, no_tensors)}


def _module_classes() -> dict:
    """The nn.Module classes of :mod:`skpose3d.nn`, by name: the only ones a file may build."""
    from . import nn as package

    classes = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, nn.Module):
                if obj.__module__ == module.__name__:
                    classes[obj.__name__] = obj
    return classes


def _build_module(spec: dict, state_dict, where: str) -> nn.Module:
    classes = _module_classes()
    if spec.get("class") not in classes:
        raise ValueError(f"unknown module class {spec.get('class')!r} for {where}")
    module = classes[spec["class"]](**decode(spec["kwargs"], {"tensors": {}, "modules": {}}))
    if state_dict is None:
        raise ValueError(f"no weights stored for {where}")
    module.load_state_dict(state_dict, strict=True)
    return module.eval()
