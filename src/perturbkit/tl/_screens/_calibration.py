"""Negative controls for a screen's tests: non-targeting guides against each other."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import check_adata, check_group, check_obs
from ._knockdown import perturbation_test

__all__ = ["negative_control_tests"]


def negative_control_tests(
    adata: AnnData,
    *,
    guide_key: str = "guide",
    target_key: str = "target",
    non_targeting: str = "non-targeting",
    genes: list[str] | None = None,
    min_cells: int = 20,
    layer: str | None = "counts",
    strata: str | None = "replicate",
    n_permutations: int = 199,
    seed: int = 0,
) -> pd.DataFrame:
    """Test every gene between each non-targeting guide and the other non-targeting cells.

    No non-targeting guide should change any gene, so every test here is a true null and
    its p-values should be uniform: the share below 0.05 is the test's false-positive
    rate. A QQ plot of these p-values (:func:`perturbkit.pl.qq`) shows which test is
    calibrated; a test that is not will also overstate the knockdowns and effects of
    real targets.

    Run first: :func:`perturbkit.tl.assign_guides`.

    Parameters
    ----------
    adata
        Screen with guide and target labels in ``obs``.
    guide_key, target_key, non_targeting
        ``obs`` columns with the guide and target of each cell, and the target label of
        non-targeting guides.
    genes
        Genes to test (default all).
    min_cells
        Guides with fewer cells are skipped.
    layer, strata, n_permutations, seed
        As in :func:`perturbkit.tl.perturbation_test`; each guide gets seed ``seed + i``.

    Returns
    -------
    DataFrame
        One row per (guide, gene): ``guide``, ``gene``, ``n_group``, ``n_reference``,
        ``log2fc``, ``t``, ``pvalue_ttest`` and ``pvalue_permutation``. ``adata`` is not
        modified.

    Raises
    ------
    KeyError
        ``guide_key`` or ``target_key`` missing.
    ValueError
        No cells with target ``non_targeting``, or fewer than two guides with
        ``min_cells`` cells.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=800, n_genes=20, nt_fraction=0.6, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> null = pk.tl.negative_control_tests(adata, n_permutations=49)
    >>> sorted(null["guide"].unique())
    ['NTg1', 'NTg2', 'NTg3', 'NTg4']
    """
    check_adata(adata)
    check_obs(adata, guide_key, target_key)
    check_group(adata, target_key, non_targeting, role="non-targeting label")
    nt = adata[adata.obs[target_key].astype(str) == non_targeting].copy()
    guide = nt.obs[guide_key].astype(str)
    sizes = guide[guide != "multiple"].value_counts()
    keep = sorted(sizes[sizes >= min_cells].index)
    if len(keep) < 2:
        raise ValueError(
            f"need at least two non-targeting guides with >= {min_cells} cells; sizes: {sizes.to_dict()}"
        )
    nt = nt[guide.isin(keep).to_numpy()].copy()
    frames = []
    for i, g in enumerate(keep):
        nt.obs["_null_group"] = np.where(nt.obs[guide_key].astype(str) == g, g, "other")
        res = perturbation_test(
            nt, group=g, groupby="_null_group", reference="other", genes=genes, layer=layer,
            strata=strata, n_permutations=n_permutations, seed=seed + i,
        )
        frames.append(res.rename(columns={"group": "guide"}).drop(columns=["reference"]))
    cols = ["guide", "gene", "n_group", "n_reference", "log2fc", "t", "pvalue_ttest"]
    if n_permutations > 0:
        cols.append("pvalue_permutation")
    return pd.concat(frames, ignore_index=True)[cols]
