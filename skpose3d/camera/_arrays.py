"""Array helpers of the camera functions: one code path for numpy arrays and torch tensors.

A function returns a tensor as soon as one input is a tensor, so the torch path is
differentiable and runs on any device; without a tensor nothing here touches torch.
"""

from __future__ import annotations

import sys

import numpy as np


def _is_tensor(x) -> bool:
    # Looking torch up in sys.modules keeps this module importable (and cheap) without torch:
    # a tensor can only exist once torch has been imported.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _as_float(x):
    """Return ``x`` as a floating numpy array or tensor (integers become float64/default)."""
    if _is_tensor(x):
        if x.is_floating_point():
            return x
        return x.to(sys.modules["torch"].get_default_dtype())
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _common(*values):
    """Make all values floating numpy arrays, or tensors (on the first tensor's device and
    dtype) if any is a tensor; tensors keep their dtype, torch promotes mixed precisions."""
    tensors = [v for v in values if _is_tensor(v)]
    if not tensors:
        return [_as_float(v) for v in values]
    torch = sys.modules["torch"]
    ref = tensors[0]
    dtype = ref.dtype if ref.is_floating_point() else torch.get_default_dtype()
    return [
        _as_float(v) if _is_tensor(v) else torch.as_tensor(v, dtype=dtype, device=ref.device)
        for v in values
    ]


def _cat(parts):
    """Concatenate along the last axis (numpy or torch, decided by the first part)."""
    if _is_tensor(parts[0]):
        return sys.modules["torch"].cat(parts, dim=-1)
    return np.concatenate(parts, axis=-1)


def _check_last(x, size, name, *, at_least=False):
    if x.ndim < 1 or not (x.shape[-1] >= size if at_least else x.shape[-1] == size):
        want = f"at least {size}" if at_least else str(size)
        raise ValueError(f"{name} must have {want} values on its last axis, got {tuple(x.shape)}.")


def _permute_joints(X, perm):
    if _is_tensor(X):
        perm = sys.modules["torch"].as_tensor(perm, device=X.device)
    return X[..., perm, :]
