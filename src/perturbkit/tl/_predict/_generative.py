"""Small torch models behind the response predictors: an scGen-style VAE (optionally
conditional, as in trVAE) and a CPA-style compositional autoencoder. Private: used by
:mod:`perturbkit.tl._predict._response_prediction`."""

from __future__ import annotations

import numpy as np

from ..._seeding import seeds_torch


def _torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - torch is a core dependency
        raise ImportError("the deep predictors need torch: pip install torch") from err
    return torch


def _mlp(torch, n_in: int, n_hidden: int, n_out: int):
    nn = torch.nn
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.LayerNorm(n_hidden), nn.ReLU(),
                         nn.Linear(n_hidden, n_out))


class _Trainer:
    """Seeded mini-batch training loop with a tqdm progress bar over epochs."""

    def __init__(self, *, n_epochs: int, batch_size: int, lr: float, seed: int, progress: bool, desc: str):
        self.n_epochs, self.batch_size, self.lr = n_epochs, batch_size, lr
        self.seed, self.progress, self.desc = seed, progress, desc

    def run(self, params, n: int, step) -> list[float]:
        torch = _torch()
        from tqdm.auto import tqdm

        opt = torch.optim.Adam(params, lr=self.lr)
        gen = torch.Generator().manual_seed(self.seed)
        losses = []
        # at most one update per 10 s: executed notebooks keep a short record, not hundreds of lines
        for epoch in tqdm(range(self.n_epochs), desc=self.desc, disable=not self.progress, mininterval=10):
            order = torch.randperm(n, generator=gen)
            total = 0.0
            for start in range(0, n, self.batch_size):
                idx = order[start:start + self.batch_size]
                loss = step(idx, epoch)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            losses.append(total / n)
        return losses


#: Bandwidths of trVAE's multi-scale Gaussian kernel (its ``mmd`` loss, theislab/trVAE).
MMD_SCALES = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 5, 10, 15, 20, 25, 30, 35, 100, 1e3, 1e4, 1e5, 1e6)


def mmd(torch, a, b):
    """Squared maximum mean discrepancy between the rows of ``a`` and ``b`` (biased
    estimator), with trVAE's sum of Gaussian kernels ``exp(-|u - v|^2 / (2 s))`` over
    :data:`MMD_SCALES`."""
    def k(u, v):
        d2 = torch.cdist(u, v) ** 2
        return sum(torch.exp(-d2 / (2.0 * s)) for s in MMD_SCALES)

    return k(a, a).mean() + k(b, b).mean() - 2.0 * k(a, b).mean()


@seeds_torch
def fit_vae(
    x: np.ndarray, cond: np.ndarray | None, *, latent_dim: int, hidden: int, n_epochs: int,
    batch_size: int, lr: float, beta: float, seed: int, progress: bool, desc: str,
    mmd_weight: float = 0.0,
):
    """Train a Gaussian VAE on ``x`` (cells x genes); with ``cond`` (0/1 per cell) the encoder
    and decoder both see the condition (a conditional VAE). With ``mmd_weight > 0`` it is
    trVAE: the first decoder layer's output (after its activation) is pushed to have the same
    distribution in both conditions by a multi-scale-kernel MMD penalty computed in every
    mini-batch between its condition-0 and condition-1 cells, so the condition can only act
    through the decoder's later layers and a cell decoded with the other condition keeps
    what is condition-independent about it.

    Returns ``(encode, decode, losses, layer_mmd)``: ``encode(x, cond) -> latent means``,
    ``decode(z, cond) -> expression``, per-epoch losses and ``layer_mmd(x, cond) -> float``,
    the MMD between conditions of the first decoder layer on the given cells (None without
    ``cond``).
    """
    torch = _torch()
    n_c = 0 if cond is None else 1
    enc = _mlp(torch, x.shape[1] + n_c, hidden, 2 * latent_dim)
    dec = _mlp(torch, latent_dim + n_c, hidden, x.shape[1])
    xt = torch.as_tensor(x, dtype=torch.float32)
    ct = None if cond is None else torch.as_tensor(cond, dtype=torch.float32)[:, None]

    def with_c(a, c):
        return a if c is None else torch.cat([a, c], 1)

    def step(idx, epoch):
        xb = xt[idx]
        cb = None if ct is None else ct[idx]
        mu, logvar = enc(with_c(xb, cb)).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        first = dec[:3](with_c(z, cb))  # trVAE's "y" layer: Linear, LayerNorm, ReLU
        recon = dec[3:](first)
        rec = ((recon - xb) ** 2).sum(1).mean()
        kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
        warm = min(1.0, (epoch + 1) / max(1, n_epochs // 4))  # KL warm-up
        loss = rec + beta * warm * kl
        if mmd_weight > 0 and cb is not None:
            on = cb[:, 0] > 0.5
            if 1 < int(on.sum()) < len(idx) - 1:  # both conditions in the batch
                loss = loss + mmd_weight * mmd(torch, first[on], first[~on])
        return loss

    losses = _Trainer(n_epochs=n_epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress,
                      desc=desc).run(list(enc.parameters()) + list(dec.parameters()), len(x), step)
    enc.eval()
    dec.eval()

    def encode(a: np.ndarray, c: np.ndarray | None = None) -> np.ndarray:
        with torch.no_grad():
            at = torch.as_tensor(a, dtype=torch.float32)
            cc = None if c is None else torch.as_tensor(c, dtype=torch.float32)[:, None]
            return enc(with_c(at, cc)).chunk(2, dim=1)[0].numpy()

    def decode(z: np.ndarray, c: np.ndarray | None = None) -> np.ndarray:
        with torch.no_grad():
            zt = torch.as_tensor(z, dtype=torch.float32)
            cc = None if c is None else torch.as_tensor(c, dtype=torch.float32)[:, None]
            return dec(with_c(zt, cc)).numpy()

    def layer_mmd(a: np.ndarray, c: np.ndarray) -> float | None:
        if cond is None:
            return None
        with torch.no_grad():
            at = torch.as_tensor(a, dtype=torch.float32)
            cc = torch.as_tensor(c, dtype=torch.float32)[:, None]
            first = dec[:3](with_c(enc(with_c(at, cc)).chunk(2, dim=1)[0], cc))
            on = cc[:, 0] > 0.5
            return float(mmd(torch, first[on], first[~on]))

    return encode, decode, losses, layer_mmd


@seeds_torch
def fit_cpa(
    x: np.ndarray, pert: np.ndarray, cell_type: np.ndarray, *, latent_dim: int, hidden: int,
    n_epochs: int, batch_size: int, lr: float, adv_weight: float, seed: int, progress: bool, desc: str,
):
    """CPA-style model: ``x -> basal z``; ``decoder(z + e_pert + e_celltype) -> x``.

    An adversarial classifier (through a gradient-reversal layer) tries to read the
    perturbation from the basal ``z``; the encoder learns to defeat it, so the perturbation
    lives in its additive embedding ``e_pert`` and can be added to any cell's basal state.

    Returns ``predict(x, cell_type_codes, pert) -> expression``, the perturbation
    embeddings and the losses.
    """
    torch = _torch()
    nn = torch.nn
    n_types = int(cell_type.max()) + 1
    enc = _mlp(torch, x.shape[1], hidden, latent_dim)
    dec = _mlp(torch, latent_dim, hidden, x.shape[1])
    e_pert = nn.Embedding(2, latent_dim)
    e_type = nn.Embedding(n_types, latent_dim)
    adv = _mlp(torch, latent_dim, hidden // 2, 1)
    with torch.no_grad():
        e_pert.weight[0].zero_()  # control is the origin: no perturbation added

    class _Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a.view_as(a)

        @staticmethod
        def backward(ctx, grad):
            return -adv_weight * grad

    xt = torch.as_tensor(x, dtype=torch.float32)
    pt = torch.as_tensor(pert, dtype=torch.long)
    tt = torch.as_tensor(cell_type, dtype=torch.long)
    bce = nn.BCEWithLogitsLoss()

    def step(idx, epoch):
        xb, pb, tb = xt[idx], pt[idx], tt[idx]
        z = enc(xb)
        recon = dec(z + e_pert(pb) * (pb[:, None] > 0) + e_type(tb))
        rec = ((recon - xb) ** 2).sum(1).mean()
        adv_loss = bce(adv(_Reverse.apply(z)).squeeze(1), pb.float())
        return rec + adv_loss

    params = [p for m in (enc, dec, e_pert, e_type, adv) for p in m.parameters()]
    losses = _Trainer(n_epochs=n_epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress,
                      desc=desc).run(params, len(x), step)
    for m in (enc, dec):
        m.eval()

    def predict(a: np.ndarray, types: np.ndarray, p: int) -> np.ndarray:
        with torch.no_grad():
            z = enc(torch.as_tensor(a, dtype=torch.float32))
            tcode = torch.as_tensor(types, dtype=torch.long)
            pcode = torch.full((len(a),), p, dtype=torch.long)
            return dec(z + e_pert(pcode) * (p > 0) + e_type(tcode)).numpy()

    return predict, e_pert.weight.detach().numpy().copy(), losses


@seeds_torch
def fit_cyclecdr(
    x: np.ndarray, pert: np.ndarray, cell_type: np.ndarray, *, latent_dim: int, hidden: int,
    n_epochs: int, batch_size: int, lr: float, cycle_weight: float, align_weight: float, seed: int,
    progress: bool, desc: str,
):
    """cycleCDR-style model: one autoencoder per domain (control, perturbed) sharing a latent
    space in which the perturbation is a learned shift ``delta``.

    Translation control -> perturbed is ``dec_p(enc_c(x) + delta)``, back is
    ``dec_c(enc_p(x) - delta)``. Control and perturbed cells are never paired; the losses are
    per-domain reconstruction, cycle consistency (translate and translate back, compare with
    the input), and, to make the translation land on real perturbed cells, matching of the
    mean of translated and observed cells within each training cell type (gene space and
    latent space).

    Returns ``(translate, delta, losses)``: ``translate(x) -> predicted perturbed
    expression``, the latent shift, and a dict of per-epoch ``total``, ``reconstruction``,
    ``cycle`` and ``alignment`` losses (mean per cell).
    """
    torch = _torch()
    nn = torch.nn
    n_genes = x.shape[1]
    enc_c, enc_p = _mlp(torch, n_genes, hidden, latent_dim), _mlp(torch, n_genes, hidden, latent_dim)
    dec_c, dec_p = _mlp(torch, latent_dim, hidden, n_genes), _mlp(torch, latent_dim, hidden, n_genes)
    delta = nn.Parameter(torch.zeros(latent_dim))
    xt = torch.as_tensor(x, dtype=torch.float32)
    pt = torch.as_tensor(pert, dtype=torch.bool)
    n_types = int(cell_type.max()) + 1
    onehot = torch.nn.functional.one_hot(torch.as_tensor(cell_type, dtype=torch.long), n_types).float()
    parts: dict[str, list[float]] = {"reconstruction": [], "cycle": [], "alignment": []}
    running = {k: 0.0 for k in parts}

    def sq(a, b):
        return ((a - b) ** 2).sum(1)

    def type_means(a, w):
        n = w.sum(0)
        return (w.T @ a) / n.clamp(min=1)[:, None], n

    def step(idx, epoch):
        if epoch != current[0]:  # a new epoch: store the last one's mean losses
            flush()
            current[0] = epoch
        xb, pb, wb = xt[idx], pt[idx], onehot[idx]
        xc, xp, wc, wp = xb[~pb], xb[pb], wb[~pb], wb[pb]
        zc, zp = enc_c(xc), enc_p(xp)
        fake_p, fake_c = dec_p(zc + delta), dec_c(zp - delta)
        rec = torch.cat([sq(dec_c(zc), xc), sq(dec_p(zp), xp)]).mean()
        cyc = torch.cat([sq(dec_c(enc_p(fake_p) - delta), xc), sq(dec_p(enc_c(fake_c) + delta), xp)]).mean()
        # unpaired cells: within each cell type seen in both conditions, translated cells must
        # match the observed ones on average, in genes and in the latent space
        mc, n_c = type_means(torch.cat([xc, fake_p, zc + delta], 1), wc)
        mp, n_p = type_means(torch.cat([fake_c, xp, zp], 1), wp)
        both = (n_c > 0) & (n_p > 0)
        align = sq(mc[both], mp[both]).mean() if bool(both.any()) else xb.sum() * 0.0
        for k, v in (("reconstruction", rec), ("cycle", cyc), ("alignment", align)):
            running[k] += float(v.detach()) * len(idx)
        return rec + cycle_weight * cyc + align_weight * align

    current = [0]

    def flush():
        for k in parts:
            parts[k].append(running[k] / len(x))
            running[k] = 0.0

    modules = (enc_c, enc_p, dec_c, dec_p)
    params = [p for m in modules for p in m.parameters()] + [delta]
    total = _Trainer(n_epochs=n_epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress,
                     desc=desc).run(params, len(x), step)
    flush()
    for m in modules:
        m.eval()

    def translate(a: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return dec_p(enc_c(torch.as_tensor(a, dtype=torch.float32)) + delta).numpy()

    return translate, delta.detach().numpy().copy(), {"total": total, **parts}
