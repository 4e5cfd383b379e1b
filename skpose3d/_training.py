"""The epoch loop shared by the lifters: schedules, history, early stopping and interruption.

The loop knows nothing about what a batch holds: the estimator hands it a function that yields
batches for an epoch and a step function that returns a dict of loss terms (``"loss"`` is the
one that is minimised). That keeps the supervised and semi-supervised lifters on one loop.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable, Iterable

import torch


def bn_momentum(
    epoch: int, n_epochs: int, batches_per_epoch: int | None = None, start=0.1, end=0.001
) -> float:
    """BatchNorm momentum for ``epoch``: exponential decay from ``start`` to ``end`` (paper §5.3).

    The paper's final 0.001 averages the running statistics over ~1000 batches, which is less
    than one of its epochs. On small data sets an epoch has far fewer batches and the statistics
    would then freeze before the weights settle, so the momentum never goes below
    ``1 / batches_per_epoch`` (running statistics average over at most one epoch).
    """
    momentum = start
    if n_epochs > 1:
        momentum = start * math.exp(epoch / (n_epochs - 1) * math.log(end / start))
    if batches_per_epoch:
        momentum = max(momentum, min(start, 1.0 / batches_per_epoch))
    return momentum


def _progress(n_epochs: int, verbose: int):
    """A tqdm bar when tqdm is installed and ``verbose``; otherwise None (lines are printed)."""
    if not verbose:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=n_epochs, desc="epochs", unit="epoch")


def _report(bar, row: dict, verbose: int) -> None:
    if not verbose:
        return
    shown = {k: v for k, v in row.items() if k not in ("epoch", "lr", "seconds") and v is not None}
    text = " ".join(f"{k}={v:.4g}" for k, v in shown.items())
    if bar is not None:
        bar.set_postfix_str(text)
        bar.update(1)
    else:
        print(f"epoch {row['epoch']}: {text}", flush=True)


def run_epochs(
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    epoch_batches: Callable[[int], Iterable],
    step: Callable[[object, int], dict],
    *,
    n_epochs: int,
    lr_decay: float,
    validate: Callable[[], float] | None = None,
    n_iter_no_change: int | None = None,
    batches_per_epoch: int | None = None,
    verbose: int = 0,
    history: list[dict] | None = None,
) -> list[dict]:
    """Train ``module`` for up to ``n_epochs`` epochs and return the history (one dict per epoch).

    Rows are appended to ``history`` when given, so a caller still has them when an error is
    raised.

    ``step(batch, epoch)`` returns a dict of scalar tensors whose ``"loss"`` is back-propagated.
    On a KeyboardInterrupt the current batch finishes, the weights of the last completed epoch
    are restored and a warning is issued. A non-finite loss restores the last completed epoch's
    weights and raises ``FloatingPointError``. With ``validate`` and ``n_iter_no_change``,
    training stops once the validation error has not improved for that many epochs and the
    best epoch's weights are restored.
    """
    history = [] if history is None else history
    last_good = copy.deepcopy(module.state_dict())
    best = (math.inf, last_good)
    bar = _progress(n_epochs, verbose)
    try:
        for epoch in range(n_epochs):
            start = time.perf_counter()
            module.set_bn_momentum(bn_momentum(epoch, n_epochs, batches_per_epoch))
            module.train()
            totals, n_batches, interrupted = {}, 0, False
            try:
                for batch in epoch_batches(epoch):
                    terms = _train_step(module, optimizer, step, batch, epoch, last_good)
                    for key, value in terms.items():
                        totals[key] = totals.get(key, 0.0) + value
                    n_batches += 1
            except KeyboardInterrupt:
                interrupted = True
            if interrupted:
                module.load_state_dict(last_good)
                warnings.warn(
                    f"fit interrupted during epoch {epoch}: keeping the weights of the "
                    f"{len(history)} completed epoch(s)",
                    RuntimeWarning,
                    stacklevel=3,
                )
                break
            row = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"]}
            row.update({k: v / max(n_batches, 1) for k, v in totals.items()})
            row["val_mpjpe"] = validate() if validate is not None else None
            row["seconds"] = time.perf_counter() - start
            history.append(row)
            _report(bar, row, verbose)
            last_good = copy.deepcopy(module.state_dict())
            for group in optimizer.param_groups:
                group["lr"] *= lr_decay
            if validate is not None:
                if row["val_mpjpe"] < best[0]:
                    best = (row["val_mpjpe"], last_good)
                elif n_iter_no_change and epoch - _best_epoch(history) >= n_iter_no_change:
                    break
    finally:
        if bar is not None:
            bar.close()
    if validate is not None and math.isfinite(best[0]):
        module.load_state_dict(best[1])
    return history


def _best_epoch(history: list[dict]) -> int:
    return min(history, key=lambda row: row["val_mpjpe"])["epoch"]


def _train_step(module, optimizer, step, batch, epoch, last_good) -> dict:
    terms = step(batch, epoch)
    loss = terms["loss"]
    if not torch.isfinite(loss):
        module.load_state_dict(last_good)
        raise FloatingPointError(
            f"the training loss became {loss.item()} in epoch {epoch}; the weights of the last "
            "completed epoch were restored. Lower learning_rate or check the input scale "
            "(keypoints in normalised screen units, targets in metres)."
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {k: float(v.detach()) for k, v in terms.items()}


def recompute_bn_statistics(
    module: torch.nn.Module, batches: Iterable, step: Callable[[object, int], dict], epoch: int,
    max_batches: int,
) -> int:  # fmt: skip
    """Re-estimate every BatchNorm's running statistics for the final weights ("precise BN").

    During training the running statistics are an exponential average over batches seen under
    *earlier* weights (at the schedule's small final momentum, mostly much earlier ones). Here
    they are reset and recomputed as the plain (cumulative) average over up to ``max_batches``
    of ``batches``, each run through ``step`` in train mode (dropout and flips as in training)
    without gradients, so no weight changes. Returns the number of batches used (0, with the
    statistics left as they were, when there was no batch or the averages are not finite).

    On a KeyboardInterrupt the previous statistics are restored and the interrupt re-raised.
    """
    layers = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not layers or max_batches < 1:
        return 0
    saved = [(m.momentum, copy.deepcopy(m.state_dict())) for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    module.train()
    n = 0
    try:
        with torch.no_grad():
            for batch in batches:
                step(batch, epoch)
                n += 1
                if n == max_batches:
                    break
    except BaseException:
        _restore(layers, saved)
        raise
    finite = all(torch.isfinite(m.running_var).all() and torch.isfinite(m.running_mean).all()
                 for m in layers)  # fmt: skip
    if n == 0 or not finite:  # nothing (sound) to average: keep the training statistics
        _restore(layers, saved)
        return 0
    for m, (momentum, _) in zip(layers, saved):
        m.momentum = momentum
    return n


def _restore(layers, saved) -> None:
    for m, (momentum, state) in zip(layers, saved):
        m.load_state_dict(state)
        m.momentum = momentum
