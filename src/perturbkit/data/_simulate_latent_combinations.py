"""Single cells under single and paired perturbations that add up in a latent space, not in
expression: the generative story CPA assumes, with a few pairs that break it."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from anndata import AnnData

__all__ = ["simulate_latent_combinations"]


def _softplus(a: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, a)


def simulate_latent_combinations(
    n_perturbations: int = 8,
    *,
    n_pairs: int | None = None,
    n_interacting: int = 4,
    n_genes: int = 50,
    latent_dim: int = 6,
    n_cells: int = 40,
    effect: float = 3.0,
    interaction: float = 2.0,
    basal_sd: float = 0.5,
    noise: float = 0.3,
    seed: int = 0,
) -> AnnData:
    """Cells whose perturbations add up in a latent space and reach expression through a
    saturating decoder; ``n_interacting`` of the pairs get an extra, planted latent term.

    Each cell has a basal state ``z ~ N(0, basal_sd^2 I)`` in ``latent_dim`` dimensions.
    Perturbation ``k`` moves it by ``e_k`` (random direction, norm ``effect``); a pair ``a+b``
    by ``e_a + e_b`` (``"additive"``) or ``e_a + e_b + i_ab`` with ``i_ab`` a random direction
    of norm ``interaction`` (``"interacting"``). Gene ``g`` reads the latent state through
    ``mean_g = softplus(c_g + A_g . z)`` (``A`` Gaussian with rows of norm ~1.5, ``c_g`` in
    0-2), so a gene pushed towards zero saturates: the sum of two single shifts in expression
    overshoots even for an additive pair, and only the latent sum is exact. ``X`` = mean +
    Gaussian noise of sd ``noise`` (log-expression-like values, some slightly negative).

    Parameters
    ----------
    n_perturbations
        Single perturbations ``P0``, ``P1``, ...; each is measured alone.
    n_pairs
        Pairs measured (``None``: all of them; otherwise drawn at random, every perturbation
        in at least one if possible).
    n_interacting
        Pairs given a planted latent interaction term (at most ``n_pairs``).
    n_genes, latent_dim
        Genes measured and the latent dimension of the truth.
    n_cells
        Cells per condition (control, each single, each pair).
    effect, interaction
        Norm of each perturbation's latent shift and of each planted interaction term.
    basal_sd, noise
        Cell-to-cell sd of the basal latent state and the per-value expression noise.
    seed
        Random seed.

    Returns
    -------
    AnnData
        Cells x genes. ``obs["perturbation"]`` (``"control"``, ``"P0"``, ``"P0+P3"``...,
        categorical), ``obs["n_perturbations"]`` (0, 1 or 2). ``uns["truth"]``:
        ``"pairs"``, a DataFrame indexed by pair with ``kind`` (``"additive"`` or
        ``"interacting"``) and ``true_expression_gap`` (the share of the pair's true shift
        that the sum of its singles' true shifts misses: ``|true - additive|^2 / |true|^2``);
        ``"shift"``, the noise-free mean shift from control of every condition (conditions x
        genes, expected over the basal states); ``"embeddings"``, the latent ``e_k``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_latent_combinations(n_perturbations=4, n_pairs=4, n_interacting=1, seed=0)
    >>> sim.shape, sim.uns["truth"]["pairs"]["kind"].value_counts().to_dict()
    ((360, 50), {'additive': 3, 'interacting': 1})
    """
    n_all = n_perturbations * (n_perturbations - 1) // 2
    n_pairs = n_all if n_pairs is None else n_pairs
    if n_perturbations < 2:
        raise ValueError(f"n_perturbations must be >= 2 to form a pair, got {n_perturbations}")
    if not 1 <= n_pairs <= n_all:
        raise ValueError(f"n_pairs must be between 1 and {n_all} for {n_perturbations} perturbations, got {n_pairs}")
    if not 0 <= n_interacting <= n_pairs:
        raise ValueError(f"n_interacting must be between 0 and n_pairs={n_pairs}, got {n_interacting}")
    if n_cells < 1 or n_genes < 1 or latent_dim < 1:
        raise ValueError(f"n_cells, n_genes and latent_dim must be >= 1, got {n_cells}, {n_genes}, {latent_dim}")
    rng = np.random.default_rng(seed)

    def unit(n: int) -> np.ndarray:
        v = rng.normal(size=(n, latent_dim))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    singles = [f"P{k}" for k in range(n_perturbations)]
    emb = effect * unit(n_perturbations)
    # pairs: a random order of all pairs, taking first those that bring a new perturbation in
    order = [tuple(p) for p in rng.permutation(list(itertools.combinations(range(n_perturbations), 2)))]
    chosen: list[tuple[int, int]] = []
    for new_first in (True, False):
        for a, b in order:
            covered = {m for p in chosen for m in p}
            if len(chosen) < n_pairs and (a, b) not in chosen and (not new_first or {a, b} - covered):
                chosen.append((a, b))
    chosen = sorted(chosen)
    interacting = set(rng.choice(len(chosen), size=n_interacting, replace=False).tolist())
    extra = interaction * unit(len(chosen))
    shifts = {"control": np.zeros(latent_dim)}
    shifts.update({s: emb[k] for k, s in enumerate(singles)})
    kinds = {}
    for j, (a, b) in enumerate(chosen):
        name = f"{singles[a]}+{singles[b]}"
        kinds[name] = "interacting" if j in interacting else "additive"
        shifts[name] = emb[a] + emb[b] + (extra[j] if j in interacting else 0.0)

    load = rng.normal(size=(n_genes, latent_dim)) * 1.5 / np.sqrt(latent_dim)
    offset = rng.uniform(0.0, 2.0, n_genes)
    names = list(shifts)
    labels = np.repeat(names, n_cells)
    z = rng.normal(scale=basal_sd, size=(len(labels), latent_dim)) + np.vstack([shifts[n] for n in labels])
    x = _softplus(offset + z @ load.T) + rng.normal(scale=noise, size=(len(labels), n_genes))

    # noise-free mean of each condition, expected over basal states (a fixed large sample)
    zb = np.random.default_rng(seed + 1).normal(scale=basal_sd, size=(4000, latent_dim))
    means = pd.DataFrame({n: _softplus(offset + (zb + shifts[n]) @ load.T).mean(0) for n in names}).T
    genes = [f"G{g}" for g in range(n_genes)]
    true_shift = means - means.loc["control"]
    true_shift.columns = genes
    pairs = pd.DataFrame({"kind": pd.Series(kinds)})
    gap = []
    for name in pairs.index:
        a, b = name.split("+")
        add = true_shift.loc[a] + true_shift.loc[b]
        gap.append(float(((true_shift.loc[name] - add) ** 2).sum() / (true_shift.loc[name] ** 2).sum()))
    pairs["true_expression_gap"] = gap
    pairs.index.name = "perturbation"

    obs = pd.DataFrame({
        "perturbation": pd.Categorical(labels, categories=names),
        "n_perturbations": np.array([0 if n == "control" else n.count("+") + 1 for n in labels]),
    }, index=[f"cell{i}" for i in range(len(labels))])
    adata = AnnData(x.astype(np.float32), obs=obs, var=pd.DataFrame(index=genes))
    adata.uns["truth"] = {"pairs": pairs, "shift": true_shift,
                          "embeddings": pd.DataFrame(emb, index=singles)}
    return adata
