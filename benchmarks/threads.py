"""Thread table (issue 12): fit and predict with 1 and 2 threads, idle and beside a busy process.

Cases (bundled CMU data, one Human3.6M camera, pixels with ``image_size``):

- **tiny:** 2 epochs, 32 channels, trained on subjects 3 and 7 (2,392 frames); predict subject 7.
- **quickstart, 1 epoch:** the README quickstart's model and data (27 frames, 256 channels, batch
  256, trained on subjects 2 and 6: 10,728 frames; predict subject 7: 2,177 frames) with one of
  its 4 epochs (fit time scales with the epochs; the machine was shared).

Each measurement runs in a fresh subprocess (no thread pool carried over) with 1 or 2 threads
(``n_jobs=k`` when the lifter has ``n_jobs``, else ``torch.set_num_threads(k)``) and, when the
lifter has ``n_jobs``, with its default (``n_jobs`` not given, torch's own thread count left
as it is). "busy" starts one ``python -c "while True: pass"`` process beside it, killed
afterwards. The report gives seconds and the ratio to the best setting of each (case, load,
phase).

``python benchmarks/threads.py`` rewrites ``results/threads.{json,md}``; ``--quick`` runs tiny
sizes into a temporary directory (or ``--output``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _protocol import machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CASES = {
    "tiny": dict(train=[3, 7], test=[7], params=dict(channels=32, n_epochs=2)),
    # the quickstart's model and data with 1 of its 4 epochs (time on the shared machine)
    "quickstart, 1 epoch": dict(train=[2, 6], test=[7], params=dict(n_epochs=1)),
}
QUICK_CASES = {
    "tiny": dict(train=[3], test=[3], params=dict(channels=8, n_epochs=1)),
    "small": dict(train=[3], test=[3], params=dict(channels=32, n_epochs=1)),
}


def child(spec: dict) -> dict:
    """In the subprocess: fit and predict one case with the requested threads; seconds."""
    import torch

    from skpose3d import TemporalPoseLifter
    from skpose3d.camera import H36M_CAMERAS
    from skpose3d.datasets import load_cmu_mocap, make_views

    camera = H36M_CAMERAS["55011271"]
    train = make_views(load_cmu_mocap(subjects=spec["train"]), cameras=[camera], random_state=0)
    test = make_views(load_cmu_mocap(subjects=spec["test"]), cameras=[camera], random_state=1)
    has_n_jobs = "n_jobs" in TemporalPoseLifter().get_params()
    params = dict(
        spec["params"],
        filter_widths=(3, 3, 3),
        image_size=(1000, 1000),
        random_state=0,
        device="cpu",
    )
    if spec["threads"] != "default":
        if has_n_jobs:
            params["n_jobs"] = spec["threads"]
        else:
            torch.set_num_threads(spec["threads"])
    lifter = TemporalPoseLifter(**params)
    start = time.perf_counter()
    lifter.fit(train.keypoints, train.poses_3d)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    lifter.predict(test.keypoints)
    predict = time.perf_counter() - start
    return {
        "fit_s": fit,
        "predict_s": predict,
        "train_frames": int(sum(map(len, train.keypoints))),
        "torch_threads_outside": torch.get_num_threads(),
    }


def _has_n_jobs() -> bool:
    from skpose3d import TemporalPoseLifter  # the package the children import too

    return "n_jobs" in TemporalPoseLifter().get_params()


def measure(spec) -> dict:
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"error": done.stderr[-1500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(cases, settings) -> dict:
    rows = {}
    for load in ("idle", "busy"):
        busy = None
        if load == "busy":
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(1.0)
        try:
            for name, case in cases.items():
                for threads in settings:
                    spec = {**case, "threads": threads}
                    row = measure(spec)
                    row["load_average"] = machine()["load_average"][0]
                    rows[f"{name} | {load} | {threads}"] = row
                    print(
                        f"[threads] {name}, {load}, threads={threads}: {row}",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return rows


def ratios(rows, cases, settings) -> dict:
    out = {}
    for name in cases:
        for load in ("idle", "busy"):
            for phase in ("fit_s", "predict_s"):
                times = {t: rows[f"{name} | {load} | {t}"].get(phase) for t in settings}
                best = min(v for v in times.values() if v is not None)
                out[f"{name} | {load} | {phase[:-2]}"] = {
                    str(t): {"seconds": v, "ratio_to_best": v / best} for t, v in times.items()
                }
    return out


def markdown(r) -> str:
    m = r["machine"]
    settings = r["settings"]
    head = " | ".join(
        f"{t} thread{'s' * (t != 1)}" if t != "default" else "n_jobs default" for t in settings
    )
    lines = [
        f"# Threads: fit and predict with 1 and 2 torch threads{' (quick)' if r['quick'] else ''}",
        "",
        f"`python benchmarks/threads.py{' --quick' if r['quick'] else ''}`; "
        f"{r['total_seconds'] / 60:.1f} min. Machine: {m['cpu']} ({', '.join(m['cpu_flags'])}), "
        f"{m['cpu_count']} CPUs, torch {m['torch']}, git {m['git']}, package "
        f"{m['skpose3d_path']}; load average (1 min) at start / end {r['load'][0]} / "
        f"{r['load'][1]} (other agents share the machine: 'idle' means no busy process of ours; "
        "the load of each measurement is in the json). Seconds (ratio to the best setting).",
        "",
        f"| case | load | phase | {head} |",
        "|---|---|---|" + "---:|" * len(settings),
    ]
    for key, row in r["ratios"].items():
        cells = " | ".join(f"{v['seconds']:.2f} ({v['ratio_to_best']:.2f}×)" for v in row.values())
        lines.append(f"| {key} | {cells} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    start, load0 = time.perf_counter(), machine()["load_average"][0]
    cases = QUICK_CASES if args.quick else CASES
    settings = [1, 2] + (["default"] if _has_n_jobs() else [])
    rows = run(cases, settings)
    r = {
        "quick": args.quick,
        "cases": cases,
        "settings": settings,
        "rows": rows,
        "ratios": ratios(rows, cases, settings),
        "machine": machine(),
    }
    r["load"] = [load0, r["machine"]["load_average"][0]]
    r["total_seconds"] = time.perf_counter() - start
    out = args.output or (Path(tempfile.mkdtemp(prefix="threads_")) if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    (out / "threads.json").write_text(json.dumps(r, indent=1) + "\n")
    text = markdown(r)
    (out / "threads.md").write_text(text)
    print(text)
    print(f"wrote {out / 'threads.json'} and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
