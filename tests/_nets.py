"""Network fixtures for tests."""

import torch


def trained_like(net):
    """Give every BatchNorm non-trivial statistics and affine parameters; return ``net.eval()``.

    With fresh statistics (mean 0, variance 1, weight 1, bias 0) eval-mode BatchNorm is nearly
    an identity, which would hide errors in folding or caching it.
    """
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.3, 3.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    return net.eval()
