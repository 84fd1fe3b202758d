"""CPA with doses: a compositional autoencoder whose drug embedding is scaled by a learnt,
monotone function of dose (Lotfollahi et al. 2023), against dose-interpolation baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._seeding import seeds_torch
from ..._validate import as_dense, check_finite, check_group, check_obs
from ._generative import _mlp, _torch

__all__ = ["cpa_dose_benchmark"]

CPA_DOSE_METHODS = ("control", "nearest_dose", "log_linear", "cpa")


@seeds_torch
def fit_cpa_dose(
    x: np.ndarray, drug: np.ndarray, dose: np.ndarray, n_drugs: int, *, latent_dim: int, hidden: int,
    n_epochs: int, lr: float, adv_weight: float, vehicle_weight: float, seed: int,
):
    """Train CPA on wells ``x`` with drug codes (0 = vehicle) and doses.

    ``z_basal = encoder(x)``; ``x_hat = decoder(z_basal + f_k(dose) * e_k)`` with ``e_k`` the
    drug embedding and CPA's ``logsigm`` dose function ``f_k(d) = sigmoid(beta_k log(1 + d) +
    b_k) - sigmoid(b_k)`` (monotone in dose, 0 at dose 0). An adversary tries to tell the drug
    from ``z_basal`` through a gradient-reversal layer, so the drug information is pushed into
    ``f_k(d) e_k``. Bulk wells have no basal state of their own worth keeping (every well
    started as the same cells), so with weight ``vehicle_weight`` each well is also rebuilt
    from a random vehicle well's basal state plus its drug term, the way predictions are
    made; without it (0) a few hundred wells let the encoder carry the drug and the
    embeddings learn little. Full-batch Adam (a plate has a few hundred wells).

    Combinations: with ``drug`` and ``dose`` of shape (samples, m), a sample carries up to
    ``m`` perturbations (code 0 pads) and its latent is ``z_basal + sum_j f_kj(d_j) e_kj``, CPA's
    composition; the adversary then predicts the set of perturbations present (one logistic
    output each, as CPA does for combinations) instead of a single class.

    Returns ``predict(x_basal, drug_code, dose) -> mean decoded profile`` (the counterfactual
    of the given wells under that drug and dose; a tuple of codes and a tuple of doses decode
    the sum of their terms) and ``dose_fn(drug_code, doses) -> f_k``.
    """
    torch = _torch()
    nn = torch.nn
    enc = _mlp(torch, x.shape[1], hidden, latent_dim)
    dec = _mlp(torch, latent_dim, hidden, x.shape[1])
    emb = nn.Embedding(n_drugs + 1, latent_dim)
    beta = nn.Parameter(torch.ones(n_drugs + 1))
    bias = nn.Parameter(torch.zeros(n_drugs + 1))
    adv = _mlp(torch, latent_dim, hidden, n_drugs + 1)

    class _Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a.view_as(a)

        @staticmethod
        def backward(ctx, grad):
            return -adv_weight * grad

    def dose_fn_t(k, d):
        return torch.sigmoid(beta[k] * torch.log1p(d) + bias[k]) - torch.sigmoid(bias[k])

    def pert_t(k, d):
        """The perturbation term of each sample: one drug (k, d of shape (n,)) or a sum (n, m)."""
        if k.ndim == 1:
            return dose_fn_t(k, d)[:, None] * emb(k) * (k[:, None] > 0)
        return (dose_fn_t(k, d)[..., None] * emb(k) * (k[..., None] > 0)).sum(1)

    multi = np.ndim(drug) == 2
    xt = torch.as_tensor(x, dtype=torch.float32)
    ctrl_rows = torch.as_tensor(np.flatnonzero((np.asarray(drug).reshape(len(x), -1) == 0).all(1)), dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    kt = torch.as_tensor(drug, dtype=torch.long)
    dt = torch.as_tensor(dose, dtype=torch.float32)
    params = [p for m in (enc, dec, emb, adv) for p in m.parameters()] + [beta, bias]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=1e-5)
    ce = nn.CrossEntropyLoss()
    if multi:  # the adversary's target: which perturbations a sample carries (vehicle = none)
        present = torch.zeros(len(x), n_drugs + 1)
        present.scatter_(1, kt, 1.0)
        present[:, 0] = (kt == 0).all(1).float()
        bce = nn.BCEWithLogitsLoss()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a few hundred wells: threads only add contention on a shared machine
    try:
        for _ in range(n_epochs):
            z = enc(xt)
            pert = pert_t(kt, dt)
            rec = ((dec(z + pert) - xt) ** 2).sum(1).mean()
            # a plate has no per-well basal state to keep: each well must also be rebuilt from a
            # random vehicle well's basal state, so the drug's effect has to live in f_k(d) e_k
            pick = ctrl_rows[torch.randint(len(ctrl_rows), (len(xt),), generator=gen)]
            cf = ((dec(enc(xt[pick]) + pert) - xt) ** 2).sum(1).mean()
            logits = adv(_Reverse.apply(z))
            loss = rec + vehicle_weight * cf + (bce(logits, present) if multi else ce(logits, kt))
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    for m in (enc, dec):
        m.eval()

    def predict(basal: np.ndarray, k, d) -> np.ndarray:
        with torch.no_grad():
            z = enc(torch.as_tensor(basal, dtype=torch.float32))
            shape = (len(basal),) + np.shape(k)  # one code, or a tuple of codes (a combination)
            kk = torch.as_tensor(np.broadcast_to(np.asarray(k, dtype=np.int64), shape).copy())
            dd = torch.as_tensor(np.broadcast_to(np.asarray(d, dtype=np.float32), shape).copy())
            return dec(z + pert_t(kk, dd)).mean(0).numpy()

    def dose_fn(k: int, doses: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            d = torch.as_tensor(np.asarray(doses, dtype=float), dtype=torch.float32)
            return dose_fn_t(torch.full(d.shape, int(k), dtype=torch.long), d).numpy()

    return predict, dose_fn


def _interpolate(sig_by_dose: dict[float, np.ndarray], d: float, method: str) -> np.ndarray:
    """A compound's signature at dose ``d`` from its observed doses: nearest in log dose, or
    linear in log dose between the neighbouring doses (the nearest beyond the range)."""
    known = np.array(sorted(sig_by_dose))
    ld, lk = np.log(d), np.log(known)
    if method == "nearest_dose" or ld <= lk[0] or ld >= lk[-1]:
        return sig_by_dose[float(known[np.argmin(np.abs(lk - ld))])]
    hi = int(np.searchsorted(lk, ld))
    w = (ld - lk[hi - 1]) / (lk[hi] - lk[hi - 1])
    return (1 - w) * sig_by_dose[float(known[hi - 1])] + w * sig_by_dose[float(known[hi])]


def cpa_dose_benchmark(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    dose_key: str = "dose",
    holdout: str = "pairs",
    n_folds: int = 5,
    latent_dim: int = 16,
    hidden: int = 64,
    n_epochs: int = 200,
    lr: float = 3e-3,
    adv_weight: float = 5.0,
    vehicle_weight: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Predict compound x dose signatures that training never saw, with CPA and baselines.

    A signature is a well's expression minus the mean of the vehicle wells. Two hold-outs:

    ``holdout="doses"``
        each interior dose level in turn is removed for *every* compound (a dose never
        measured on the plate);
    ``holdout="pairs"``
        the compound x dose pairs are split into ``n_folds`` random groups, each removed in
        turn (any dose of any compound, the extremes included).

    Predictors of a held-out pair (compound ``k``, dose ``d``), all from the training wells:

    ``control``
        no change (signature 0);
    ``nearest_dose``
        ``k``'s signature at its nearest training dose (in log dose);
    ``log_linear``
        linear interpolation in log dose between ``k``'s neighbouring training doses
        (the nearest dose beyond the range);
    ``cpa``
        CPA (:func:`fit_cpa_dose`): the vehicle wells are encoded to their basal state,
        ``f_k(d) e_k`` is added and the result decoded; the prediction is the mean over
        vehicle wells minus the vehicle mean.

    Parameters
    ----------
    adata
        Wells x genes of log expression with ``obs[groupby]`` and numeric ``obs[dose_key]``
        (e.g. ``pk.data.load("l1000_ljp005_a375_dose")``).
    groupby, control, dose_key
        Compound column, vehicle label, dose column (vehicle wells may have any dose).
    holdout
        ``"pairs"`` or ``"doses"``.
    n_folds
        Folds of ``holdout="pairs"``.
    latent_dim, hidden, n_epochs, lr, adv_weight
        CPA's latent size, hidden units, full-batch epochs, learning rate and adversary
        weight (gradient-reversal scale).
    vehicle_weight
        Weight of rebuilding each well from a vehicle well's basal state
        (see :func:`fit_cpa_dose`); 0 is CPA's loss alone.
    seed
        Seed of the folds and of the model.

    Returns
    -------
    DataFrame
        One row per (held-out well, method): ``perturbation``, ``dose``, ``fold``,
        ``method``, ``pearson_delta`` (predicted vs observed signature over genes),
        ``mse``, ``sse`` and ``obs_ss`` (sums of squares of the error and of the observed
        signature; ``1 - sum(sse) / sum(obs_ss)`` is the fraction explained),
        ``shift_explained`` (``1 - sse / obs_ss`` for the well).

    References
    ----------
    Lotfollahi M et al. (2023) Predicting cellular responses to complex perturbations in
    high-throughput screens. Mol Syst Biol 19:e11517.

    Examples
    --------
    >>> import perturbkit as pk
    >>> plate = pk.data.simulate_dose_plate(n_compounds=6, n_genes=30, seed=0)
    >>> res = pk.tl.cpa_dose_benchmark(plate, holdout="doses", n_epochs=50)
    >>> sorted(res["method"].unique()), [float(d) for d in sorted(res["dose"].unique())[:2]]
    (['control', 'cpa', 'log_linear', 'nearest_dose'], [0.12, 0.37])
    """
    check_obs(adata, groupby)
    check_obs(adata, dose_key)
    check_group(adata, groupby, control, role="control label")
    if holdout not in ("pairs", "doses"):
        raise ValueError(f"holdout must be 'pairs' or 'doses', got {holdout!r}")
    labels = adata.obs[groupby].astype(str).to_numpy()
    dose = pd.to_numeric(adata.obs[dose_key], errors="coerce").to_numpy(dtype=float)
    is_ctrl = labels == str(control)
    if np.isnan(dose[~is_ctrl]).any() or (dose[~is_ctrl] <= 0).any():
        raise ValueError(f"obs[{dose_key!r}] must be positive and numeric for every treated well")
    x = check_finite(as_dense(adata.X).astype(np.float32), name="adata.X")
    drugs = sorted(set(labels[~is_ctrl]))
    code = np.array([0 if lab == str(control) else drugs.index(lab) + 1 for lab in labels])
    treated = np.flatnonzero(~is_ctrl)
    levels = np.array(sorted(set(np.round(dose[treated], 6))))
    if len(levels) < 3:
        raise ValueError(f"obs[{dose_key!r}] has {len(levels)} dose levels; at least 3 are needed to hold one out")
    rng = np.random.default_rng(seed)
    if holdout == "doses":
        splits = [treated[np.isclose(dose[treated], lv)] for lv in levels[1:-1]]
    else:
        fold = np.empty(len(treated), dtype=int)
        fold[rng.permutation(len(treated))] = np.arange(len(treated)) % n_folds
        splits = [treated[fold == k] for k in range(n_folds)]
    ctrl_mean = x[is_ctrl].mean(0)  # the vehicle wells are never held out
    rows = []
    for k, test in enumerate(splits):
        train = np.setdiff1d(np.arange(len(x)), test)
        scale = x[train].std(0)  # gene scales from the training wells only
        scale = np.where(scale > 0, scale, 1.0)
        sig = x - ctrl_mean
        by_drug: dict[str, dict[float, np.ndarray]] = {}
        for i in train:
            if not is_ctrl[i]:
                by_drug.setdefault(labels[i], {})[float(dose[i])] = sig[i]
        predict, _ = fit_cpa_dose((x[train] - ctrl_mean) / scale, code[train], dose[train], len(drugs),
                                  latent_dim=latent_dim, hidden=hidden, n_epochs=n_epochs, lr=lr,
                                  adv_weight=adv_weight, vehicle_weight=vehicle_weight, seed=seed + k)
        basal = (x[is_ctrl] - ctrl_mean) / scale
        cpa_ctrl = predict(basal, 0, 0.0)  # the decoder's vehicle profile: its own reference
        for i in test:
            known = by_drug.get(labels[i], {})
            preds = {"control": np.zeros(x.shape[1])}
            if known:
                preds["nearest_dose"] = _interpolate(known, float(dose[i]), "nearest_dose")
                preds["log_linear"] = _interpolate(known, float(dose[i]), "log_linear")
            else:  # every dose of this compound held out: nothing to interpolate
                preds["nearest_dose"] = preds["log_linear"] = np.zeros(x.shape[1])
            preds["cpa"] = (predict(basal, code[i], float(dose[i])) - cpa_ctrl) * scale
            obs = sig[i]
            for m in CPA_DOSE_METHODS:
                rows.append({"perturbation": labels[i], "dose": float(dose[i]), "fold": k, "method": m,
                             **signature_scores(preds[m], obs)})
    return pd.DataFrame(rows)


def signature_scores(pred: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    """How well a predicted signature matches the observed one, the columns both CPA
    benchmarks report: ``pearson_delta`` (0 for a flat prediction), ``mse``, ``sse``,
    ``obs_ss`` and ``shift_explained`` (``1 - sse / obs_ss``; NaN for an observed signature
    of exactly 0)."""
    sse = float(((pred - obs) ** 2).sum())
    obs_ss = float((obs**2).sum())
    return {
        "pearson_delta": 0.0 if pred.std() == 0 else float(np.corrcoef(pred, obs)[0, 1]),
        "mse": sse / len(obs), "sse": sse, "obs_ss": obs_ss,
        "shift_explained": 1.0 - sse / obs_ss if obs_ss > 0 else float("nan"),
    }
