"""Small synthetic files in scPerturb's h5ad layout, with planted effects, and a fake mirror.

The layout follows what the reader documents (perturbation labels, nperts, guide_id,
gemgroup / batch, celltype, ncounts, var indexed by gene symbol with Ensembl ids):
``layout="norman"`` writes CRISPRa singles and ``"A_B"`` doubles with ``"control"``;
``layout="replogle"`` writes CRISPRi singles with ``"non-targeting"`` controls.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

FILES = {
    "norman2019": "NormanWeissman2019_filtered.h5ad",
    "replogle2022_k562_essential": "ReplogleWeissman2022_K562_essential.h5ad",
    "replogle2022_rpe1": "ReplogleWeissman2022_rpe1.h5ad",
    "dixit2016": "DixitRegev2016.h5ad",
    "adamson2016_upr_perturb_seq": "AdamsonWeissman2016_GSM2406681_10X010.h5ad",
}
TARGETS = [f"TF{i}" for i in range(12)]  # 3 modules of 4 targets


def fake_scperturb(
    *,
    layout: str = "norman",
    n_genes: int = 120,
    cells_per_single: int = 60,
    cells_per_double: int = 60,
    n_control: int = 800,
    n_doubles: int = 12,
    interaction: float = 0.8,
    ko_fraction: float = 0.8,
    dense: bool = False,
    seed: int = 0,
) -> AnnData:
    """A screen in scPerturb's layout; ``uns`` is left empty (scPerturb files carry no truth).

    Targets ``TF0..TF11`` are measured genes. A perturbed cell (with probability
    ``ko_fraction``; the rest escape) moves its target's own mRNA (x6 up for CRISPRa in
    ``"norman"``, x0.15 for CRISPRi in ``"replogle"``) and its module's 15 genes (log
    effects of size ~1). Doubles of two targets of the same module move the module by
    ``1 + interaction`` times the sum of the singles' effects; across modules they add. A
    per-cell module activity varies in every cell, controls included, so co-expression
    among a module's genes is visible in control cells.
    """
    rng = np.random.default_rng(seed)
    genes = TARGETS + [f"G{i}" for i in range(n_genes - len(TARGETS))]
    base = np.log(rng.gamma(2.0, 1.0, n_genes) + 0.3)
    module_of_target = {t: i // 4 for i, t in enumerate(TARGETS)}
    module_genes = {m: np.arange(len(TARGETS) + 15 * m, len(TARGETS) + 15 * (m + 1)) for m in range(3)}
    effects = {}
    for t in TARGETS:
        eff = np.zeros(n_genes)
        mg = module_genes[module_of_target[t]]
        eff[mg] = rng.choice([-1, 1]) * rng.uniform(0.6, 1.2, mg.size)
        eff[genes.index(t)] = np.log(6.0) if layout == "norman" else np.log(0.15)
        effects[t] = eff
    singles = TARGETS if layout == "norman" else TARGETS
    doubles = []
    if layout == "norman":
        within = [(a, b) for i, a in enumerate(TARGETS) for b in TARGETS[i + 1:]
                  if module_of_target[a] == module_of_target[b]]
        across = [(a, b) for i, a in enumerate(TARGETS) for b in TARGETS[i + 1:]
                  if module_of_target[a] != module_of_target[b]]
        pick = [within[i] for i in rng.permutation(len(within))[: n_doubles // 2]]
        pick += [across[i] for i in rng.permutation(len(across))[: n_doubles - len(pick)]]
        doubles = pick

    labels, shifts, guides = [], [], []
    ctrl_label = "control" if layout == "norman" else "non-targeting"
    for i in range(n_control):
        g = f"NegCtrl{i % 4}_NegCtrl{i % 4}__NegCtrl{i % 4}_NegCtrl{i % 4}" if layout == "norman" \
            else f"non-targeting_0000{i % 4}|non-targeting_0000{i % 4}"
        labels.append(ctrl_label)
        shifts.append(np.zeros(n_genes))
        guides.append(g)
    for t in singles:
        for i in range(cells_per_single):
            hit = rng.random() < ko_fraction
            labels.append(t)
            shifts.append(effects[t] if hit else np.zeros(n_genes))
            guides.append(f"{t}_g{i % 2}" if layout == "replogle" else f"{t}_NegCtrl0__{t}_NegCtrl0")
    for a, b in doubles:
        same = module_of_target[a] == module_of_target[b]
        for _ in range(cells_per_double):
            eff = effects[a] + effects[b]
            if same:
                mg = module_genes[module_of_target[a]]
                eff = eff.copy()
                eff[mg] *= 1 + interaction
            labels.append(f"{a}_{b}" if rng.random() < 0.5 else f"{b}_{a}")
            shifts.append(eff if rng.random() < ko_fraction else np.zeros(n_genes))
            guides.append(f"{a}_{b}__{a}_{b}")
    n = len(labels)
    activity = rng.normal(0, 0.35, (n, 3))
    logmu = base[None, :] + np.vstack(shifts)
    for m, mg in module_genes.items():
        logmu[:, mg] += activity[:, [m]]
        logmu[:, [genes.index(t) for t in TARGETS if module_of_target[t] == m]] += activity[:, [m]] * 0.5
    lib = rng.lognormal(np.log(3000), 0.3, n)
    mu = np.exp(logmu)
    mu = mu / mu.sum(axis=1, keepdims=True) * lib[:, None]
    counts = rng.poisson(rng.gamma(5.0, mu / 5.0)).astype(np.float32)
    order = rng.permutation(n)
    counts = counts[order]
    labels = [labels[i] for i in order]
    guides = [guides[i] for i in order]

    obs = pd.DataFrame(index=pd.Index([f"AAAC{i:06d}-1" for i in range(n)], name="cell_barcode"))
    obs["guide_id"] = pd.Categorical(guides)
    if layout == "norman":
        obs["gemgroup"] = rng.integers(1, 3, n)
        obs["perturbation_type"] = "CRISPRa"
    else:
        obs["batch"] = rng.integers(1, 3, n)
        obs["perturbation_type"] = "CRISPR"
    obs["celltype"] = "lymphoblasts"
    obs["cell_line"] = "K562"
    obs["perturbation"] = pd.Categorical(labels)
    obs["nperts"] = [0 if lab == ctrl_label else lab.count("_") + 1 for lab in labels]
    obs["ncounts"] = counts.sum(axis=1)
    obs["ngenes"] = (counts > 0).sum(axis=1)
    var = pd.DataFrame(index=pd.Index(genes, name="gene_symbol"))
    var["ensemble_id" if layout == "norman" else "ensembl_id"] = [f"ENSG{i:011d}" for i in range(n_genes)]
    var["ncounts"] = counts.sum(axis=0)
    var["ncells"] = (counts > 0).sum(axis=0)
    return AnnData(X=counts if dense else sparse.csr_matrix(counts), obs=obs, var=var)
