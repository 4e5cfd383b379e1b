"""Train every shipped pretrained model (``skpose3d/pretrained/models/``) from ``../shared`` data.

    python benchmarks/train_pretrained.py            # all models, ~25 min on 2 loaded CPU cores
    python benchmarks/train_pretrained.py --models coco-243 --out /tmp/models

Data: ``cmu_mocap17_large.npz`` (``SKPOSE3D_CMU_LARGE`` overrides its path), training subjects
:data:`TRAIN_SUBJECTS`; subjects 7, 8 and 9 are held out for ``benchmarks/pretrained_eval.py``.
Clips are cut into segments of at most :data:`SEGMENT_FRAMES` frames and each segment is filmed
once by a camera drawn from :class:`~skpose3d.datasets.wild_cameras.WildCameras`, at 60 or 30 fps,
in the model's detector layout with the detector noise, then filled, mapped to Human3.6M-17 and
normalised (:func:`~skpose3d.datasets.wild_cameras.make_wild_views`).

Each model file stores its weights in float16 (measured: see ``weights.float16_effect`` in the
registry). The registry entry records the configuration, seed, data, commit, machine and the
training time. ``mediapipe-*`` models reuse the ``coco-*`` weights: the KeypointMapper derives
Human3.6M joints from MediaPipe's landmarks exactly as from COCO's, and the synthesised
landmarks the two share are identical, so their training inputs are the same (tested in
``tests/test_pretrained.py``).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _protocol import LARGE_DATA, machine  # noqa: E402

from skpose3d import TemporalPoseLifter  # noqa: E402
from skpose3d.datasets.wild_cameras import WildCameras, make_wild_views  # noqa: E402
from skpose3d.persistence import save  # noqa: E402
from skpose3d.pretrained import MODELS_DIR  # noqa: E402

TRAIN_SUBJECTS = (1, 2, 3, 5, 6)
HELD_OUT_SUBJECTS = (7, 8, 9)
SEGMENT_FRAMES = 480  # at 60 fps: one camera per 8 s of motion
SEED = 0
# Sized for ~5 min per model on 2 shared CPU cores (the paper: 1024 channels, 80 epochs).
TRAINING = dict(
    channels=128,
    dropout=0.25,
    n_epochs=5,
    batch_size=256,
    learning_rate=1e-3,
    lr_decay=0.8,
    flip_augmentation=True,
    test_time_flip=True,
    precise_bn=True,
)
# name -> (layout, filter widths, causal); trained in this order
MODELS = {
    "coco-243": ("coco", (3, 3, 3, 3, 3), False),
    "coco-81-causal": ("coco", (3, 3, 3, 3), True),
    "h36m-243": ("h36m", (3, 3, 3, 3, 3), False),
    "mpii-243": ("mpii", (3, 3, 3, 3, 3), False),
    "h36m-81-causal": ("h36m", (3, 3, 3, 3), True),
}
ALIASES = {"mediapipe-243": "coco-243", "mediapipe-81-causal": "coco-81-causal"}
LICENCE = (
    "Weights: BSD-3-Clause, like the package. Trained on the CMU Graphics Lab Motion Capture "
    "Database, which may be used, including commercially, and whose derived data may be "
    "redistributed; CMU asks for the acknowledgement below."
)
ACKNOWLEDGEMENT = (
    "The data used in this project was obtained from mocap.cs.cmu.edu. The database was "
    "created with funding from NSF EIA-0196217."
)


def load_clips(subjects, path=LARGE_DATA):
    """World videos of ``subjects`` from the large CMU set, cut into segments."""
    with np.load(path) as data:
        videos = np.split(data["positions"], np.cumsum(data["lengths"])[:-1])
        all_subjects = data["subjects"]
    clips, labels = [], []
    for video, subject in zip(videos, all_subjects):
        if subject not in subjects:
            continue
        n = max(1, round(len(video) / SEGMENT_FRAMES))
        for part in np.array_split(video, n):
            clips.append(np.ascontiguousarray(part))
            labels.append(int(subject))
    return clips, np.asarray(labels)


def training_views(layout, seed=SEED, path=LARGE_DATA):
    clips, subjects = load_clips(TRAIN_SUBJECTS, path)
    layout_seed = seed + ["h36m", "coco", "mpii", "mediapipe"].index(layout)
    return make_wild_views(
        clips, layout=layout, n_views=1, subjects=subjects, random_state=layout_seed
    )


def save_float16(lifter, path):
    """Write the lifter with float16 weights (loading casts them back to float32).

    A copy is rounded: ``Module.half()`` works in place, and ``.float()`` afterwards would not
    bring the lost digits back.
    """
    rounded = copy.deepcopy(lifter)
    rounded.module_.half()
    return save(rounded, path)


def float16_effect(lifter, views, out_dir):
    """MPJPE (mm) of the model saved with float32 and with float16 weights, and the largest
    difference of their predictions (mm), both read back from their files."""
    from skpose3d.metrics import mpjpe
    from skpose3d.persistence import load

    X, y = views.X, views.poses_3d
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        save(lifter, Path(tmp) / "float32.skp3d")
        save_float16(lifter, Path(tmp) / "float16.skp3d")
        preds = [load(Path(tmp) / f"{k}.skp3d").predict(X) for k in ("float32", "float16")]
    frames = sum(len(t) for t in y)
    err = [1000 * sum(mpjpe(t, p) * len(t) for t, p in zip(y, pred)) / frames for pred in preds]
    diff = max(float(np.abs(a - b).max()) for a, b in zip(*preds))
    return {
        "mpjpe_float32_mm": round(float(err[0]), 3),
        "mpjpe_float16_mm": round(float(err[1]), 3),
        "max_abs_difference_mm": round(1000 * diff, 4),
        "measured_on": "held-out subjects 7, 8, 9, one wild camera per segment (seed 100)",
    }


def train_one(name, out_dir, path=LARGE_DATA):
    layout, widths, causal = MODELS[name]
    views = training_views(layout, path=path)
    n_frames = int(sum(len(v) for v in views.X))
    lifter = TemporalPoseLifter(
        filter_widths=widths,
        causal=causal,
        input_skeleton="h36m",
        output_skeleton="h36m",
        random_state=SEED,
        device="cpu",
        n_jobs=1,
        verbose=1,
        **TRAINING,
    )
    start = time.perf_counter()
    lifter.fit(views.X, views.poses_3d)
    seconds = time.perf_counter() - start
    held_clips, held_subjects = load_clips(HELD_OUT_SUBJECTS, path)
    held = make_wild_views(
        held_clips, layout=layout, n_views=1, subjects=held_subjects, random_state=100
    )
    file = out_dir / f"{name}.skp3d"
    save_float16(lifter, file)
    n_params = sum(p.numel() for p in lifter.module_.parameters())
    entry = {
        "name": name,
        "input_skeleton": layout,
        "output_skeleton": "h36m",
        "receptive_field": int(lifter.receptive_field_),
        "causal": bool(causal),
        "filter_widths": list(widths),
        "channels": TRAINING["channels"],
        "parameters": int(n_params),
        "input": "(x, y) in normalised screen coordinates after GapFiller and KeypointMapper",
        "output": "Human3.6M-17, camera space, metres, root-relative (pelvis at 0)",
        "training_data": {
            "file": "cmu_mocap17_large.npz (CMU mocap, per-subject skeletons, 60 fps)",
            "subjects": list(TRAIN_SUBJECTS),
            "held_out_subjects": list(HELD_OUT_SUBJECTS),
            "segments": len(views.X),
            "segment_frames_max": SEGMENT_FRAMES,
            "views_per_segment": 1,
            "frame_steps": [1, 2],
            "training_frames": n_frames,
        },
        "cameras": {k: v for k, v in WildCameras().__dict__.items()},
        "noise": "skpose3d.datasets.DetectorNoise(missing='nan') defaults, in the detector "
        "layout, then GapFiller and KeypointMapper",
        "training": {
            **TRAINING,
            "seed": SEED,
            "view_seed": SEED + ["h36m", "coco", "mpii", "mediapipe"].index(layout),
            "seconds": round(seconds, 1),
            "epochs_run": int(lifter.n_iter_),
            "final_train_loss": lifter.history_[-1].get("train_loss")
            if isinstance(lifter.history_[-1], dict)
            else None,
            "command": "python benchmarks/train_pretrained.py",
            "machine": machine(),
        },
        "weights": {
            "file": file.name,
            "bytes": file.stat().st_size,
            "dtype": "float16",
            "float16_effect": float16_effect(lifter, held, out_dir),
        },
        "licence": LICENCE,
        "acknowledgement": ACKNOWLEDGEMENT,
    }
    return entry


def _write_registry(out_dir, models):
    registry = out_dir / "registry.json"
    data = {"format": 1, "models": dict(sorted(models.items()))}
    registry.write_text(json.dumps(data, indent=1, default=_plain) + "\n")


def _plain(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {value!r}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--data", type=Path, default=LARGE_DATA)
    parser.add_argument("--quick", action="store_true", help="16 channels, 1 epoch: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        TRAINING.update(channels=16, n_epochs=1)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    registry = args.out / "registry.json"
    models = json.loads(registry.read_text())["models"] if registry.exists() else {}
    for name in args.models:
        print(f"== {name}", flush=True)
        models[name] = train_one(name, args.out, args.data)
        for alias, source in ALIASES.items():
            if source == name:
                models[alias] = {
                    **models[name],
                    "name": alias,
                    "input_skeleton": "mediapipe",
                    "shares_weights_with": name,
                }
        _write_registry(args.out, models)
        print(
            f"{name}: {models[name]['training']['seconds']:.0f} s, "
            f"{models[name]['weights']['bytes'] / 1e6:.2f} MB, float16 "
            f"{models[name]['weights']['float16_effect']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
