"""Per-frame latency of streaming causal inference (StreamingLifter.step) on this machine.

Compares the cached streamer with the naive alternative, re-running the dilated network over
the last receptive field of frames for every new frame.
Run ``python benchmarks/streaming_latency.py`` (``--threads 1`` pins torch to one thread;
``--output results.json`` also writes the numbers).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from skpose3d.nn.temporal import TemporalConvNet
from skpose3d.streaming import benchmark_latency

CONFIGS = [((3, 3, 3), 256), ((3, 3, 3, 3, 3), 1024)]


def rerun_latency(filter_widths, channels, n_frames=100, warmup=10) -> dict:
    """Latency of predicting the newest frame by running the network over its whole window."""
    net = TemporalConvNet(17, 2, 17, filter_widths, channels=channels, causal=True).eval()
    window = torch.randn(1, net.receptive_field, 17, 2)
    times = []
    with torch.no_grad():
        for i in range(warmup + n_frames):
            start = time.perf_counter()
            net(window)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    ms = np.array(times) * 1e3
    return {"median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="timed frames per config")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    header = f"{'widths':>11} {'ch':>5} {'rf':>4} {'flip':>5} {'median ms':>10} {'p99 ms':>8}"
    print(header + f" {'re-run median ms':>17}")
    results = []
    for widths, channels in CONFIGS:
        rerun = rerun_latency(widths, channels) if args.device == "cpu" else None
        for flip in (False, True):
            r = benchmark_latency(widths, channels, n_frames=args.frames, test_time_flip=flip,
                                  device=args.device)  # fmt: skip
            r["rerun_median_ms"] = None if rerun is None or flip else rerun["median_ms"]
            results.append(r)
            naive = "" if r["rerun_median_ms"] is None else f"{r['rerun_median_ms']:17.2f}"
            print(
                f"{','.join(map(str, widths)):>11} {channels:5d} {r['receptive_field']:4d} "
                f"{str(flip):>5} {r['median_ms']:10.3f} {r['p99_ms']:8.3f} {naive}"
            )
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"threads": torch.get_num_threads(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
