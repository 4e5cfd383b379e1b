"""
Real-time 3D poses from a live stream
=====================================

For a camera feed, the pose of frame ``t`` is wanted as soon as frame ``t`` arrives, without
waiting for future frames. A lifter trained with ``causal=True`` looks at past frames only;
:class:`~skpose3d.streaming.StreamingLifter` then takes one frame at a time and keeps each
layer's past activations, so every new frame costs the same small amount of work, however long
the receptive field.

The poses it returns equal those of the batch ``predict`` of the same model on the frames seen
so far.
"""

# sphinx_gallery_start_ignore
import os

# sphinx_gallery_end_ignore
import time

import matplotlib.pyplot as plt
import numpy as np

from skpose3d import TemporalPoseLifter
from skpose3d.camera import normalize_screen_coordinates
from skpose3d.datasets import CMU_TEST_SUBJECTS, CMU_TRAIN_SUBJECTS, load_cmu_mocap, make_views
from skpose3d.metrics import mpjpe
from skpose3d.streaming import StreamingLifter

# sphinx_gallery_start_ignore
QUICK = os.environ.get("SKPOSE3D_EXAMPLES_QUICK") == "1"
# sphinx_gallery_end_ignore

# %%
# Train a causal lifter
# ---------------------
# The same data as the quickstart. ``causal=True`` shifts every convolution so that the output
# for frame ``t`` depends on frames ``t - 80 .. t`` only (receptive field 81).


def views(subjects, seed):
    mocap = load_cmu_mocap(subjects=subjects)
    mocap.videos = [video[::2] for video in mocap.videos]
    # sphinx_gallery_start_ignore
    if QUICK:  # three short clips
        mocap.videos = [video[:100] for video in mocap.videos[:3]]
        mocap.subjects, mocap.trials = mocap.subjects[:3], mocap.trials[:3]
    # sphinx_gallery_end_ignore
    data = make_views(mocap, random_state=seed)
    data.X = [
        normalize_screen_coordinates(kp, cam.width, cam.height).astype(np.float32)
        for kp, cam in zip(data.keypoints, data.intrinsics)
    ]
    return data


train, test = views(CMU_TRAIN_SUBJECTS, seed=0), views(CMU_TEST_SUBJECTS, seed=1)
lifter = TemporalPoseLifter(
    filter_widths=(3, 3, 3, 3), channels=256, n_epochs=8, causal=True, random_state=0
)
# sphinx_gallery_start_ignore
if QUICK:
    lifter.set_params(channels=16, n_epochs=1)
# sphinx_gallery_end_ignore
lifter.fit(train.X, train.poses_3d)
print("receptive field:", lifter.receptive_field_, "frames, all in the past")

# %%
# Stream one video
# ----------------
# Feed the frames one by one, as a camera would deliver them, and time each step.

stream = StreamingLifter(lifter, device="cpu")
video = test.X[0]
poses, latency_ms = [], []
for frame in video:
    start = time.perf_counter()
    poses.append(stream.step(frame))
    latency_ms.append(1000 * (time.perf_counter() - start))
poses, latency_ms = np.stack(poses), np.array(latency_ms)

batch = lifter.predict(video)
print(f"largest difference to predict: {np.abs(poses - batch).max():.2e} m")
print(f"MPJPE of the stream: {1000 * mpjpe(test.poses_3d[0], poses):.1f} mm")
# The first few steps are slower: they allocate the caches and warm up torch.
steady = latency_ms[5:]
print(
    f"latency per frame after the first 5: median {np.median(steady):.2f} ms, "
    f"99th percentile {np.percentile(steady, 99):.2f} ms"
)

# %%
# A new video starts with :meth:`~skpose3d.streaming.StreamingLifter.reset`; the first frame
# of a stream is replicated into the past, as ``predict`` pads the start of a video.

stream.reset()
first = stream.step(video[0])
print("after reset, frame 0 equals predict:", np.allclose(first, batch[0], atol=1e-5))

# %%
# Constant cost per frame
# -----------------------
# Without the cache, every new frame would mean running the network over the whole receptive
# field again. The streaming latency does not grow with the position in the video.

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(latency_ms, lw=0.8)
ax.set_xlabel("frame")
ax.set_ylabel("latency (ms)")
ax.set_ylim(0, np.percentile(steady, 99.5) * 1.2)
plt.show()
