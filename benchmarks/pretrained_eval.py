"""Evaluate the shipped pretrained models on held-out CMU subjects; write the model cards' figures.

    python benchmarks/pretrained_eval.py        # ~5 min on 2 loaded CPU cores

Held-out motion: subjects 7, 8 and 9 of ``cmu_mocap17_large.npz`` (never trained on), clips cut
into segments of at most 480 frames as in training, at 60 fps. Two ways of filming it:

- ``wild_cameras``: one camera per segment drawn from the training distribution
  (:class:`~skpose3d.datasets.wild_cameras.WildCameras`, seed 1000; the training used seeds 0-3);
- ``h36m_rig``: the four Human3.6M cameras (intrinsics and distortion of the real rig, square
  1000 px images, 4.5 m away at 1.6 m height, azimuths 45°-315°), a rig the models never
  trained on as such.

Both in each model's detector layout with the detector noise, filled, mapped and normalised as
:func:`skpose3d.pretrained.load`'s pipeline does. Figures: MPJPE, P-MPJPE (Procrustes-aligned)
and MPJVE, in mm, root-relative; beside them the mean-pose baseline (the mean root-relative
training pose in camera space, from that model's own training views) and, for Human3.6M input, a
lifter trained under ``benchmarks/accuracy.py``'s protocol (bundled subjects 1, 2, 3, 5 filmed by
the four Human3.6M cameras, 27 frames, its ``TRAINING`` settings).

Writes ``benchmarks/results/pretrained.{json,md}``, the ``evaluation`` of every registry entry
(``skpose3d/pretrained/models/registry.json``) and the model cards' tables
(``docs/user_guide/pretrained_cards.inc``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _protocol import LARGE_DATA, SEED, TRAINING, machine, thread_params  # noqa: E402
from train_pretrained import HELD_OUT_SUBJECTS, load_clips, training_views  # noqa: E402

from skpose3d import TemporalPoseLifter, pretrained  # noqa: E402
from skpose3d.datasets import default_cameras, load_cmu_mocap, make_views  # noqa: E402
from skpose3d.datasets.wild_cameras import make_wild_views  # noqa: E402
from skpose3d.metrics import mpjpe, mpjve, p_mpjpe  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CARDS = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "pretrained_cards.inc"
RIGS = ("wild_cameras", "h36m_rig")


def held_out_views(layout, rig, path=LARGE_DATA):
    clips, subjects = load_clips(HELD_OUT_SUBJECTS, path)
    cameras = None if rig == "wild_cameras" else default_cameras()
    return make_wild_views(
        clips,
        layout=layout,
        n_views=1,
        cameras=cameras,
        frame_steps=(1,),
        subjects=subjects,
        random_state=1000,
    )


def scores(y, pred) -> dict:
    y, pred = list(y), list(pred)
    return {
        "mpjpe_mm": round(1000 * mpjpe(y, pred), 1),
        "p_mpjpe_mm": round(1000 * p_mpjpe(y, pred), 1),
        "mpjve_mm": round(1000 * mpjve(y, pred), 2),
    }


def mean_pose(views) -> np.ndarray:
    rel = np.concatenate([p - p[:, :1] for p in views.poses_3d])
    return rel.mean(axis=0)


def mean_pose_scores(mean, views) -> dict:
    const = [np.broadcast_to(mean, p.shape) for p in views.poses_3d]
    return scores(views.poses_3d, const)


def accuracy_protocol_lifter():
    """A 27-frame lifter trained as benchmarks/accuracy.py trains its "27 frames" row."""
    from skpose3d.camera import normalize_screen_coordinates

    train = make_views(load_cmu_mocap(subjects=[1, 2, 3, 5]), random_state=SEED)
    X = [
        normalize_screen_coordinates(k[..., :2], c.width, c.height)
        for k, c in zip(train.keypoints, train.intrinsics)
    ]
    lifter = TemporalPoseLifter(
        filter_widths=(3, 3, 3), random_state=SEED, device="cpu", **TRAINING, **thread_params(1)
    )
    start = time.perf_counter()
    lifter.fit(X, train.poses_3d)
    return lifter, time.perf_counter() - start


def evaluate(path=LARGE_DATA, with_accuracy_protocol=True) -> dict:
    names = pretrained.list_models()
    trained = [n for n in names if "shares_weights_with" not in pretrained.describe(n)]
    views, means, results = {}, {}, {}
    for name in trained:
        layout = pretrained.describe(name)["input_skeleton"]
        if layout not in means:
            means[layout] = mean_pose(training_views(layout, path=path))
            for rig in RIGS:
                views[layout, rig] = held_out_views(layout, rig, path)
        lifter = pretrained._load_lifter(name, device="cpu")
        lifter.set_params(**thread_params(1))
        row = {}
        for rig in RIGS:
            v = views[layout, rig]
            start = time.perf_counter()
            pred = lifter.predict(v.X)
            row[rig] = {
                **scores(v.poses_3d, pred),
                "predict_s": round(time.perf_counter() - start, 1),
                "frames": int(sum(len(p) for p in v.poses_3d)),
                **{f"mean_pose_{k}": val for k, val in mean_pose_scores(means[layout], v).items()},
            }
        results[name] = row
        print(name, json.dumps(row), flush=True)
    baseline = None
    if with_accuracy_protocol:
        lifter, seconds = accuracy_protocol_lifter()
        baseline = {"fit_s": round(seconds, 1), "receptive_field": int(lifter.receptive_field_)}
        for rig in RIGS:
            v = views.get(("h36m", rig)) or held_out_views("h36m", rig, path)
            baseline[rig] = scores(v.poses_3d, lifter.predict(v.X))
        print("accuracy.py protocol", json.dumps(baseline), flush=True)
    for name in names:
        source = pretrained.describe(name).get("shares_weights_with")
        if source is not None:
            results[name] = results[source]
    return {"models": results, "accuracy_protocol_27_frames": baseline}


def markdown(out: dict) -> str:
    lines = [
        "# Pretrained models on held-out CMU subjects (7, 8, 9)",
        "",
        f"Generated by `python benchmarks/pretrained_eval.py` in {out['seconds'] / 60:.1f} min on "
        f"{out['machine']['cpu']} ({out['machine']['cpu_count']} cores, load average "
        f"{out['machine']['load_average']}), 1 torch thread, commit {out['machine']['git']}. "
        "Errors in mm, root-relative, 60 fps; mean pose: the mean training pose.",
        "",
        "| model | rig | MPJPE | P-MPJPE | MPJVE | mean-pose MPJPE | mean-pose P-MPJPE |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in out["models"].items():
        for rig in RIGS:
            r = row[rig]
            lines.append(
                f"| {name} | {rig} | {r['mpjpe_mm']:.1f} | {r['p_mpjpe_mm']:.1f} | "
                f"{r['mpjve_mm']:.2f} | {r['mean_pose_mpjpe_mm']:.1f} | "
                f"{r['mean_pose_p_mpjpe_mm']:.1f} |"
            )
    base = out.get("accuracy_protocol_27_frames")
    if base:
        for rig in RIGS:
            r = base[rig]
            lines.append(
                f"| accuracy.py protocol, 27 frames (h36m input) | {rig} | {r['mpjpe_mm']:.1f} | "
                f"{r['p_mpjpe_mm']:.1f} | {r['mpjve_mm']:.2f} | | |"
            )
    lines += [
        "",
        "`mediapipe-*` rows repeat the `coco-*` ones: same weights, same mapped input.",
        "The accuracy.py-protocol lifter trained on bundled subjects 1, 2, 3, 5 seen by the four "
        "Human3.6M cameras only (its `h36m_rig` row is on its own training rig, with new "
        "subjects).",
    ]
    return "\n".join(lines) + "\n"


def cards(out: dict) -> str:
    """The per-model evaluation tables included by docs/user_guide/pretrained.rst."""
    text = [
        ".. Generated by benchmarks/pretrained_eval.py; do not edit.",
        "",
    ]
    for name in pretrained.list_models():
        info = pretrained.describe(name)
        row = out["models"][name]
        title = f"``{name}``"
        train = info["training"]
        shared = info.get("shares_weights_with")
        text += [
            title,
            "~" * len(title),
            "",
            f"- **Input:** {info['input_skeleton']} keypoints (x, y; a confidence is dropped), "
            "mapped to Human3.6M-17 by KeypointMapper. **Output:** Human3.6M-17, camera space, "
            "metres, root-relative.",
            f"- **Network:** receptive field {info['receptive_field']} frames, "
            f"{'causal (StreamingLifter)' if info['causal'] else 'symmetric (needs future frames)'}"
            f", filter widths {tuple(info['filter_widths'])}, {info['channels']} channels, "
            f"{info['parameters']:,} parameters; file {info['weights']['file']} "
            f"({info['weights']['bytes'] / 1e6:.2f} MB, float16 weights"
            + (f", shared with ``{shared}``" if shared else "")
            + ").",
            f"- **Schedule:** {train['n_epochs']} epochs, batch {train['batch_size']}, Adam "
            f"lr {train['learning_rate']} × {train['lr_decay']} per epoch, dropout "
            f"{train['dropout']}, flip augmentation, seed {train['seed']} (views "
            f"{train['view_seed']}); {info['training_data']['training_frames']:,} training frames; "
            f"trained in {train['seconds'] / 60:.1f} min on 1 thread of a shared 2-core CPU.",
            f"- **float16 storage:** MPJPE {info['weights']['float16_effect']['mpjpe_float32_mm']}"
            f" mm (float32) vs {info['weights']['float16_effect']['mpjpe_float16_mm']} mm "
            f"(float16), predictions differ by at most "
            f"{info['weights']['float16_effect']['max_abs_difference_mm']} mm.",
            "",
            ".. list-table:: Held-out CMU subjects 7, 8, 9 (mm)",
            "   :header-rows: 1",
            "",
            "   * - cameras",
            "     - MPJPE",
            "     - P-MPJPE",
            "     - MPJVE",
            "     - mean pose MPJPE",
        ]
        for rig, label in zip(RIGS, ("training distribution", "Human3.6M rig")):
            r = row[rig]
            text += [
                f"   * - {label}",
                f"     - {r['mpjpe_mm']:.1f}",
                f"     - {r['p_mpjpe_mm']:.1f}",
                f"     - {r['mpjve_mm']:.2f}",
                f"     - {r['mean_pose_mpjpe_mm']:.1f}",
            ]
        text.append("")
    return "\n".join(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=LARGE_DATA)
    parser.add_argument("--no-accuracy-protocol", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    out = evaluate(args.data, not args.no_accuracy_protocol)
    out["seconds"] = round(time.perf_counter() - start, 1)
    out["machine"] = machine()
    out["command"] = "python benchmarks/pretrained_eval.py"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pretrained.json").write_text(json.dumps(out, indent=1) + "\n")
    (RESULTS / "pretrained.md").write_text(markdown(out))
    registry_path = pretrained.MODELS_DIR / "registry.json"
    registry = json.loads(registry_path.read_text())
    for name, row in out["models"].items():
        registry["models"][name]["evaluation"] = {
            **row,
            "held_out_subjects": list(HELD_OUT_SUBJECTS),
            "command": out["command"],
        }
    registry_path.write_text(json.dumps(registry, indent=1) + "\n")
    pretrained._registry.cache_clear()
    CARDS.write_text(cards(out))
    print(markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
