"""scCODA: Bayesian cell-type composition with a reference type, sampled with NUTS (pyro)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..._seeding import restore_global_rngs
from ..._validate import check_probability
from ._composition import _composition_table

__all__ = ["sccoda"]

# Slab width of the regularised horseshoe, on the natural-log concentration scale: an effect
# of 5 is a 150-fold change of a type's concentration, beyond any composition shift observed.
SLAB = 5.0


def _model(x, y, ref: int):
    """scCODA's likelihood (Büttner et al. 2021, their Methods) with a horseshoe prior on
    the effects: ``y_i ~ DirichletMultinomial(n_i, exp(alpha + x_i beta))`` with
    ``beta[:, ref] = 0`` and ``alpha_k ~ N(0, 5)``; per covariate ``d`` a global scale
    ``tau_d ~ HalfCauchy(1)``, per effect a local scale ``lambda_dk ~ HalfCauchy(1)`` and
    ``beta_dk = tau_d * lambda~_dk * z_dk``, ``z ~ N(0, 1)`` (non-centred, which NUTS explores
    far better than scCODA's sharp spike-and-slab switch). ``lambda~`` is the *regularised*
    horseshoe's local scale (Piironen & Vehtari 2017), ``lambda~^2 = s^2 lambda^2 / (s^2 +
    tau^2 lambda^2)`` with slab width ``s = SLAB``: large effects are no longer Cauchy-tailed but
    Normal(0, s). Why: with the plain horseshoe a chain can wander to effects of 50-120 (a
    factor e^50 on a concentration), where the Dirichlet-multinomial is flat, and stay there
    (seeds 3 and 4 on the Haber data did)."""
    import pyro
    import pyro.distributions as dist
    import torch

    n_cov, n_types = x.shape[1], y.shape[1]
    alpha = pyro.sample("alpha", dist.Normal(torch.zeros(n_types, dtype=x.dtype), 5.0).to_event(1))
    tau = pyro.sample("tau", dist.HalfCauchy(torch.ones(n_cov, 1, dtype=x.dtype)).to_event(2))
    lam = pyro.sample("lam", dist.HalfCauchy(torch.ones(n_cov, n_types - 1, dtype=x.dtype)).to_event(2))
    z = pyro.sample("z", dist.Normal(torch.zeros(n_cov, n_types - 1, dtype=x.dtype), 1.0).to_event(2))
    lam_reg = torch.sqrt(SLAB**2 * lam**2 / (SLAB**2 + tau**2 * lam**2))
    free = tau * lam_reg * z
    beta = torch.cat([free[:, :ref], torch.zeros(n_cov, 1, dtype=x.dtype), free[:, ref:]], 1)
    conc = torch.exp(alpha + x @ beta)
    with pyro.plate("samples", y.shape[0]):
        pyro.sample("y", dist.DirichletMultinomial(conc, total_count=y.sum(1)), obs=y)


def _potential(x: np.ndarray, y: np.ndarray, ref: int):
    """The negative log posterior density of :func:`_model` on NUTS's unconstrained scale
    (``tau`` and ``lam`` as logs, with their log-Jacobian), with its analytic gradient, as a
    ``potential_fn`` for pyro's NUTS. Why: the model has ~50 parameters and ~10 samples, so
    a gradient through torch's autograd of the traced model costs ~1.3 ms, nearly all
    per-operation overhead, and ~0.4 ms this way (pyro's ``potential_grad``, under cProfile);
    NUTS spends ~43,000 gradients on the Haber data. Same density up to rounding (constants
    dropped; tests/tl/stats/test_sccoda.py checks value differences and gradients against pyro's
    own potential of ``_model``)."""
    import torch
    from scipy.special import digamma, gammaln

    n = y.sum(1)
    names = ("alpha", "tau", "lam", "z")
    free_cols = np.array([k for k in range(y.shape[1]) if k != ref])  # the reference has no effect

    def value_and_grad(alpha, s, l, z):  # noqa: E741 - l: log of lam, as s is of tau
        tau, lam = np.exp(s), np.exp(l)
        tl2 = (tau * lam) ** 2
        r = SLAB**2 / (SLAB**2 + tl2)  # d log(tau lam~) / d log tau (and / d log lam)
        free = tau * lam * np.sqrt(r) * z  # tau * lam~ * z
        eta = np.broadcast_to(alpha, y.shape).copy()
        eta[:, free_cols] += x @ free
        conc = np.exp(eta)
        total = conc.sum(1)
        loglik = (gammaln(total) - gammaln(n + total) + (gammaln(y + conc) - gammaln(conc)).sum(1)).sum()
        # HalfCauchy(1) on exp(s), with the Jacobian exp(s): -log(1 + tau^2) + s, up to a constant
        logp = (loglik - (alpha**2).sum() / 50.0 - (z**2).sum() / 2.0
                + (s - np.log1p(tau**2)).sum() + (l - np.log1p(lam**2)).sum())
        d_eta = conc * ((digamma(total) - digamma(n + total))[:, None] + digamma(y + conc) - digamma(conc))
        d_free = x.T @ d_eta[:, free_cols]
        d_log_scale = d_free * free * r  # chain rule through free = exp(s + l) * sqrt(r) * z
        grads = (d_eta.sum(0) - alpha / 25.0,
                 d_log_scale.sum(1, keepdims=True) + 1.0 - 2.0 * tau**2 / (1.0 + tau**2),
                 d_log_scale + 1.0 - 2.0 * lam**2 / (1.0 + lam**2),
                 d_free * tau * lam * np.sqrt(r) - z)
        return -logp, [-g for g in grads]

    class _Energy(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *params):
            value, grads = value_and_grad(*(p.detach().numpy() for p in params))
            ctx.grads = [torch.from_numpy(np.ascontiguousarray(g)) for g in grads]
            return torch.tensor(value, dtype=torch.float64)

        @staticmethod
        def backward(ctx, upstream):
            return tuple(upstream * g for g in ctx.grads)

    def potential_fn(params: dict) -> torch.Tensor:
        return _Energy.apply(*(params[k] for k in names))

    return potential_fn


def sccoda(
    counts: pd.DataFrame,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    sample_key: str = "sample",
    cell_type_key: str = "cell_type",
    count_key: str = "n_cells",
    reference: str = "auto",
    level: float = 0.95,
    num_samples: int = 500,
    num_warmup: int = 300,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Bayesian test of cell-type composition changes (scCODA-style), sampled with NUTS.

    Each sample's cell-type counts are Dirichlet-multinomial, with concentrations
    ``exp(alpha + x beta)``: ``x`` holds one 0/1 indicator per non-control condition, and
    ``beta`` the condition's effect on each cell type's log-concentration. The **reference
    cell type** has no effect (``beta = 0``): every effect is a change *relative* to it, which
    is what makes compositional data identifiable. This is scCODA's model; where scCODA puts a
    spike-and-slab prior on the effects, this function uses a **regularised horseshoe** (a
    global and a local half-Cauchy scale per effect, with a Normal slab of width ``SLAB`` = 5
    for the large ones), the continuous shrinkage prior that also keeps most effects near zero
    and lets a few be large, because NUTS explores it far more readily than
    the near-discontinuous spike-and-slab switch. An effect is **credible** when its central
    ``level`` posterior interval excludes zero; ``inclusion_probability`` is the posterior mean
    of one minus the horseshoe's shrinkage factor, how much of the effect escaped shrinkage.
    Sampled with the No-U-Turn sampler of pyro (on torch), one chain.

    Needs the optional extra ``bayes`` (``pip install pyro-ppl``).

    Parameters
    ----------
    counts
        Tidy table, one row per sample and cell type, as for :func:`composition_test`.
    groupby, control
        Condition column and control label.
    sample_key, cell_type_key, count_key
        Columns naming the sample, the cell type and the cell count.
    reference
        Reference cell type, or ``"auto"`` (present in every sample, least variable
        centred log-ratio; scCODA's heuristic).
    level
        Posterior interval for calling an effect credible, in (0, 1).
    num_samples, num_warmup
        NUTS draws kept and warm-up steps (one chain).
    seed
        Seeds pyro (torch) and so the chain.
    progress
        Show pyro's progress bar.

    Returns
    -------
    DataFrame
        One row per (perturbation, non-reference cell type): ``perturbation``,
        ``cell_type``, ``reference``, ``effect``, ``log2_fold_change``
        (the change of the type's expected share implied by ``alpha`` and the effect, log2;
        ``effect`` is the posterior median of ``beta``, natural log),
        ``inclusion_probability`` (one minus the shrinkage factor, 0 to 1), ``prob_direction``
        (share of draws on the side of the median, 0.5 to 1), ``credible`` (bool: the interval
        excludes 0), ``ci_low``/``ci_high`` (the ``level`` interval of ``beta``), ``level``,
        ``n_samples`` (posterior draws),
        ``divergences`` (NUTS divergent transitions; a count > 0 warns that the posterior was
        hard to explore).

    References
    ----------
    Büttner M, Ostner J, Müller CL, Theis FJ, Schubert B (2021) scCODA is a Bayesian model for
    compositional single-cell data analysis. Nat Commun 12:6876.
    Carvalho CM, Polson NG, Scott JG (2010) The horseshoe estimator for sparse signals.
    Biometrika 97:465-480.
    Piironen J, Vehtari A (2017) Sparsity information and regularization in the horseshoe and
    other shrinkage priors. Electron J Stat 11:5018-5051.
    Hoffman MD, Gelman A (2014) The No-U-Turn sampler. JMLR 15:1593-1623.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> rows = [{"sample": f"{g}{i}", "perturbation": g, "cell_type": ct, "n_cells": n}
    ...         for g, mult in [("control", 1), ("treated", 4)] for i in range(4)
    ...         for ct, n in [("A", 300 + 7 * i), ("B", 300 - 5 * i), ("C", 60 * mult + 3 * i)]]
    >>> res = pk.tl.sccoda(pd.DataFrame(rows), reference="A", num_samples=200, num_warmup=200)
    >>> res.set_index("cell_type")["credible"].to_dict()
    {'B': False, 'C': True}
    """
    try:
        import pyro
        import torch
        from pyro.infer import MCMC, NUTS
    except ImportError as err:  # pragma: no cover - optional extra
        raise ImportError("pk.tl.sccoda needs pyro: pip install 'perturbkit[bayes]' (pyro-ppl)") from err
    check_probability(level, name="level")
    if num_samples < 10 or num_warmup < 10:
        raise ValueError(f"num_samples and num_warmup must be >= 10, got {num_samples} and {num_warmup}")
    wide, cond, reference = _composition_table(counts, groupby=groupby, control=control, sample_key=sample_key,
                                              cell_type_key=cell_type_key, count_key=count_key,
                                              reference=reference)
    perts = sorted(set(cond) - {control})
    for p in [control, *perts]:
        if (cond == p).sum() < 2:
            raise ValueError(f"{int((cond == p).sum())} sample(s) of {groupby}={p!r}; need >= 2 per condition")
    types = list(wide.columns)
    ref = types.index(reference)
    x = torch.as_tensor(np.stack([(cond == p).to_numpy(float) for p in perts], 1), dtype=torch.float64)
    y = torch.as_tensor(wide.to_numpy(float), dtype=torch.float64)
    pyro.clear_param_store()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is faster and reproducible
    # pyro.set_rng_seed seeds Python's, numpy's and torch's global generators: the caller's come back after
    try:
        with restore_global_rngs():
            pyro.set_rng_seed(seed)
            # start every chain at "no effect" (z = 0) with the baseline at the pooled log shares,
            # not at pyro's random draw in (-2, 2) on the unconstrained scale
            init = {"alpha": torch.log(y.sum(0) / y.sum() * 10.0 + 1e-3),
                    "tau": torch.full((x.shape[1], 1), np.log(0.1), dtype=x.dtype),  # log scale
                    "lam": torch.zeros(x.shape[1], y.shape[1] - 1, dtype=x.dtype),
                    "z": torch.zeros(x.shape[1], y.shape[1] - 1, dtype=x.dtype)}
            kernel = NUTS(potential_fn=_potential(x.numpy(), y.numpy(), ref), target_accept_prob=0.85,
                          max_tree_depth=6)
            mcmc = MCMC(kernel, num_samples=num_samples, warmup_steps=num_warmup, initial_params=init,
                        disable_progbar=not progress)
            mcmc.run()
    finally:
        torch.set_num_threads(threads)
    draws = mcmc.get_samples()
    divergences = len(mcmc.diagnostics()["divergences"]["chain 0"])
    alpha, z = draws["alpha"].numpy(), draws["z"].numpy()
    tau, lam = np.exp(draws["tau"].numpy()), np.exp(draws["lam"].numpy())  # sampled as logs
    lam_reg = np.sqrt(SLAB**2 * lam**2 / (SLAB**2 + tau**2 * lam**2))
    beta_free = tau * lam_reg * z  # draws x covariates x (types - 1)
    # the horseshoe's analogue of an inclusion probability: one minus the shrinkage factor
    # kappa = 1 / (1 + tau^2 lambda~^2) (Carvalho, Polson & Scott 2010), averaged over draws
    signal = 1.0 - 1.0 / (1.0 + (tau * lam_reg) ** 2)
    others = [c for c in types if c != reference]
    base = np.exp(np.median(alpha, 0))
    rows = []
    for d, pert in enumerate(perts):
        for k, ct in enumerate(others):
            beta = beta_free[:, d, k]
            effect = float(np.median(beta))
            conc = base.copy()
            conc[types.index(ct)] *= np.exp(effect)
            share_before = base[types.index(ct)] / base.sum()
            share_after = conc[types.index(ct)] / conc.sum()
            rows.append({"perturbation": pert, "cell_type": ct, "reference": reference, "effect": effect,
                         "log2_fold_change": float(np.log2(share_after / share_before)),
                         "inclusion_probability": float(signal[:, d, k].mean()),
                         "prob_direction": float(max((beta > 0).mean(), (beta < 0).mean())),
                         "ci_low": float(np.quantile(beta, (1 - level) / 2)),
                         "ci_high": float(np.quantile(beta, (1 + level) / 2))})
    out = pd.DataFrame(rows)
    out["credible"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    out["level"], out["n_samples"], out["divergences"] = level, num_samples, divergences
    cols = ["perturbation", "cell_type", "reference", "effect", "log2_fold_change", "inclusion_probability",
            "prob_direction", "credible", "ci_low", "ci_high", "level", "n_samples", "divergences"]
    return out[cols]
