"""Predict the expression signature of a compound at a dose that was never measured,
from the rest of a dose plate: a perturbation-conditioned model against baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._seeding import seeds_torch
from ..._validate import as_dense, check_adata, check_finite, check_group, check_obs

__all__ = ["predict_dose_signature"]


@seeds_torch
def _conditioned_net(emb, logd, sig, train, test, seed, n_epochs=200):
    """A small network: (compound embedding, log dose) -> signature, trained on train rows."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny network: threads only add contention
    x = torch.tensor(np.column_stack([emb, logd]), dtype=torch.float32)
    y = torch.tensor(sig, dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 64), torch.nn.GELU(), torch.nn.Linear(64, y.shape[1]))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    tr = torch.tensor(train)
    for _ in range(n_epochs):
        opt.zero_grad()
        loss = ((net(x[tr]) - y[tr]) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = net(x[torch.tensor(test)]).numpy()
    torch.set_num_threads(threads)
    return out


def predict_dose_signature(
    adata: AnnData,
    *,
    dose_key: str = "dose",
    groupby: str = "perturbation",
    control: str = "control",
    n_holdout: int = 40,
    n_components: int = 8,
    n_folds: int = 4,
    seed: int = 0,
) -> pd.DataFrame:
    """Hold out compound x dose wells one at a time and predict their signatures.

    The signature of a well is its expression minus the mean of the control wells. For
    each held-out well of compound ``k`` at dose ``x``, with that well removed:

    * ``mean_at_dose``: the mean signature of all other compounds at dose ``x`` (baseline);
    * ``nearest_compound``: the signature at dose ``x`` of the compound whose remaining
      doses correlate best with compound ``k``'s remaining doses (baseline);
    * ``own_doses``: compound ``k``'s own signature interpolated in log dose from its
      neighbouring doses (a dose-response view);
    * ``conditioned_net``: a small network mapping (compound embedding, log dose) to the
      signature, trained on every other well (in the spirit of PRnet, with the compound
      embedding learnt from its other doses' profiles instead of its chemical structure).

    Parameters
    ----------
    adata
        Wells x genes of a dose plate (log expression).
    dose_key, groupby, control
        Dose column, perturbation column and the control label.
    n_holdout
        Held-out wells (drawn at random among treated wells).
    n_folds
        Held-out wells are removed and predicted in this many batches.
    n_components
        Dimension of the compound embedding (principal components of compounds' mean
        signatures over their remaining doses).
    seed
        Random seed (held-out draw and network).

    Returns
    -------
    DataFrame
        One row per (held-out well, method): ``compound``, ``dose``, ``method``, ``pearson``
        (predicted vs observed signature over genes) and ``rmse``.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(n_cell_types=1, n_genes=30, n_replicates=3, seed=0)
    >>> pb = pk.get.pseudobulk(sim, sample_key="well", cell_type_key="cell_type")
    >>> sc.pp.log1p(pb)
    >>> drug = pb.obs["replicate"].astype(int).map({1: "drugA", 2: "drugB", 3: "drugC"}).astype(str)
    >>> pb.obs["perturbation"] = drug.where(pb.obs["dose"].astype(float) > 0, "control")
    >>> res = pk.tl.predict_dose_signature(pb, n_holdout=3, n_components=1)
    >>> sorted(res["method"].unique())[:2]
    ['conditioned_net', 'mean_at_dose']
    """
    check_adata(adata)
    check_obs(adata, dose_key, groupby)
    check_group(adata, groupby, control, role="control")
    x = check_finite(as_dense(adata.X), name="adata.X")
    labels = adata.obs[groupby].astype(str).to_numpy()
    dose = adata.obs[dose_key].to_numpy(float)
    ctrl = labels == str(control)
    sig = x[~ctrl] - x[ctrl].mean(0)
    comp, dz = labels[~ctrl], dose[~ctrl]
    if not (dz > 0).all():
        raise ValueError(f"treated wells must have dose > 0 in obs[{dose_key!r}]; "
                         f"{int((dz <= 0).sum())} do not (label dose-0 wells {control!r})")
    logd = np.log10(dz)
    compounds = pd.unique(comp)
    if len(compounds) < 3:
        raise ValueError(f"need at least 3 compounds besides {control!r}, found {len(compounds)}")
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(comp), size=min(n_holdout, len(comp)), replace=False)
    rows = []
    # held-out wells are predicted in n_folds batches: each batch is removed together and
    # the network trained once per batch (leave-one-out would train once per well)
    for fold in np.array_split(picks, max(1, min(n_folds, len(picks)))):
        keep = np.ones(len(comp), bool)
        keep[fold] = False
        means = {c: sig[keep & (comp == c)].mean(0) for c in compounds if (keep & (comp == c)).any()}
        names = list(means)
        mat = np.stack([means[c] for c in names])
        u, sv, _ = np.linalg.svd(mat - mat.mean(0), full_matrices=False)
        emb_of = dict(zip(names, u[:, :n_components] * sv[:n_components], strict=True))
        ok = np.array([c in emb_of for c in comp])
        emb = np.stack([emb_of.get(c, np.zeros(min(n_components, len(names)))) for c in comp])
        fold = fold[ok[fold]]
        if fold.size == 0:
            continue
        net = _conditioned_net(emb, logd, sig, np.flatnonzero(keep), fold, seed)
        for j, i in enumerate(fold):
            k, d = comp[i], dz[i]
            own = keep & (comp == k)
            if own.sum() < 2:
                continue
            preds = {"conditioned_net": net[j]}
            same_dose = keep & (comp != k) & np.isclose(dz, d)
            preds["mean_at_dose"] = sig[same_dose].mean(0) if same_dose.any() else sig[keep & (comp != k)].mean(0)
            others = [c for c in names if c != k and (keep & (comp == c) & np.isclose(dz, d)).any()]
            best = max(others, key=lambda c: np.corrcoef(means[c], means[k])[0, 1]) if others else None
            preds["nearest_compound"] = (sig[keep & (comp == best) & np.isclose(dz, d)].mean(0)
                                         if best is not None else preds["mean_at_dose"])
            od, osig = logd[own], sig[own]
            order = np.argsort(od)
            od, osig = od[order], osig[order]
            preds["own_doses"] = np.array([np.interp(logd[i], od, osig[:, g]) for g in range(sig.shape[1])])
            for method, p in preds.items():
                rows.append({
                    "compound": k, "dose": d, "method": method,
                    "pearson": float(np.corrcoef(p, sig[i])[0, 1]) if np.std(p) > 0 else 0.0,
                    "rmse": float(np.sqrt(np.mean((p - sig[i]) ** 2))),
                })
    return pd.DataFrame(rows)
