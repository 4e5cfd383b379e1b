"""A plain training loop for the paper's model, written the obvious way (issue 12, part 1).

It is the yardstick for ``TemporalPoseLifter``: nothing here calls the package's training code or
networks. It uses only plain PyTorch (``nn.Conv1d``, ``nn.BatchNorm1d``, ``nn.ReLU``,
``nn.Dropout``, Amsgrad) and numpy; the benchmark scripts feed it the package's data (virtual
views, normalised screen coordinates) and score it with the package's metrics.

What it does (Pavllo et al., CVPR 2019, section 5.3):

- **Training form:** strided convolutions: the expand conv has width ``w0`` and stride ``w0``;
  each block is conv (width ``w``, stride ``w``) + BN + ReLU + dropout + 1x1 conv + BN + ReLU +
  dropout, plus the block input sliced at the centre of each window (``x[:, :, w // 2 :: w]``);
  a final 1x1 conv (with bias) gives ``J_out * 3`` values. One clip of receptive-field length
  gives one output frame.
- **Epoch:** every training frame once plain and once mirrored (keypoints: x negated and
  left/right joints swapped; poses the same), the ``2 N`` (frame, mirrored) pairs shuffled and cut
  into batches. Clips at video ends are edge-padded (first/last frame replicated).
- **Loss:** ``mean ||pred - (y - y_root)||`` on the raw prediction (not re-centred).
- **Optimiser:** Amsgrad, learning rate ``lr`` times ``lr_decay`` after every epoch; BatchNorm
  momentum ``0.1 * exp(-epoch / n_epochs * ln 100)`` at the start of each epoch.
- **Evaluation:** the same weights as dilated convolutions over each whole edge-padded video
  (eval mode), averaged with the un-mirrored prediction of the mirrored video; root-relative.

Seeded by ``seed`` (weights, dropout, shuffling). ``python benchmarks/reference_trainer.py
--quick`` trains a tiny model on random data as a smoke test.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from torch import nn

H36M_LEFT = (4, 5, 6, 11, 12, 13)
H36M_RIGHT = (1, 2, 3, 14, 15, 16)


def bn_momentum(epoch: int, n_epochs: int, start: float = 0.1) -> float:
    """``start * exp(-epoch / n_epochs * ln 100)``: 0.1 at epoch 0, towards 0.001 at the end."""
    return start * math.exp(-epoch / n_epochs * math.log(100.0))


def flip_permutation(n_joints: int, left=H36M_LEFT, right=H36M_RIGHT) -> np.ndarray:
    perm = np.arange(n_joints)
    perm[list(left)], perm[list(right)] = list(right), list(left)
    return perm


class ReferenceNet(nn.Module):
    """The paper's network; ``strided=True`` is the training form, False the dilated form."""

    def __init__(self, n_in, n_out, widths=(3, 3, 3), channels=256, dropout=0.25):
        super().__init__()
        self.widths = tuple(widths)
        self.expand = nn.Conv1d(n_in, channels, widths[0], bias=False)
        self.expand_bn = nn.BatchNorm1d(channels)
        self.convs, self.bns = nn.ModuleList(), nn.ModuleList()
        for width in widths[1:]:
            self.convs.extend(
                [
                    nn.Conv1d(channels, channels, width, bias=False),
                    nn.Conv1d(channels, channels, 1, bias=False),
                ]
            )
            self.bns.extend([nn.BatchNorm1d(channels), nn.BatchNorm1d(channels)])
        self.relu, self.drop = nn.ReLU(), nn.Dropout(dropout)
        self.shrink = nn.Conv1d(channels, n_out, 1)

    @property
    def receptive_field(self) -> int:
        return math.prod(self.widths)

    def set_bn_momentum(self, momentum: float) -> None:
        for bn in [self.expand_bn, *self.bns]:
            bn.momentum = momentum

    def _conv(self, conv, x, width, dilation, strided):
        if strided:
            return nn.functional.conv1d(x, conv.weight, stride=width)
        return nn.functional.conv1d(x, conv.weight, dilation=dilation)

    def forward(self, x, strided=True):
        """``x`` (batch, channels_in, frames) -> (batch, n_out, frames - receptive_field + 1)."""
        act = lambda bn, h: self.drop(self.relu(bn(h)))  # noqa: E731
        x = act(self.expand_bn, self._conv(self.expand, x, self.widths[0], 1, strided))
        dilation = self.widths[0]
        for i, width in enumerate(self.widths[1:]):
            if strided:
                res = x[:, :, width // 2 :: width]
            else:
                pad = (width - 1) * dilation // 2
                res = x[:, :, pad : x.shape[2] - pad]
            h = act(self.bns[2 * i], self._conv(self.convs[2 * i], x, width, dilation, strided))
            x = res + act(self.bns[2 * i + 1], self.convs[2 * i + 1](h))
            dilation *= width
        return self.shrink(x)


class ReferenceTrainer:
    """Train and evaluate :class:`ReferenceNet` on lists of videos.

    ``X``: list of ``(T, J_in, 2)`` float32 keypoints (normalised screen coordinates); ``y``:
    list of ``(T, J_out, 3)`` camera-space poses (metres). Flipping assumes Human3.6M joints
    unless ``left``/``right`` are given.
    """

    def __init__(
        self,
        widths=(3, 3, 3),
        channels=256,
        dropout=0.25,
        n_epochs=3,
        batch_size=1024,
        lr=1e-3,
        lr_decay=0.95,
        seed=0,
        left=H36M_LEFT,
        right=H36M_RIGHT,
        verbose=0,
    ):
        self.widths, self.channels, self.dropout = tuple(widths), channels, dropout
        self.n_epochs, self.batch_size, self.lr, self.lr_decay = n_epochs, batch_size, lr, lr_decay
        self.seed, self.left, self.right, self.verbose = seed, left, right, verbose

    # -- data ---------------------------------------------------------------------------------

    def _padded_bank(self, X, y):
        pad = (math.prod(self.widths) - 1) // 2
        starts, xs = [], []
        offset = 0
        for video in X:
            xs.append(np.concatenate([video[:1].repeat(pad, 0), video, video[-1:].repeat(pad, 0)]))
            starts.append(offset + np.arange(len(video)))  # clip of frame t starts at padded t
            offset += len(video) + 2 * pad
        root_rel = [p - p[:, :1] for p in y]
        return (
            torch.from_numpy(np.concatenate(xs)),
            torch.from_numpy(np.concatenate(starts)),
            torch.from_numpy(np.concatenate(root_rel).astype(np.float32)),
        )

    def _batch(self, bank, idx, mirrored):
        data, starts, poses = bank
        rf = math.prod(self.widths)
        clips = data[starts[idx, None] + torch.arange(rf)]  # (B, rf, J, 2)
        target = poses[idx]
        if mirrored.any():
            m = mirrored
            flipped_x = clips[m][:, :, self.perm_in]
            flipped_x[..., 0] *= -1
            flipped_y = target[m][:, self.perm_out]
            flipped_y[..., 0] *= -1
            clips[m], target[m] = flipped_x, flipped_y
        return clips.flatten(2).transpose(1, 2), target  # (B, J*2, rf), (B, J, 3)

    # -- training -----------------------------------------------------------------------------

    def fit(self, X, y):
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        n_in, n_out = X[0].shape[1], y[0].shape[1]
        self.perm_in = torch.from_numpy(flip_permutation(n_in, self.left, self.right))
        self.perm_out = torch.from_numpy(flip_permutation(n_out, self.left, self.right))
        self.net = ReferenceNet(
            n_in * X[0].shape[2], n_out * 3, self.widths, self.channels, self.dropout
        )
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr, amsgrad=True)
        bank = self.bank_ = self._padded_bank(X, y)
        self.history_ = []
        for epoch in range(self.n_epochs):
            self.history_.append(self.train_epoch(bank, epoch, rng))
            for group in self.optimizer.param_groups:
                group["lr"] *= self.lr_decay
            if self.verbose:
                print(
                    f"  reference epoch {epoch}: loss {self.history_[-1]['loss']:.4f}", flush=True
                )
        return self

    def train_epoch(self, bank, epoch, rng, max_batches=None):
        """One epoch (or its first ``max_batches``): every frame plain and mirrored, shuffled."""
        start = time.perf_counter()
        self.net.train()
        self.net.set_bn_momentum(bn_momentum(epoch, self.n_epochs))
        n = len(bank[1])
        pairs = torch.from_numpy(rng.permutation(2 * n))
        total, samples = 0.0, 0
        for b, ids in enumerate(pairs.split(self.batch_size)):
            if max_batches is not None and b >= max_batches:
                break
            x, target = self._batch(bank, ids % n, ids >= n)
            pred = self.net(x).squeeze(-1).unflatten(1, (-1, 3))  # (B, J, 3)
            loss = torch.linalg.vector_norm(pred - target, dim=-1).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(ids)
            samples += len(ids)
        seconds = time.perf_counter() - start
        return {"epoch": epoch, "loss": total / samples, "samples": samples, "seconds": seconds}

    @torch.no_grad()
    def reestimate_bn(self, n_batches=150, seed=0):
        """Diagnostic only (not part of the reference recipe): reset the BatchNorm running
        statistics and average them (cumulatively) over ``n_batches`` training batches drawn as
        in an epoch (train mode: mirroring and dropout on), without any weight update."""
        bns = [self.net.expand_bn, *self.net.bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative moving average
        self.net.train()
        n = len(self.bank_[1])
        pairs = torch.from_numpy(np.random.default_rng(seed).permutation(2 * n))
        for b, ids in enumerate(pairs.split(self.batch_size)):
            if b >= n_batches:
                break
            self.net(self._batch(self.bank_, ids % n, ids >= n)[0])
        return self

    # -- evaluation ---------------------------------------------------------------------------

    @torch.no_grad()
    def predict(self, X, test_time_flip=True):
        """Root-relative poses per video (dilated form, edge padding, flip averaging)."""
        self.net.eval()
        pad = (math.prod(self.widths) - 1) // 2
        out = []
        for video in X:
            v = torch.from_numpy(np.ascontiguousarray(video, dtype=np.float32))
            pose = self._run(v, pad)
            if test_time_flip:
                flipped = v[:, self.perm_in].clone()
                flipped[..., 0] *= -1
                mirrored = self._run(flipped, pad)[:, self.perm_out]
                mirrored[..., 0] *= -1
                pose = (pose + mirrored) / 2
            out.append((pose - pose[:, :1]).numpy())
        return out

    def _run(self, video, pad):
        padded = torch.cat([video[:1].expand(pad, -1, -1), video, video[-1:].expand(pad, -1, -1)])
        h = self.net(padded.flatten(1).T[None], strided=False)[0]  # (J*3, T)
        return h.T.unflatten(1, (-1, 3))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny model on random data")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n = 200 if args.quick else 5000
    X = [rng.normal(scale=0.3, size=(n, 17, 2)).astype(np.float32) for _ in range(2)]
    y = [rng.normal(scale=0.3, size=(n, 17, 3)).astype(np.float32) for _ in range(2)]
    trainer = ReferenceTrainer(
        channels=16 if args.quick else 256, n_epochs=2, batch_size=128, verbose=1
    ).fit(X, y)
    pred = trainer.predict(X)
    print("predicted", [p.shape for p in pred], "history", trainer.history_)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
