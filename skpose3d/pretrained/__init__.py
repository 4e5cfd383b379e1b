"""Pretrained lifters: 2D keypoints of a common detector in, Human3.6M-17 3D poses out.

The models were trained by ``benchmarks/train_pretrained.py`` on CMU motion capture
(``cmu_mocap17_large.npz``, subjects 1, 2, 3, 5 and 6) filmed by virtual cameras like the ones
people film with (:class:`~skpose3d.datasets.wild_cameras.WildCameras`), with the package's
detector noise, in each detector's keypoint layout mapped to Human3.6M joints; subjects 7, 8 and
9 were held out for the evaluation (``benchmarks/pretrained_eval.py``). Their files ship in
``skpose3d/pretrained/models/`` with a registry (``registry.json``) of what each model is, how it
was trained and how well it did. See the user guide's "Pretrained models" page for the model
cards.

- :func:`list_models`: the names.
- :func:`describe`: what a model is (input layout, receptive field, training data, licence,
  evaluation figures).
- :func:`load`: a fitted :class:`~sklearn.pipeline.Pipeline` (gap filling, mapping to
  Human3.6M joints, optional normalisation of pixels, the lifter).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["describe", "list_models", "load", "MODELS_DIR"]

MODELS_DIR = Path(__file__).resolve().parent / "models"
"""Path : Folder of the shipped model files and ``registry.json``."""

_REGISTRY = MODELS_DIR / "registry.json"


@lru_cache(maxsize=1)
def _registry() -> dict:
    if not _REGISTRY.exists():
        return {}
    return json.loads(_REGISTRY.read_text())["models"]


def list_models() -> list[str]:
    """Names of the shipped pretrained models.

    Returns
    -------
    list of str
        Sorted names such as ``"coco-243"`` (input layout, receptive field, ``-causal`` for
        models usable with :class:`~skpose3d.StreamingLifter`).

    See Also
    --------
    describe : What a model is and how well it did.
    load : The model as a fitted estimator.

    Examples
    --------
    >>> from skpose3d import pretrained
    >>> "coco-243" in pretrained.list_models()
    True
    """
    return sorted(_registry())


def _entry(name) -> dict:
    models = _registry()
    if not isinstance(name, str) or name not in models:
        raise ValueError(
            f"unknown pretrained model {name!r}; available: {', '.join(list_models()) or 'none'}"
        )
    return models[name]


def describe(name) -> dict:
    """What a pretrained model is, how it was trained and how well it did.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.

    Returns
    -------
    dict
        A copy of the model's registry entry, with at least:

        - ``input_skeleton``: the detector layout it takes (``"h36m"``, ``"coco"``, ``"mpii"``,
          ``"mediapipe"``); ``output_skeleton`` is always ``"h36m"``;
        - ``receptive_field`` (frames) and ``causal`` (True: usable frame by frame with
          :class:`~skpose3d.StreamingLifter`);
        - ``training_data``, ``cameras``, ``noise``, ``training`` (configuration, seed, time,
          commit), ``weights`` (file, bytes, dtype and the measured effect of float16 storage);
        - ``licence`` and ``acknowledgement``;
        - ``evaluation``: MPJPE, P-MPJPE and MPJVE (mm) on held-out CMU subjects under the
          training camera distribution (``"wild_cameras"``) and a fixed Human3.6M-like rig
          (``"h36m_rig"``), beside the mean-pose baseline.

    Raises
    ------
    ValueError
        If ``name`` is not a shipped model; the message lists the available ones.

    Examples
    --------
    >>> from skpose3d import pretrained
    >>> info = pretrained.describe("coco-243")
    >>> info["input_skeleton"], info["receptive_field"], info["causal"]
    ('coco', 243, False)
    """
    return copy.deepcopy(_entry(name))


def _load_lifter(name, device=None):
    """The model's fitted lifter alone (Human3.6M-17 input, normalised coordinates)."""
    from ..persistence import load as load_file

    entry = _entry(name)
    path = MODELS_DIR / entry["weights"]["file"]
    if not path.exists():
        raise FileNotFoundError(f"pretrained model {name!r}: its file {path} is missing")
    lifter = load_file(path, device=device)
    lifter.set_params(image_size=None)
    return lifter


def load(name, image_size=None, *, device=None):
    """A pretrained model as a fitted scikit-learn estimator.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.
    image_size : (float, float) or None, default=None
        Width and height in pixels of the images the keypoints come from: the keypoints given
        to ``predict`` are then pixels of that size. None: they are in normalised screen
        coordinates (``x / w * 2 - [1, h / w]``, see
        :func:`skpose3d.camera.normalize_screen_coordinates`).
    device : str or None, default=None
        Where the lifter runs (``"cpu"``, ``"cuda"``, ``"auto"``); None keeps the saved
        ``"auto"``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted steps ``fill`` (:class:`~skpose3d.preprocessing.GapFiller`: interpolates NaN
        keypoints and zero-confidence ones, drops the confidence), ``map``
        (:class:`~skpose3d.preprocessing.KeypointMapper` from the model's input layout to
        Human3.6M-17), ``normalize`` (:class:`~skpose3d.preprocessing.ScreenNormalizer`, only
        with ``image_size``) and ``lifter`` (:class:`~skpose3d.TemporalPoseLifter`). Its
        ``predict`` takes a list of ``(T, J, 2)`` or ``(T, J, 3)`` (x, y, confidence) videos in
        the model's input layout and returns an object array of ``(T, 17, 3)`` root-relative
        Human3.6M poses in camera space, metres.

    Raises
    ------
    ValueError
        If ``name`` is not a shipped model; the message lists the available ones.

    See Also
    --------
    describe : The model card's facts.
    skpose3d.StreamingLifter : Frame-by-frame use of a causal model
        (``StreamingLifter(load(name)[-1])`` on mapped, normalised keypoints).

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d import pretrained
    >>> model = pretrained.load("coco-243", image_size=(1920, 1080))
    >>> video = np.random.default_rng(0).uniform(400, 1500, size=(50, 17, 3))  # pixels, conf.
    >>> model.predict([video])[0].shape
    (50, 17, 3)
    """
    from sklearn.pipeline import Pipeline

    from ..camera import check_image_size
    from ..preprocessing import GapFiller, KeypointMapper, ScreenNormalizer

    entry = _entry(name)
    lifter = _load_lifter(name, device=device)
    layout = entry["input_skeleton"]
    steps = [
        ("fill", GapFiller(drop_confidence=True)),
        ("map", KeypointMapper(layout, "h36m")),
    ]
    if image_size is not None:
        steps.append(("normalize", ScreenNormalizer(tuple(check_image_size(image_size)))))
    n_in = {"h36m": 17, "coco": 17, "mpii": 16, "mediapipe": 33}[layout]
    example = [np.zeros((1, n_in, 2))]
    for _, step in steps:  # stateless transformers: fitted so the pipeline counts as fitted
        example = step.fit(example).transform(example)
    return Pipeline([*steps, ("lifter", lifter)])
