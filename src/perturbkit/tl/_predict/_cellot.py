"""CellOT's learned transport map: two input-convex neural networks (ICNNs) trained by the
min-max dual of the squared-Euclidean (W2) optimal-transport problem (Makkuva et al. 2020,
as used by CellOT, Bunne et al. 2023). Private: used by
:mod:`perturbkit.tl._predict._response_prediction` (``method="cellot"``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..._seeding import seeds_torch


def _icnn(torch, dim: int, hidden: int, n_layers: int):
    """A potential ``phi(x) = |L x|^2 / 2 + ICNN(x)``, convex in ``x``.

    The ICNN (Amos et al. 2017) adds, layer by layer, a non-negative combination of the
    previous (convex) layer and an affine function of the input, through a convex,
    non-decreasing activation (softplus); non-negativity is a softplus of free weights, so
    no clipping is needed. The quadratic term (``L`` free, starting at the identity) lets the
    map contract or expand each direction and makes its gradient the identity map at
    initialisation (the transport starts at "no change")."""
    nn = torch.nn
    func = nn.functional

    class ICNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.from_x = nn.ModuleList([nn.Linear(dim, hidden) for _ in range(n_layers)] + [nn.Linear(dim, 1)])
            # raw weights of the z -> z paths; softplus(raw) >= 0 keeps the network convex in x
            self.raw_z = nn.ParameterList(
                [nn.Parameter(torch.randn(hidden, hidden) * 0.1 - 3.0) for _ in range(n_layers - 1)]
                + [nn.Parameter(torch.randn(1, hidden) * 0.1 - 3.0)])
            self.quad = nn.Parameter(torch.eye(dim))
            for lin in self.from_x:
                nn.init.normal_(lin.weight, std=0.1)
                nn.init.zeros_(lin.bias)

        def forward(self, x):
            z = func.softplus(self.from_x[0](x))
            for raw, lin in zip(self.raw_z[:-1], self.from_x[1:-1], strict=True):
                z = func.softplus(z @ func.softplus(raw).T + lin(x))
            out = z @ func.softplus(self.raw_z[-1]).T + self.from_x[-1](x)
            return out[:, 0] + 0.5 * ((x @ self.quad.T) ** 2).sum(1)

    return ICNN()


def _grad(torch, phi, x, create_graph: bool):
    """The gradient map ``x -> grad phi(x)``, row by row (phi sums over rows independently)."""
    if not x.requires_grad:
        x = x.clone().requires_grad_(True)
    return torch.autograd.grad(phi(x).sum(), x, create_graph=create_graph)[0]


@seeds_torch
def fit_cellot(
    source: np.ndarray, target: np.ndarray, *, hidden: int = 64, n_layers: int = 3, n_iters: int = 400,
    n_inner: int = 5, batch_size: int = 128, lr: float = 1e-3, seed: int = 0, progress: bool = False,
) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, list[float]]]:
    """Learn the optimal transport map from the rows of ``source`` to those of ``target``
    (unpaired samples in a common low-dimensional space) as the gradient of a convex
    potential.

    Brenier's theorem: the W2-optimal map is ``T = grad g`` for a convex ``g``. Makkuva et
    al.'s dual, as CellOT trains it, learns two convex potentials: ``g`` (the map) and ``f``
    (its conjugate's stand-in on the target side), alternating ``n_inner`` steps on ``g``,
    minimising ``f(T x) - <x, T x>``, with one step on ``f``, minimising ``f(y) - f(T x)``.
    Coordinates are centred and scaled by one number (the source's overall standard
    deviation) before training and mapped back after, so the map is still the optimal one.

    Returns ``(transport, losses)``: ``transport(x)`` maps rows of ``x`` (same coordinates
    as ``source``) and ``losses`` holds per-iteration ``"g"`` and ``"f"`` (lists of float).
    """
    from ._generative import _torch

    torch = _torch()
    from tqdm.auto import tqdm

    source, target = np.asarray(source, float), np.asarray(target, float)
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target must be 2-D with the same columns, got {source.shape} and {target.shape}")
    if len(source) < 2 or len(target) < 2:
        raise ValueError(f"need >= 2 cells on each side, got {len(source)} source and {len(target)} target")
    if not (np.isfinite(source).all() and np.isfinite(target).all()):
        raise ValueError("source and target must be finite (no NaN or inf)")
    centre = source.mean(0)
    scale = float(source.std()) or 1.0
    dim = source.shape[1]
    g, f = _icnn(torch, dim, hidden, n_layers), _icnn(torch, dim, hidden, n_layers)
    # Adam with beta1 = 0.5, as CellOT's configurations: the min-max game oscillates less
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.9))
    opt_f = torch.optim.Adam(f.parameters(), lr=lr, betas=(0.5, 0.9))
    xs = torch.as_tensor((source - centre) / scale, dtype=torch.float32)
    ys = torch.as_tensor((target - centre) / scale, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)

    def batch(a):
        return a[torch.randint(len(a), (min(batch_size, len(a)),), generator=gen)]

    losses: dict[str, list[float]] = {"g": [], "f": []}
    for _ in tqdm(range(n_iters), desc="CellOT (ICNN)", disable=not progress, mininterval=10):
        for _ in range(n_inner):
            x = batch(xs)
            tx = _grad(torch, g, x, create_graph=True)
            loss_g = (f(tx) - (x * tx).sum(1)).mean()
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        x, y = batch(xs), batch(ys)
        tx = _grad(torch, g, x, create_graph=False).detach()
        loss_f = (f(y) - f(tx)).mean()
        opt_f.zero_grad()
        loss_f.backward()
        opt_f.step()
        losses["g"].append(float(loss_g.detach()))
        losses["f"].append(float(loss_f.detach()))

    def transport(a: np.ndarray) -> np.ndarray:
        at = torch.as_tensor((np.asarray(a, float) - centre) / scale, dtype=torch.float32)
        return _grad(torch, g, at, create_graph=False).detach().numpy().astype(float) * scale + centre

    transport.potential = g  # for the Jacobian check: the map is grad of this convex function
    transport.scale, transport.centre = scale, centre
    return transport, losses
