"""Dose-response curves out of an AnnData, as arrays for the batched fitter."""

from __future__ import annotations

from collections.abc import Sequence

from anndata import AnnData

from ..tl._dose._dose_response import curve_batch

__all__ = ["dose_curves"]


def dose_curves(
    adata: AnnData,
    *,
    dose_key: str = "dose",
    groupby: str = "perturbation",
    control: str = "control",
    layer: str | None = None,
    obsm_key: str | None = None,
    groups: Sequence[str] | None = None,
) -> dict:
    """One curve per (perturbation, feature): the perturbation's observations at their doses
    plus all control observations at dose 0, padded to a common length.

    Parameters
    ----------
    adata
        Observations x features.
    dose_key, groupby, control
        Dose column, perturbation column and its control label.
    layer, obsm_key
        Use a layer, or the columns of ``obsm[obsm_key]``, instead of ``X``.
    groups
        Only these perturbations.

    Returns
    -------
    dict
        ``dose``, ``response``, ``weights`` (``(B, n)`` float arrays; weight 0 pads
        shorter curves), ``group`` and ``feature`` (length ``B``, perturbation-major),
        ``groups``, ``features``, ``control_values`` (control observations x features). These
        are the inputs of :func:`perturbkit.dose.fit_curves` and
        :func:`perturbkit.dose.compare_with_scipy`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(n_genes=20, n_response_genes=5, seed=0)
    >>> curves = pk.get.dose_curves(sim)
    >>> curves["response"].shape[0]
    20
    """
    return curve_batch(adata, dose_key=dose_key, groupby=groupby, control=control, layer=layer,
                       obsm_key=obsm_key, groups=groups)
