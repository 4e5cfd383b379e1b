"""How a lifter is stored: its pickle state and its model files (internal API of the lifters).

The file format and its checks live in :mod:`skpose3d.persistence`; this mixin gives the
lifters their ``save``/``load`` methods and keeps pickles loadable on CPU-only machines.
"""

from __future__ import annotations

import copy


class StoredLifterMixin:
    """``save``, ``load`` and a CPU pickle state for the lifters (fitted networks on CPU)."""

    def __getstate__(self):
        # Keep pickles loadable on CPU-only machines.
        state = self.__dict__.copy()
        for key in ("module_", "trajectory_module_"):
            if state.get(key) is not None:
                state[key] = copy.deepcopy(state[key]).cpu()
        return state

    def save(self, path):
        """Write the lifter to ``path`` in a format that runs no code when loaded.

        JSON parameters and fitted attributes plus tensor-only weights in one zip file; see
        :mod:`skpose3d.persistence`. Returns the path.
        """
        from .persistence import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Load a lifter written by :meth:`save`; ``device`` overrides the saved device.

        Raises ``ValueError`` naming the file if it is truncated, corrupted, not a skpose3d
        model, or holds an estimator that is not a ``cls``.
        """
        from .persistence import load_model

        model = load_model(path, device=device)
        if not isinstance(model, cls):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model
