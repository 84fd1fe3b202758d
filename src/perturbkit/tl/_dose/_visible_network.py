"""A DrugCell-style visible neural network: hidden modules wired along a term hierarchy.

Kuenzi et al. (2020) build the genotype branch of DrugCell from the Gene Ontology: every term
is a small block of neurons whose inputs are the (mutated) genes annotated to it and the
outputs of its child terms, ``h_t = BatchNorm(tanh(W_t [h_children(t), x_genes(t)] + b_t))``
(6 neurons per term), up to the root. Every term also has an auxiliary head,
``a_t = Linear(tanh(Linear(h_t)))`` (6 -> 1 -> 1), that predicts the response from that term
alone; the training loss adds every auxiliary head's squared error with weight 0.2 to the
final one, so that each subsystem carries a readable signal. The root's neurons and the drug
branch's output feed the final block (6 tanh neurons + batch norm, then the same 1 -> 1
output as the auxiliary heads). A term's importance is its RLIPP (relative local improvement
in predictive power): how much better a linear model predicts the response from the term's
neurons than from the inputs it receives.

What differs from the published model, and why: DrugCell's drug branch is an MLP on a
2,048-bit Morgan fingerprint; no compound structures are mirrored, so the drug enters as a
one-hot vector through one tanh layer (the same branch, fed by identity), which means the
model cannot score an unseen drug. DrugCell feeds each term's genes through a per-gene
"direct gene layer" first; here the genes enter the term's linear layer directly (the same
function class: a diagonal layer followed by a linear one is a linear one). The tissue of
origin (one-hot) joins the root and the drug branch at the final block, for the unwired
baseline as well. DrugCell was trained on 1,235 cell lines x 684 drugs of CTRP+GDSC AUCs with
3,008 input genes; here the input genes are the GDSC v17 mutation calls annotated in the
ontology (112 genes) and the target is the standardised ln IC50.

Implementation: each term's weights are stored sparsely (one value per wired input), terms
are grouped by height (leaves first) and every height is one gather + ``index_add`` so a
forward pass costs a few vector operations whatever the number of terms; the genotype branch
runs once per cell line and is paired with every drug, so cell lines, not cell-drug pairs,
are the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..._seeding import seeds_torch, torch_seed

__all__ = ["VisibleNetworkResult", "prune_ontology", "visible_network"]


@dataclass(frozen=True)
class VisibleNetworkResult:
    """What :func:`visible_network` returns.

    Attributes
    ----------
    scores
        One row per (seed, model, drug): ``pearson`` and ``rmse`` (ln IC50) on the held-out
        cell lines, ``n_test``, ``n_params`` (trainable parameters; for the visible network
        only the wired weights count) and ``epochs`` (epochs trained before early stopping).
    terms
        One row per (seed, term, drug): ``rlipp`` (relative local improvement in predictive
        power), ``rho_term``/``rho_inputs`` (Spearman r of cross-validated ridge predictions
        from the term's neurons / from its inputs), ``height``, ``n_genes`` (input genes in
        the term's subtree) and ``has_<gene>`` for the genes named in ``mark_genes``.
    predictions
        Held-out predictions: ``seed``, ``cell_line``, ``drug``, ``observed`` and one column
        per model (``visible``, ``dense``, ``ridge``, ``mean``).
    ontology
        The pruned hierarchy used: ``term``, ``height``, ``n_children``, ``n_direct_genes``,
        ``n_genes``.
    """

    scores: pd.DataFrame
    terms: pd.DataFrame
    predictions: pd.DataFrame
    ontology: pd.DataFrame


def _post_order(children: dict[str, list[str]], root: str) -> list[str]:
    """Terms reachable from ``root``, children before parents; raises on a cycle."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    stack: list[tuple[str, int]] = [(root, 0)]
    while stack:
        t, i = stack.pop()
        if i == 0:
            if state.get(t) == 2:
                continue
            state[t] = 1
        kids = children.get(t, [])
        if i < len(kids):
            stack.append((t, i + 1))
            c = kids[i]
            if state.get(c) == 1:
                raise ValueError(f"the term hierarchy has a cycle through {c!r} (child of {t!r})")
            if state.get(c) != 2:
                stack.append((c, 0))
        else:
            state[t] = 2
            order.append(t)
    return order


def prune_ontology(
    terms: pd.DataFrame, genes: pd.DataFrame, input_genes: Sequence[str], *, min_genes: int = 1
) -> pd.DataFrame:
    """Keep the terms whose subtree holds at least ``min_genes`` of ``input_genes``.

    With ``min_genes=1`` these are exactly the terms above the input genes. A gene annotated
    to a dropped term feeds its nearest kept ancestors directly (unless a kept child already
    carries it), so no input is lost; the root is always kept.

    Parameters
    ----------
    terms
        ``parent``, ``child`` edges (a DAG with one root).
    genes
        ``term``, ``gene`` annotations (direct ones; a gene belongs to every ancestor too).
    input_genes
        Genes the model sees (e.g. the mutation features).
    min_genes
        Smallest subtree, in input genes, for a term to get its own module.

    Returns
    -------
    DataFrame
        One row per kept term, children first: ``term``, ``height`` (0 = no kept child),
        ``children`` (list of kept child terms), ``genes`` (list of input genes fed directly),
        ``n_genes`` (input genes in the subtree).

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> terms = pd.DataFrame({"parent": ["root", "root", "a"], "child": ["a", "b", "c"]})
    >>> genes = pd.DataFrame({"term": ["a", "b", "c", "c"], "gene": ["g1", "g2", "g3", "g4"]})
    >>> kept = pk.tl.prune_ontology(terms, genes, ["g1", "g2", "g3", "g4"], min_genes=2)
    >>> kept[["term", "height", "n_genes"]].values.tolist()
    [['c', 0, 2], ['a', 1, 3], ['root', 2, 4]]
    >>> kept.set_index("term").loc["root", "genes"]
    ['g2']
    """
    for col, table, name in (("parent", terms, "terms"), ("child", terms, "terms"),
                             ("term", genes, "genes"), ("gene", genes, "genes")):
        if col not in table.columns:
            raise KeyError(f"ontology table {name!r} lacks column {col!r}; has {list(table.columns)}")
    if min_genes < 1:
        raise ValueError(f"min_genes must be >= 1, got {min_genes}")
    wanted = set(input_genes)
    children: dict[str, list[str]] = defaultdict(list)
    for p, c in terms[["parent", "child"]].itertuples(index=False):
        if p == c:
            raise ValueError(f"the term hierarchy has a cycle: {p!r} is its own child")
        children[p].append(c)
    direct: dict[str, set[str]] = defaultdict(set)
    for t, g in genes[["term", "gene"]].itertuples(index=False):
        if g in wanted:
            direct[t].add(g)
    roots = sorted(set(terms["parent"]) - set(terms["child"]))
    if len(roots) != 1:
        raise ValueError(f"the term hierarchy must have one root, found {len(roots)}: {roots[:5]}")
    root = roots[0]
    order = _post_order(children, root)
    subtree: dict[str, set[str]] = {}
    for t in order:
        s = set(direct[t])
        for c in children[t]:
            s |= subtree[c]
        subtree[t] = s
    if not subtree[root]:
        raise ValueError("none of the input genes is annotated anywhere in the hierarchy")
    keep = {t for t in order if len(subtree[t]) >= min_genes} | {root}
    rows = {}
    for t in order:
        if t not in keep:
            continue
        kids, fed = set(), set()
        stack = list(children[t])
        visited: set[str] = set()
        while stack:  # walk through dropped children to the nearest kept descendants
            c = stack.pop()
            if c in visited:
                continue
            visited.add(c)
            if c in keep:
                kids.add(c)
            else:
                fed |= direct[c]
                stack.extend(children[c])
        # genes of dropped descendants join as direct inputs unless a kept child carries them;
        # the term's own annotations stay as the hierarchy gives them (as in DrugCell)
        covered = set().union(*(subtree[k] for k in kids)) if kids else set()
        fed = direct[t] | (fed - covered)
        rows[t] = {"term": t, "children": sorted(kids), "genes": sorted(fed), "n_genes": len(subtree[t])}
    height: dict[str, int] = {}
    for t in order:
        if t in rows:
            height[t] = 1 + max((height[c] for c in rows[t]["children"]), default=-1)
    out = pd.DataFrame([{**rows[t], "height": height[t]} for t in order if t in rows])
    out = out.sort_values(["height", "term"], kind="stable").reset_index(drop=True)
    return out[["term", "height", "children", "genes", "n_genes"]]


def _build_net(ont: pd.DataFrame, gene_index: dict[str, int], n_tissue: int, n_drugs: int, *, hidden: int,
               drug_dim: int, final_dim: int, dense_width: int | None, seed: int):
    """The visible network (``dense_width=None``) or the unwired one, initialised from ``seed``."""
    import torch
    from torch import nn

    gen = torch.Generator().manual_seed(int(seed))

    class Final(nn.Module):
        """DrugCell's top: [root neurons, drug branch, tissue] -> tanh block + batch norm -> 1 -> 1."""

        def __init__(self, cell_dim: int) -> None:
            super().__init__()
            self.drug = nn.Linear(n_drugs, drug_dim)  # the drug branch, fed by a one-hot identity
            self.hid = nn.Linear(cell_dim + n_tissue + drug_dim, final_dim)
            self.norm = nn.BatchNorm1d(final_dim)
            self.aux = nn.Linear(final_dim, 1)
            self.out = nn.Linear(1, 1)

        def forward(self, cell: torch.Tensor, tissue: torch.Tensor) -> torch.Tensor:
            b, d = cell.shape[0], n_drugs
            drug = torch.tanh(self.drug.weight.T + self.drug.bias)  # (drugs, drug_dim)
            pair = torch.cat([cell[:, None, :].expand(b, d, -1), tissue[:, None, :].expand(b, d, -1),
                              drug[None].expand(b, d, -1)], dim=2)
            z = self.norm(torch.tanh(self.hid(pair)).reshape(b * d, -1))
            return self.out(torch.tanh(self.aux(z))).reshape(b, d)

    class Visible(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            n_genes = len(gene_index)
            slot = {}  # term -> first column of its neurons in the running state
            width = n_genes
            self.levels: list[tuple[int, list[str]]] = []
            self.weights, self.biases, self.norms = nn.ParameterList(), nn.ParameterList(), nn.ModuleList()
            self.aux_w1, self.aux_b1 = nn.ParameterList(), nn.ParameterList()
            self.aux_w2, self.aux_b2 = nn.ParameterList(), nn.ParameterList()
            for h, level in ont.groupby("height", sort=True):
                src, dst, fan_in = [], [], []
                for i, (_, row) in enumerate(level.iterrows()):
                    c = [slot[k] + u for k in row["children"] for u in range(hidden)]
                    c += [gene_index[g] for g in row["genes"]]
                    for u in range(hidden):
                        src.extend(c)
                        dst.extend([i * hidden + u] * len(c))
                        fan_in.extend([len(c)] * len(c))
                bound = torch.tensor(1.0 / np.sqrt(np.asarray(fan_in, float)), dtype=torch.float32)
                w = (torch.rand(len(src), generator=gen) * 2 - 1) * bound  # nn.Linear's default scale
                self.register_buffer(f"src{h}", torch.tensor(src, dtype=torch.long))
                self.register_buffer(f"dst{h}", torch.tensor(dst, dtype=torch.long))
                self.weights.append(nn.Parameter(w))
                self.biases.append(nn.Parameter(torch.zeros(len(level) * hidden)))
                self.norms.append(nn.BatchNorm1d(len(level) * hidden))
                n_t = len(level)
                self.aux_w1.append(nn.Parameter((torch.rand(n_t, hidden, generator=gen) * 2 - 1) / np.sqrt(hidden)))
                self.aux_b1.append(nn.Parameter(torch.zeros(n_t)))
                self.aux_w2.append(nn.Parameter(torch.rand(n_t, generator=gen) * 2 - 1))
                self.aux_b2.append(nn.Parameter(torch.zeros(n_t)))
                self.levels.append((int(h), list(level["term"])))
                for i, t in enumerate(level["term"]):
                    slot[t] = width + i * hidden
                width += n_t * hidden
            self.slot = slot
            self.width = width
            with torch_seed(seed):
                self.head = Final(hidden)

        def forward(self, genes: torch.Tensor, tissue: torch.Tensor):
            state = genes
            aux = []
            for j, (h, terms) in enumerate(self.levels):
                contrib = state[:, getattr(self, f"src{h}")] * self.weights[j]
                z = torch.zeros(state.shape[0], len(terms) * hidden, dtype=state.dtype)
                z = z.index_add(1, getattr(self, f"dst{h}"), contrib) + self.biases[j]
                out = self.norms[j](torch.tanh(z))
                blocks = out.view(out.shape[0], len(terms), hidden)
                a1 = torch.tanh((blocks * self.aux_w1[j][None]).sum(2) + self.aux_b1[j])  # (cells, terms)
                aux.append(a1 * self.aux_w2[j] + self.aux_b2[j])
                state = torch.cat([state, out], dim=1)
            root = state[:, -hidden:]
            return self.head(root, tissue), torch.cat(aux, dim=1), state

    class Dense(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            n_genes = len(gene_index)
            with torch_seed(seed):
                self.body = nn.Sequential(
                    nn.Linear(n_genes, dense_width), nn.Tanh(), nn.BatchNorm1d(dense_width),
                    nn.Linear(dense_width, dense_width), nn.Tanh(), nn.BatchNorm1d(dense_width),
                    nn.Linear(dense_width, hidden), nn.Tanh(), nn.BatchNorm1d(hidden))
                self.head = Final(hidden)

        def forward(self, genes: torch.Tensor, tissue: torch.Tensor):
            return self.head(self.body(genes), tissue), None, None

    return Visible() if dense_width is None else Dense()


def _dense_width(n_target: int, n_genes: int, hidden: int) -> int:
    """Width w of the unwired body (genes -> w -> w -> hidden, tanh + batch norm) whose
    parameter count is closest to ``n_target``: w^2 + w (n_genes + hidden + 6) + 3 hidden."""
    b = n_genes + hidden + 6
    w = (-b + np.sqrt(b * b + 4 * max(n_target - 3 * hidden, 1))) / 2
    return max(2, int(round(w)))


def _n_params(net) -> int:
    return int(sum(p.numel() for p in net.parameters()))


@seeds_torch
def _train(net, data, *, aux_weight: float, max_epochs: int, patience: int, batch_size: int, lr: float,
           seed: int) -> int:
    """Adam on the masked squared error of standardised ln IC50s (+ ``aux_weight`` x each
    auxiliary head's error, as DrugCell); early stopping on the validation cell lines, the
    best epoch's weights kept. Returns the number of epochs trained."""
    import torch

    rng = np.random.default_rng(seed)
    g_tr, t_tr, y_tr, m_tr, g_va, t_va, y_va, m_va = data
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    best, best_state, wait, epoch = np.inf, None, 0, 0
    n = g_tr.shape[0]
    for epoch in range(1, max_epochs + 1):  # noqa: B007 - the last epoch is returned
        net.train()
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = torch.tensor(order[start:start + batch_size])
            if idx.numel() < 2:  # batch norm needs two cell lines
                continue
            pred, aux, _ = net(g_tr[idx], t_tr[idx])
            m, y = m_tr[idx], y_tr[idx]
            loss = ((pred - y) ** 2 * m).sum() / m.sum()
            if aux is not None and aux_weight > 0:
                # a term's head predicts every drug's response of the line from the term alone
                aux_loss = ((aux[:, :, None] - y[:, None, :]) ** 2 * m[:, None, :]).sum((0, 2)) / m.sum()
                loss = loss + aux_weight * aux_loss.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            pv = net(g_va, t_va)[0]
            val = float(((pv - y_va) ** 2 * m_va).sum() / m_va.sum())
        if val < best - 1e-4:
            best, wait = val, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            wait += 1
            if wait >= patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return epoch


def _ridge_cv_pred(x: np.ndarray, y: np.ndarray, alpha: float = 1.0, k: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions of a ridge regression (closed form, intercept unpenalised;
    solved in the dual when there are more inputs than samples)."""
    pred = np.empty_like(y)
    folds = np.random.default_rng(seed).permutation(y.size) % k
    for f in range(k):
        tr, te = folds != f, folds == f
        mx, my = x[tr].mean(0), y[tr].mean()
        xc = x[tr] - mx
        if xc.shape[1] <= xc.shape[0]:
            beta = np.linalg.solve(xc.T @ xc + alpha * np.eye(xc.shape[1]), xc.T @ (y[tr] - my))
        else:
            beta = xc.T @ np.linalg.solve(xc @ xc.T + alpha * np.eye(xc.shape[0]), y[tr] - my)
        pred[te] = (x[te] - mx) @ beta + my
    return pred


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import stats

    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(stats.spearmanr(a, b)[0])


def _check_inputs(ic50, features, drugs, tissue_key, gene_suffix, genes, mark_genes, test_fraction,
                  val_fraction, hidden, aux_weight, max_epochs, patience):
    missing = [d for d in drugs if d not in ic50.columns]
    if missing:
        raise KeyError(f"drugs {missing} are not columns of ic50")
    if not drugs:
        raise ValueError("drugs is empty")
    if tissue_key is not None and tissue_key not in features.columns:
        raise KeyError(f"features has no column {tissue_key!r} (tissue_key); pass tissue_key=None to leave tissue out")
    if not 0 < test_fraction < 1 or not 0 < val_fraction < 1 or test_fraction + val_fraction >= 0.9:
        raise ValueError(f"test_fraction ({test_fraction}) and val_fraction ({val_fraction}) must be in (0, 1) "
                         "and leave most cell lines for training")
    if hidden < 1 or aux_weight < 0 or max_epochs < 1 or patience < 1:
        raise ValueError(f"hidden ({hidden}), max_epochs ({max_epochs}) and patience ({patience}) must be "
                         f">= 1 and aux_weight ({aux_weight}) >= 0")
    mut_cols = [c for c in features.columns if c.endswith(gene_suffix)]
    annotated = set(genes["gene"]) if "gene" in genes.columns else set()
    gene_names = [c[: -len(gene_suffix)] for c in mut_cols if c[: -len(gene_suffix)] in annotated]
    if not gene_names:
        raise ValueError(f"no feature column <gene>{gene_suffix} names a gene of the hierarchy")
    bad = [g for g in mark_genes if g not in gene_names]
    if bad:
        raise KeyError(f"mark_genes {bad} are not input genes (no annotated column <gene>{gene_suffix})")
    x = features[[g + gene_suffix for g in gene_names]]
    values = x.to_numpy(dtype=float, na_value=np.nan)
    if not np.isin(values, (0.0, 1.0)).all():
        col = x.columns[np.where(~np.isin(values, (0.0, 1.0)))[1][0]]
        raise ValueError(f"mutation column {col!r} must be 0/1 (NaN or other values found)")
    y = ic50[drugs].to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(y).any():
        raise ValueError(f"ic50 has infinite values in drug {drugs[int(np.where(np.isinf(y))[1][0])]!r}")
    return gene_names


def visible_network(
    ic50: pd.DataFrame,
    features: pd.DataFrame,
    terms: pd.DataFrame,
    genes: pd.DataFrame,
    *,
    drugs: Sequence,
    tissue_key: str | None = "TISSUE_FACTOR",
    gene_suffix: str = "_mut",
    min_genes: int = 1,
    hidden: int = 6,
    drug_dim: int = 6,
    final_dim: int = 6,
    aux_weight: float = 0.2,
    test_fraction: float = 0.2,
    val_fraction: float = 0.15,
    max_epochs: int = 200,
    patience: int = 20,
    batch_size: int = 32,
    lr: float = 1e-2,
    seeds: Sequence[int] = (0,),
    mark_genes: Sequence[str] = (),
    importance: bool | Sequence = True,
) -> VisibleNetworkResult:
    """Train a DrugCell-style visible network and its baselines on held-out cell lines.

    For each seed, cell lines are split into training, validation (early stopping) and test
    sets; four predictors of every drug's ln IC50 are scored on the test lines: the
    ontology-wired network (``visible``); an unwired network (``dense``: genes -> w -> w ->
    ``hidden``, tanh + batch norm) with ``w`` chosen to match the visible network's number of
    trainable parameters, the same inputs, final block, optimiser, budget and early stopping;
    a ridge regression per drug on the same inputs (``ridge``, penalty chosen by
    cross-validation on the training lines); and the drug's training mean (``mean``).

    Parameters
    ----------
    ic50
        Cell lines x drugs, natural-log IC50 (NaN where untested), e.g. GDSC release 17.
    features
        Cell lines x features; columns ``<gene><gene_suffix>`` are the 0/1 mutation inputs
        and ``tissue_key`` the tissue of origin (``None`` to leave tissue out).
    terms, genes
        The hierarchy: ``parent``/``child`` term edges and ``term``/``gene`` annotations
        (``pk.data.load("ontology_drugcell")``); pruned by :func:`prune_ontology`. Mutation
        genes not annotated in it are dropped (for all models, so the inputs are the same).
    drugs
        Columns of ``ic50`` modelled jointly (one network for all of them, as DrugCell).
    tissue_key, gene_suffix
        Feature columns, as above.
    min_genes, hidden, drug_dim, final_dim, aux_weight
        Smallest term (input genes in its subtree; 1 = every term above an input gene),
        neurons per term (DrugCell: 6), drug-branch and final-block sizes (DrugCell: 6, 6),
        weight of each auxiliary term loss (DrugCell: 0.2).
    test_fraction, val_fraction
        Shares of cell lines held out for testing and for early stopping.
    max_epochs, patience, batch_size, lr
        Training budget (Adam), the same for both networks.
    seeds
        One split and one initialisation per seed.
    mark_genes
        Input genes to flag in ``terms`` (``has_<gene>``: the gene is in the term's subtree).
    importance
        Compute RLIPP per term for every drug (``True``), for the drugs listed, or not at all
        (``False``); on all cell lines with a measured IC50, after training.

    Returns
    -------
    VisibleNetworkResult
        ``scores``, ``terms``, ``predictions`` and ``ontology`` (see the class).

    References
    ----------
    Kuenzi BM, Park J, Fong SH, et al. (2020) Predicting drug response and synergy using a deep
    learning model of human cancer cells. Cancer Cell 38:672-684.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_ontology_response(n_cells=200, seed=0)
    >>> res = pk.tl.visible_network(sim["ic50"], sim["features"], sim["terms"], sim["genes"],
    ...                             drugs=list(sim["ic50"].columns), max_epochs=5, importance=False)
    >>> sorted(res.scores["model"].unique())
    ['dense', 'mean', 'ridge', 'visible']
    >>> res.ontology["term"].iloc[-1], int(res.ontology["n_genes"].iloc[-1])
    ('root', 60)
    """
    import torch
    from sklearn.linear_model import RidgeCV
    from threadpoolctl import threadpool_limits

    drugs = list(drugs)
    if isinstance(importance, bool):
        rlipp_drugs = drugs if importance else []
    else:
        rlipp_drugs = list(importance)
        bad = [d for d in rlipp_drugs if d not in drugs]
        if bad:
            raise KeyError(f"importance names drugs {bad} that are not in drugs")
    gene_names = _check_inputs(ic50, features, drugs, tissue_key, gene_suffix, genes, mark_genes, test_fraction,
                               val_fraction, hidden, aux_weight, max_epochs, patience)
    ont = prune_ontology(terms, genes, gene_names, min_genes=min_genes)
    gene_index = {g: i for i, g in enumerate(gene_names)}
    lines = ic50.index.intersection(features.index)
    lines = lines[ic50.loc[lines, drugs].notna().any(axis=1).to_numpy()]
    if len(lines) < 30:
        raise ValueError(f"only {len(lines)} cell lines have both features and an IC50 for drugs {drugs[:5]}")
    x_gene = features.loc[lines, [g + gene_suffix for g in gene_names]].to_numpy(np.float32)
    x_tis = (pd.get_dummies(features.loc[lines, tissue_key].astype(str), dtype=np.float32).to_numpy()
             if tissue_key is not None else np.zeros((len(lines), 0), np.float32))
    y_raw = ic50.loc[lines, drugs].to_numpy(np.float64)
    score_rows, term_rows, pred_tables = [], [], []
    n_threads = torch.get_num_threads()
    try:
        with threadpool_limits(1):
            torch.set_num_threads(1)
            for seed in seeds:
                seed = int(seed)
                perm = np.random.default_rng(seed).permutation(len(lines))
                n_te, n_va = int(round(test_fraction * len(lines))), int(round(val_fraction * len(lines)))
                te, va, tr = perm[:n_te], perm[n_te:n_te + n_va], perm[n_te + n_va:]
                if np.isfinite(y_raw[tr]).sum(0).min() < 5:
                    j = int(np.isfinite(y_raw[tr]).sum(0).argmin())
                    raise ValueError(f"drug {drugs[j]!r} has fewer than 5 measured training cell lines")
                mu = np.nanmean(y_raw[tr], 0)
                sd = np.nanstd(y_raw[tr], 0) + 1e-6
                y_std = (y_raw - mu) / sd
                mask = np.isfinite(y_std)
                y0 = np.where(mask, y_std, 0.0)

                def t(a):
                    return torch.tensor(np.asarray(a), dtype=torch.float32)

                data = (t(x_gene[tr]), t(x_tis[tr]), t(y0[tr]), t(mask[tr]), t(x_gene[va]), t(x_tis[va]),
                        t(y0[va]), t(mask[va]))
                shape = {"hidden": hidden, "drug_dim": drug_dim, "final_dim": final_dim, "seed": seed}
                vis = _build_net(ont, gene_index, x_tis.shape[1], len(drugs), dense_width=None, **shape)
                n_vis = _n_params(vis)
                n_head = _n_params(vis.head)
                width = _dense_width(n_vis - n_head, len(gene_names), hidden)
                dense = _build_net(ont, gene_index, x_tis.shape[1], len(drugs), dense_width=width, **shape)
                budget = {"max_epochs": max_epochs, "patience": patience, "batch_size": batch_size, "lr": lr,
                          "seed": seed}
                epochs = {"visible": _train(vis, data, aux_weight=aux_weight, **budget),
                          "dense": _train(dense, data, aux_weight=0.0, **budget), "ridge": 0, "mean": 0}
                with torch.no_grad():
                    p_vis, _, state = vis(t(x_gene), t(x_tis))
                    p_dense = dense(t(x_gene), t(x_tis))[0]
                preds = {"visible": p_vis.numpy() * sd + mu, "dense": p_dense.numpy() * sd + mu,
                         "ridge": np.full_like(y_raw, np.nan), "mean": np.broadcast_to(mu, y_raw.shape).copy()}
                xin = np.hstack([x_gene, x_tis]).astype(float)
                for j in range(len(drugs)):
                    ok = np.isfinite(y_raw[tr, j])
                    r = RidgeCV(alphas=np.logspace(-1, 3, 9)).fit(xin[tr][ok], y_raw[tr, j][ok])
                    preds["ridge"][:, j] = r.predict(xin)
                n_par = {"visible": n_vis, "dense": _n_params(dense), "ridge": xin.shape[1] + 1, "mean": 1}
                for j, d in enumerate(drugs):
                    ok = np.isfinite(y_raw[te, j])
                    obs = y_raw[te, j][ok]
                    for m, p in preds.items():
                        pt = p[te, j][ok]
                        score_rows.append({
                            "seed": seed, "model": m, "drug": d, "n_test": int(ok.sum()), "n_params": n_par[m],
                            "epochs": epochs[m],
                            "pearson": (float(np.corrcoef(pt, obs)[0, 1]) if np.std(pt) > 0 and ok.sum() > 2
                                        else 0.0),
                            "rmse": float(np.sqrt(np.mean((pt - obs) ** 2))),
                        })
                tab = pd.DataFrame({"seed": seed, "cell_line": np.repeat(lines[te].to_numpy(), len(drugs)),
                                    "drug": np.tile(np.asarray(drugs, dtype=object), len(te)),
                                    "observed": y_raw[te].ravel()})
                for m, p in preds.items():
                    tab[m] = p[te].ravel()
                pred_tables.append(tab.dropna(subset=["observed"]))
                if rlipp_drugs:
                    cols = [drugs.index(d) for d in rlipp_drugs]
                    term_rows.extend(_rlipp(vis, ont, state.numpy().astype(float), gene_index, y_raw[:, cols],
                                            rlipp_drugs, hidden, mark_genes, seed))
    finally:
        torch.set_num_threads(n_threads)
    ont_table = ont.assign(n_children=ont["children"].map(len), n_direct_genes=ont["genes"].map(len))[
        ["term", "height", "n_children", "n_direct_genes", "n_genes"]]
    return VisibleNetworkResult(pd.DataFrame(score_rows), pd.DataFrame(term_rows),
                                pd.concat(pred_tables, ignore_index=True), ont_table)


def _subtree_genes(ont: pd.DataFrame) -> dict[str, set[str]]:
    memo: dict[str, set[str]] = {}
    for term, kids, fed in ont[["term", "children", "genes"]].itertuples(index=False):  # children first
        s = set(fed)
        for c in kids:
            s |= memo[c]
        memo[term] = s
    return memo


def _rlipp(net, ont, state, gene_index, y_raw, drugs, hidden, mark_genes, seed) -> list[dict]:
    """RLIPP per term and drug (Kuenzi et al. 2020, after Ma et al. 2018): Spearman r of
    5-fold cross-validated ridge predictions from the term's neurons against those from its
    inputs (the children's neurons and, as wired here, its directly fed genes);
    (r_term - r_inputs) / |r_inputs|."""
    subtree = _subtree_genes(ont) if mark_genes else {}
    rows = []
    for term, height, kids, fed, n_genes in ont[["term", "height", "children", "genes", "n_genes"]].itertuples(
            index=False):
        tcol = net.slot[term]
        own = state[:, tcol:tcol + hidden]
        cols = [net.slot[k] + u for k in kids for u in range(hidden)] + [gene_index[g] for g in fed]
        inputs = state[:, cols]
        for j, d in enumerate(drugs):
            ok = np.isfinite(y_raw[:, j])
            y = y_raw[ok, j]
            r_t = _spearman(_ridge_cv_pred(own[ok], y, seed=seed), y)
            r_i = _spearman(_ridge_cv_pred(inputs[ok], y, seed=seed), y) if inputs.shape[1] else 0.0
            rec = {"seed": seed, "term": term, "drug": d, "height": int(height), "n_genes": int(n_genes),
                   "rho_term": r_t, "rho_inputs": r_i,
                   "rlipp": (r_t - r_i) / abs(r_i) if abs(r_i) > 1e-3 else np.nan}
            for gname in mark_genes:
                rec[f"has_{gname}"] = gname in subtree.get(term, set())
            rows.append(rec)
    return rows
