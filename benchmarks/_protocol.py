"""The frozen protocol of the accuracy benchmark: settings, rows, the paper's claims, verdicts.

Changing anything here changes the benchmark: re-run ``benchmarks/accuracy.py`` in full and
commit the new results with the change.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

import skpose3d
from skpose3d.metrics.pose_errors import _procrustes_transform

# Every row trains with these settings (the paper: 1024 channels, batch 1024, 80 epochs, decay
# 0.95 on 1.5 M frames; ours are sized for 2 CPU cores and 56 k training clips per epoch).
TRAINING = dict(
    channels=256,
    dropout=0.25,
    n_epochs=10,
    batch_size=256,
    learning_rate=1e-3,
    lr_decay=0.9,
    flip_augmentation=True,
    test_time_flip=True,
)
QUICK_TRAINING = {**TRAINING, "channels": 32, "n_epochs": 2}  # 2: one epoch after warm-up
SEED = 0

# Supervised rows: (filter widths, causal).
ROWS = {
    "single-frame": ((1, 1, 1), False),
    "27 frames": ((3, 3, 3), False),
    "81 frames": ((3, 3, 3, 3), False),
    "27 frames, causal": ((3, 3, 3), True),
}

# Low-label rows (need skpose3d.SemiSupervisedLifter): 3D labels of one training subject only;
# the other training subjects contribute their 2D views as unlabeled video.
LABELED_SUBJECT = 2
LOW_LABEL_WIDTHS = (3, 3, 3)
LOW_LABEL_ROWS = {
    "low-label supervised": None,
    "low-label semi-supervised": dict(bone_length_weight=1.0),
    "low-label semi-supervised, no bone term": dict(bone_length_weight=0.0),
}

# The paper's claims on Human3.6M (CPN detections), with the numbers they rest on.
PAPER = {
    "mpjpe": "temporal (243 frames) vs single-frame: 46.8 vs 51.8 mm MPJPE, -5 mm (-10%)",
    "mpjve": "temporal vs single-frame: 2.8 vs 11.6 mm/frame MPJVE, -76% (Table 2)",
    "semi": "semi-supervised back-projection beats supervised training when 3D labels are scarce",
    "bone": "without the bone-length term most of the semi-supervised gain is lost",
}


def _git_state() -> str:
    """HEAD commit, with "+dirty" when the working tree has changes (they affect results)."""
    repo = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def thread_params(threads) -> dict:
    """``{"n_jobs": threads}`` when the lifters have ``n_jobs`` (they then set torch's threads
    inside ``fit``/``predict`` themselves), else ``{}`` (``torch.set_num_threads`` applies)."""
    from skpose3d import TemporalPoseLifter

    return {"n_jobs": threads} if "n_jobs" in TemporalPoseLifter().get_params() else {}


def cpu_info() -> dict:
    """CPU model, the vector/matrix features that matter for torch on CPU, load, threads."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    lines = text.splitlines()
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    flags = set(next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), []))
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")
    return {
        "cpu": model,
        "cpu_flags": [f for f in wanted if f in flags],
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def machine() -> dict:
    """Where the numbers came from."""
    return {
        **cpu_info(),
        "git": _git_state(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "skpose3d": skpose3d.__version__,
        # the package timed: the working tree, or a snapshot of a commit on PYTHONPATH
        "skpose3d_path": str(Path(skpose3d.__file__).parent),
        "python": platform.python_version(),
    }


def _change(rows, key, row, reference="single-frame"):
    return rows[row][key] - rows[reference][key], 100 * (rows[row][key] / rows[reference][key] - 1)


def _verdict(relative: float, paper_relative: float) -> str:
    """Compare a relative change (%) with the paper's (both negative = better)."""
    if relative <= paper_relative:
        return "shown"
    if relative <= paper_relative / 2:
        return "shown, with a smaller gain than the paper's"
    return "weaker than in the paper" if relative < 0 else "not shown"


def verdicts(rows: dict) -> dict:
    """Plain statements comparing the measured rows with :data:`PAPER`."""
    out = {}
    best = min(
        (r for r in ("27 frames", "81 frames") if r in rows), key=lambda r: rows[r]["mpjpe_mm"]
    )
    mm, pct = _change(rows, "mpjpe_mm", best)
    out["mpjpe"] = (
        f"{_verdict(pct, -10)}: {best} vs single-frame {rows[best]['mpjpe_mm']:.1f} vs "
        f"{rows['single-frame']['mpjpe_mm']:.1f} mm MPJPE, {mm:+.1f} mm ({pct:+.0f}%)"
    )
    _, pct = _change(rows, "mpjve_mm", best)
    out["mpjve"] = (
        f"{_verdict(pct, -76)}: {best} vs single-frame {rows[best]['mpjve_mm']:.2f} vs "
        f"{rows['single-frame']['mpjve_mm']:.2f} mm/frame MPJVE ({pct:+.0f}%)"
    )
    names = list(LOW_LABEL_ROWS)
    if all(n in rows for n in names):
        sup, semi, nobone = (rows[n]["mpjpe_mm"] for n in names)
        gain = sup - semi
        out["semi"] = (
            f"{'shown' if gain > 0 else 'not shown'}: semi-supervised {semi:.1f} vs supervised "
            f"{sup:.1f} mm MPJPE ({-gain:+.1f} mm)"
        )
        kept = (sup - nobone) / gain if gain > 0 else float("nan")
        shown = gain > 0 and kept < 0.5
        out["bone"] = (
            f"{'shown' if shown else 'not shown'}: without the bone term {nobone:.1f} mm MPJPE, "
            f"keeping {100 * kept:.0f}% of the semi-supervised gain"
            if gain > 0
            else f"not measurable: no semi-supervised gain (without the bone term {nobone:.1f} mm)"
        )
    return out


# -- the larger CMU set (issue 12): per-subject skeletons, split by subject ------------------

LARGE_DATA = Path(
    os.environ.get(
        "SKPOSE3D_CMU_LARGE",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "cmu_mocap17_large.npz",
    )
)
# Subject 1 (24,567 frames, 44% of the set, playground clips) is left out to fit the CPU budget.
LARGE_TRAIN_SUBJECTS = (2, 3, 5, 6)  # 25,344 frames
LARGE_TEST_SUBJECTS = (7, 8)  # 3,960 frames: the reported test set
LARGE_HELD_OUT_SUBJECTS = (9,)  # 1,726 frames: never looked at while choosing any setting


def cmu_large_views(
    subjects, *, seed=0, path=LARGE_DATA, n_cameras=4, max_clips=None, max_frames=None, noise=True
):
    """The large set's clips of ``subjects`` filmed by the first ``n_cameras`` virtual
    Human3.6M cameras (azimuths 45°, 135°, 225°, 315°).

    Detector noise on (``DetectorNoise()``, seeded by ``seed``; ``noise=False``: the exact
    projections, the paper's "ground-truth 2D"), each subject's own recorded
    skeleton (no bone rescaling). Returns the :func:`skpose3d.datasets.make_views` Bunch plus
    ``X``: (x, y) in normalised screen coordinates, per camera's image size.
    """
    from skpose3d.camera import normalize_screen_coordinates
    from skpose3d.datasets import default_cameras, make_views

    with np.load(path) as data:
        videos = np.split(data["positions"], np.cumsum(data["lengths"])[:-1])
        all_subjects, trials = data["subjects"], data["trials"]
    keep = np.isin(all_subjects, subjects)
    if max_clips is not None:
        rank = np.array([np.sum(all_subjects[:i] == s) for i, s in enumerate(all_subjects)])
        keep &= rank < max_clips
    views = make_views(
        [np.ascontiguousarray(v[:max_frames]) for v, k in zip(videos, keep) if k],
        subjects=all_subjects[keep],
        trials=trials[keep],
        cameras=default_cameras()[:n_cameras],
        noise=noise,
        random_state=seed,
    )
    views.X = [
        normalize_screen_coordinates(kp[..., :2], cam.width, cam.height).astype(np.float32)
        for kp, cam in zip(views.keypoints, views.intrinsics)
    ]
    return views


def subject_frames(subjects, path=LARGE_DATA) -> int:
    """Frames of ``subjects`` in the large set (every camera sees them all)."""
    with np.load(path) as data:
        return int(data["lengths"][np.isin(data["subjects"], subjects)].sum())


def rotation_error_deg(truth, pred) -> float:
    """Mean angle (degrees) of the rotation that best aligns each predicted frame to the true
    one (P-MPJPE's Procrustes rotation): the error of the body's global orientation."""
    true, guess = (np.concatenate(v).astype(np.float64) for v in (truth, pred))
    trace = np.einsum("fii->f", _procrustes_transform(true, guess)[0])
    return float(np.degrees(np.arccos(np.clip((trace - 1) / 2, -1, 1))).mean())


def axis_errors_mm(truth, pred) -> dict:
    """Mean error of the root-relative joints along the camera's depth axis and in the image
    plane (mm): the part of MPJPE a 2D reprojection can see (in-plane) and cannot (depth)."""
    true, guess = (np.concatenate(v).astype(np.float64) for v in (truth, pred))
    delta = (guess - guess[:, :1]) - (true - true[:, :1])
    return {
        "in_plane_mm": 1000 * float(np.linalg.norm(delta[..., :2], axis=-1).mean()),
        "depth_mm": 1000 * float(np.abs(delta[..., 2]).mean()),
    }
