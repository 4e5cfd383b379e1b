"""The frozen protocol of the accuracy benchmark: settings, rows, the paper's claims, verdicts.

Changing anything here changes the benchmark: re-run ``benchmarks/accuracy.py`` in full and
commit the new results with the change.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

import skpose3d

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


def machine() -> dict:
    """Where the numbers came from."""
    return {
        "git": _git_state(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "skpose3d": skpose3d.__version__,
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
