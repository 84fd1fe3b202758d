"""A DrugCell-style visible neural network: hidden modules wired along a term hierarchy.

Kuenzi et al. (2020) build the genotype branch of DrugCell from the Gene Ontology: every term
is a small block of neurons whose inputs are the (mutated) genes annotated to it and the
outputs of its child terms, ``h_t = BatchNorm(tanh(W_t [x_genes(t), h_children(t)] + b_t))``,
up to the root; every term also has an auxiliary head that predicts the response from that
term alone, and the training loss adds those heads' errors with weight 0.2, so that each
subsystem carries a readable signal. The root's neurons, joined with a drug embedding, feed
the final predictor. A term's importance is its RLIPP (relative local improvement in
predictive power): how much better a linear model predicts the response from the term's
neurons than from the inputs it receives (its children's neurons and its genes).

Here the drug branch is a learnt embedding of the drug's identity (DrugCell encodes the
drug's chemical fingerprint; no structures are mirrored, so the model cannot score unseen
drugs), and the tissue of origin joins the root and the drug embedding in the final
predictor (for the unwired baseline as well). Implementation: terms are grouped by height
(leaves first) and each height is one masked linear layer, so a forward pass costs a few
matrix products whatever the number of terms; the genotype branch runs once per cell line
and is paired with every drug, so cell lines, not cell-drug pairs, are the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["VisibleNetworkResult", "prune_ontology", "visible_network"]


@dataclass(frozen=True)
class VisibleNetworkResult:
    """What :func:`visible_network` returns.

    Attributes
    ----------
    scores
        One row per (seed, model, drug): ``pearson`` and ``rmse`` on held-out cell lines,
        ``n_test``, and ``n_params`` (trainable parameters of the neural models).
    terms
        One row per (seed, term, drug): ``rlipp`` (relative local improvement in predictive
        power), ``rho_term``/``rho_inputs`` (Spearman r of cross-validated ridge predictions
        from the term's neurons / from its inputs), ``height``, ``n_genes`` (input genes in
        the term's subtree) and ``has_<gene>`` for the genes named in ``mark_genes``.
    predictions
        Held-out predictions: ``seed``, ``cell_line``, ``drug``, ``observed`` and one column
        per model.
    ontology
        The pruned hierarchy used: ``term``, ``height``, ``n_children``, ``n_direct_genes``,
        ``n_genes``.
    """

    scores: pd.DataFrame
    terms: pd.DataFrame
    predictions: pd.DataFrame
    ontology: pd.DataFrame


def prune_ontology(
    terms: pd.DataFrame, genes: pd.DataFrame, input_genes: Sequence[str], *, min_genes: int = 10
) -> pd.DataFrame:
    """Keep the terms whose subtree holds at least ``min_genes`` of ``input_genes``.

    A gene annotated to a dropped term feeds its nearest kept ancestors directly, so no
    input is lost; the root is always kept.

    Parameters
    ----------
    terms
        ``parent``, ``child`` edges (a DAG with one root).
    genes
        ``term``, ``gene`` annotations.
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
    for col, table in (("parent", terms), ("child", terms), ("term", genes), ("gene", genes)):
        if col not in table.columns:
            raise KeyError(f"ontology table lacks column {col!r}; has {list(table.columns)}")
    if min_genes < 1:
        raise ValueError(f"min_genes must be >= 1, got {min_genes}")
    wanted = set(input_genes)
    children: dict[str, list[str]] = defaultdict(list)
    for p, c in terms[["parent", "child"]].itertuples(index=False):
        children[p].append(c)
    direct: dict[str, set[str]] = defaultdict(set)
    for t, g in genes[["term", "gene"]].itertuples(index=False):
        if g in wanted:
            direct[t].add(g)
    roots = sorted(set(terms["parent"]) - set(terms["child"]))
    if len(roots) != 1:
        raise ValueError(f"the term hierarchy must have one root, found {len(roots)}: {roots[:5]}")
    root = roots[0]
    order: list[str] = []  # post-order: children before parents
    seen: set[str] = set()
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if t in seen:
            continue
        seen.add(t)
        stack.append((t, True))
        stack.extend((c, False) for c in children[t] if c not in seen)
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
        kids, fed = set(), set(direct[t])
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


def _build_net(ont: pd.DataFrame, gene_index: dict[str, int], n_tissue: int, n_drugs: int, hidden: int,
               drug_dim: int, dense_width: int | None):
    import torch
    from torch import nn

    class Head(nn.Module):
        """[cell embedding, tissue, drug embedding] -> response, shared by both networks."""

        def __init__(self) -> None:
            super().__init__()
            self.drug = nn.Embedding(n_drugs, drug_dim)
            self.hid = nn.Linear(hidden + n_tissue + drug_dim, 6)
            self.out = nn.Linear(6, 1)

        def forward(self, cell: torch.Tensor, tissue: torch.Tensor) -> torch.Tensor:
            b, d = cell.shape[0], self.drug.num_embeddings
            pair = torch.cat([cell[:, None, :].expand(b, d, -1), tissue[:, None, :].expand(b, d, -1),
                              self.drug.weight[None].expand(b, d, -1)], dim=2)
            return self.out(torch.tanh(self.hid(pair)))[..., 0]

    class Visible(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            n_genes = len(gene_index)
            slot = {}  # term -> first column of its neurons in the running state
            width = n_genes
            self.levels = []
            self.weights, self.biases, self.norms = nn.ParameterList(), nn.ParameterList(), nn.ModuleList()
            self.aux_w, self.aux_b = nn.ParameterList(), nn.ParameterList()
            for h, level in ont.groupby("height", sort=True):
                cols, blocks = [], []
                for _, row in level.iterrows():
                    c = [gene_index[g] for g in row["genes"]]
                    for k in row["children"]:
                        c.extend(range(slot[k], slot[k] + hidden))
                    blocks.append(c)
                    cols.extend(c)
                used = np.unique(cols)
                pos = {c: i for i, c in enumerate(used)}
                mask = np.zeros((len(level) * hidden, used.size), np.float32)
                for i, c in enumerate(blocks):
                    mask[i * hidden:(i + 1) * hidden, [pos[x] for x in c]] = 1.0
                fan_in = np.maximum(mask.sum(1, keepdims=True), 1.0)
                w = np.random.default_rng(int(h)).normal(0, 1, mask.shape) / np.sqrt(fan_in)
                self.register_buffer(f"mask{h}", torch.tensor(mask))
                self.register_buffer(f"cols{h}", torch.tensor(used, dtype=torch.long))
                self.weights.append(nn.Parameter(torch.tensor(w * mask, dtype=torch.float32)))
                self.biases.append(nn.Parameter(torch.zeros(len(level) * hidden)))
                self.norms.append(nn.BatchNorm1d(len(level) * hidden))
                # DrugCell's auxiliary head per term: tanh(linear to 1) then linear, here to every drug
                self.aux_w.append(nn.Parameter(torch.randn(len(level), hidden) / np.sqrt(hidden)))
                self.aux_b.append(nn.Parameter(torch.zeros(len(level), n_drugs)))
                self.levels.append((int(h), list(level["term"])))
                for i, t in enumerate(level["term"]):
                    slot[t] = width + i * hidden
                width += len(level) * hidden
            self.aux_scale = nn.Parameter(torch.ones(n_drugs))
            self.slot = slot
            self.head = Head()

        def forward(self, genes: torch.Tensor, tissue: torch.Tensor):
            state = genes
            aux = []
            for j, (h, terms) in enumerate(self.levels):
                x = state[:, getattr(self, f"cols{h}")]
                z = x @ (self.weights[j] * getattr(self, f"mask{h}")).T + self.biases[j]
                out = self.norms[j](torch.tanh(z))
                blocks = out.view(out.shape[0], len(terms), hidden)
                a = torch.tanh((blocks * self.aux_w[j][None]).sum(2))  # (cells, terms)
                aux.append(a[:, :, None] * self.aux_scale[None, None, :] + self.aux_b[j][None])
                state = torch.cat([state, out], dim=1)
            root = state[:, -hidden:]
            return self.head(root, tissue), torch.cat(aux, dim=1), state

    class Dense(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            n_genes = len(gene_index)
            self.body = nn.Sequential(nn.Linear(n_genes, dense_width), nn.Tanh(), nn.BatchNorm1d(dense_width),
                                      nn.Linear(dense_width, dense_width), nn.Tanh(), nn.BatchNorm1d(dense_width),
                                      nn.Linear(dense_width, hidden), nn.Tanh(), nn.BatchNorm1d(hidden))
            self.head = Head()

        def forward(self, genes: torch.Tensor, tissue: torch.Tensor):
            return self.head(self.body(genes), tissue), None, None

    return Visible() if dense_width is None else Dense()


def _n_params(net) -> int:
    total = 0
    for name, p in net.named_parameters():
        if name.startswith("weights."):
            j = int(name.split(".")[1])
            h = net.levels[j][0]
            total += int(getattr(net, f"mask{h}").sum())
        else:
            total += p.numel()
    return total


def _train(net, data, *, aux_weight: float, max_epochs: int, patience: int, batch_size: int, lr: float, seed: int):
    """Adam on the masked squared error of standardised ln IC50s; early stopping on the
    validation cell lines (the best epoch's weights are kept)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    g_tr, t_tr, y_tr, m_tr, g_va, t_va, y_va, m_va = data
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-5)
    best, best_state, wait = np.inf, None, 0
    n = g_tr.shape[0]
    for _epoch in range(max_epochs):
        net.train()
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = torch.tensor(order[start:start + batch_size])
            if idx.numel() < 2:
                continue
            pred, aux, _ = net(g_tr[idx], t_tr[idx])
            m, y = m_tr[idx], y_tr[idx]
            loss = ((pred - y) ** 2 * m).sum() / m.sum()
            if aux is not None and aux_weight > 0:
                aux_loss = ((aux - y[:, None, :]) ** 2 * m[:, None, :]).sum((0, 2)) / m.sum()
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
    return net


def _ridge_cv_pred(x: np.ndarray, y: np.ndarray, alpha: float = 1.0, k: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions of a ridge regression (closed form, intercept unpenalised)."""
    pred = np.empty_like(y)
    folds = np.random.default_rng(seed).permutation(y.size) % k
    for f in range(k):
        tr, te = folds != f, folds == f
        mx, my = x[tr].mean(0), y[tr].mean()
        xc = x[tr] - mx
        beta = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y[tr] - my))
        pred[te] = (x[te] - mx) @ beta + my
    return pred


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import stats

    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(stats.spearmanr(a, b)[0])


def visible_network(
    ic50: pd.DataFrame,
    features: pd.DataFrame,
    terms: pd.DataFrame,
    genes: pd.DataFrame,
    *,
    drugs: Sequence,
    tissue_key: str | None = "TISSUE_FACTOR",
    gene_suffix: str = "_mut",
    min_genes: int = 10,
    hidden: int = 6,
    drug_dim: int = 6,
    aux_weight: float = 0.2,
    test_fraction: float = 0.2,
    val_fraction: float = 0.15,
    max_epochs: int = 60,
    patience: int = 8,
    batch_size: int = 64,
    lr: float = 3e-3,
    seeds: Sequence[int] = (0,),
    mark_genes: Sequence[str] = (),
    importance: bool = True,
) -> VisibleNetworkResult:
    """Train a DrugCell-style visible network and its baselines on held-out cell lines.

    For each seed, cell lines are split into training, validation (early stopping) and test
    sets; four predictors of every drug's ln IC50 are scored on the test lines: the
    ontology-wired network (``visible``), an unwired network of about the same number of
    trainable parameters with the same inputs, head, optimiser, budget and early stopping
    (``dense``), a ridge regression per drug on the same inputs (``ridge``, penalty chosen
    by cross-validation on the training lines) and the drug's training mean (``mean``).

    Parameters
    ----------
    ic50
        Cell lines x drugs, natural-log IC50 (NaN where untested), e.g. GDSC release 17.
    features
        Cell lines x features; columns ``<gene><gene_suffix>`` are the binary mutation inputs
        and ``tissue_key`` the tissue of origin (``None`` to leave tissue out).
    terms, genes
        The hierarchy: ``parent``/``child`` term edges and ``term``/``gene`` annotations
        (``pk.data.load("ontology_drugcell")``); pruned by :func:`prune_ontology`.
    drugs
        Columns of ``ic50`` to model jointly.
    tissue_key, gene_suffix
        Feature columns, as above. Mutation genes not in the hierarchy are dropped (for all
        models, so the inputs are the same).
    min_genes, hidden, drug_dim, aux_weight
        Smallest term (input genes in its subtree), neurons per term (DrugCell: 6), drug
        embedding size, weight of the auxiliary term losses (DrugCell: 0.2).
    test_fraction, val_fraction
        Shares of cell lines held out for testing and for early stopping.
    max_epochs, patience, batch_size, lr
        Training budget, the same for both networks.
    seeds
        One split and one initialisation per seed.
    mark_genes
        Genes to flag in ``terms`` (``has_<gene>``: the gene is in the term's subtree).
    importance
        Compute RLIPP per term and drug (the slowest part after training).

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
    >>> sim = pk.data.simulate_ontology_response(seed=0)
    >>> res = pk.tl.visible_network(sim["ic50"], sim["features"], sim["terms"], sim["genes"],
    ...                             drugs=list(sim["ic50"].columns), min_genes=2, max_epochs=30, importance=False)
    >>> sorted(res.scores["model"].unique())
    ['dense', 'mean', 'ridge', 'visible']
    """
    import torch
    from threadpoolctl import threadpool_limits

    drugs = list(drugs)
    missing = [d for d in drugs if d not in ic50.columns]
    if missing:
        raise KeyError(f"drugs {missing} are not columns of ic50")
    if tissue_key is not None and tissue_key not in features.columns:
        raise KeyError(f"features has no column {tissue_key!r}")
    if not 0 < test_fraction < 1 or not 0 < val_fraction < 1 or test_fraction + val_fraction >= 0.9:
        raise ValueError("test_fraction and val_fraction must be in (0, 1) and leave most lines for training")
    mut_cols = [c for c in features.columns if c.endswith(gene_suffix)]
    annotated = set(genes["gene"])
    gene_names = [c[: -len(gene_suffix)] for c in mut_cols if c[: -len(gene_suffix)] in annotated]
    if not gene_names:
        raise ValueError(f"no feature column <gene>{gene_suffix} names a gene of the hierarchy")
    ont = prune_ontology(terms, genes, gene_names, min_genes=min_genes)
    gene_index = {g: i for i, g in enumerate(gene_names)}
    lines = ic50.index.intersection(features.index)
    lines = lines[ic50.loc[lines, drugs].notna().any(axis=1).to_numpy()]
    if len(lines) < 30:
        raise ValueError(f"only {len(lines)} cell lines have both features and an IC50 for these drugs")
    x_gene = features.loc[lines, [g + gene_suffix for g in gene_names]].to_numpy(np.float32)
    x_tis = (pd.get_dummies(features.loc[lines, tissue_key].astype(str), dtype=np.float32).to_numpy()
             if tissue_key is not None else np.zeros((len(lines), 0), np.float32))
    y_raw = ic50.loc[lines, drugs].to_numpy(np.float64)
    score_rows, term_rows, pred_tables = [], [], []
    with threadpool_limits(1):
        torch.set_num_threads(1)
        for seed in seeds:
            rng = np.random.default_rng(seed)
            perm = rng.permutation(len(lines))
            n_te, n_va = int(round(test_fraction * len(lines))), int(round(val_fraction * len(lines)))
            te, va, tr = perm[:n_te], perm[n_te:n_te + n_va], perm[n_te + n_va:]
            mu = np.nanmean(y_raw[tr], 0)
            sd = np.nanstd(y_raw[tr], 0) + 1e-6
            y_std = (y_raw - mu) / sd
            mask = np.isfinite(y_std)
            y0 = np.where(mask, y_std, 0.0)

            def t(a, dtype=torch.float32):
                return torch.tensor(np.asarray(a), dtype=dtype)

            data = (t(x_gene[tr]), t(x_tis[tr]), t(y0[tr]), t(mask[tr]), t(x_gene[va]), t(x_tis[va]),
                    t(y0[va]), t(mask[va]))
            torch.manual_seed(seed)
            vis = _build_net(ont, gene_index, x_tis.shape[1], len(drugs), hidden, drug_dim, None)
            n_vis = _n_params(vis)
            # dense width w matching the visible network's parameter count (two hidden layers)
            g, k = len(gene_names), hidden
            head = sum(p.numel() for p in vis.head.parameters())
            a, b, c = 1.0, g + 1 + 2 + 2 + k, -(n_vis - head - 3 * k)
            width = max(4, int(round((-b + np.sqrt(b * b - 4 * a * c)) / (2 * a))))
            torch.manual_seed(seed)
            dense = _build_net(ont, gene_index, x_tis.shape[1], len(drugs), hidden, drug_dim, width)
            n_dense = sum(p.numel() for p in dense.parameters())
            budget = {"max_epochs": max_epochs, "patience": patience, "batch_size": batch_size, "lr": lr,
                      "seed": seed}
            _train(vis, data, aux_weight=aux_weight, **budget)
            _train(dense, data, aux_weight=0.0, **budget)
            with torch.no_grad():
                p_vis, _, state = vis(t(x_gene), t(x_tis))
                p_dense = dense(t(x_gene), t(x_tis))[0]
            preds = {"visible": p_vis.numpy() * sd + mu, "dense": p_dense.numpy() * sd + mu,
                     "mean": np.broadcast_to(mu, y_raw.shape).copy(), "ridge": np.full_like(y_raw, np.nan)}
            xin = np.hstack([x_gene, x_tis]).astype(float)
            from sklearn.linear_model import RidgeCV

            for j in range(len(drugs)):
                ok = np.isfinite(y_raw[tr, j])
                r = RidgeCV(alphas=np.logspace(-1, 3, 9)).fit(xin[tr][ok], y_raw[tr, j][ok])
                preds["ridge"][:, j] = r.predict(xin)
            n_par = {"visible": n_vis, "dense": n_dense, "ridge": xin.shape[1] + 1, "mean": 1}
            for j, d in enumerate(drugs):
                ok = np.isfinite(y_raw[te, j])
                obs = y_raw[te, j][ok]
                for m, p in preds.items():
                    pt = p[te, j][ok]
                    score_rows.append({
                        "seed": seed, "model": m, "drug": d, "n_test": int(ok.sum()), "n_params": n_par[m],
                        "pearson": float(np.corrcoef(pt, obs)[0, 1]) if np.std(pt) > 0 and ok.sum() > 2 else 0.0,
                        "rmse": float(np.sqrt(np.mean((pt - obs) ** 2))),
                    })
            tab = pd.DataFrame({"seed": seed, "cell_line": np.repeat(lines[te].to_numpy(), len(drugs)),
                                "drug": np.tile(drugs, len(te)), "observed": y_raw[te].ravel()})
            for m, p in preds.items():
                tab[m] = p[te].ravel()
            pred_tables.append(tab.dropna(subset=["observed"]))
            if importance:
                term_rows.extend(_rlipp(vis, ont, state.numpy(), x_gene, gene_index, y_raw, drugs, hidden,
                                        mark_genes, terms, genes, seed))
    ont_table = ont.assign(n_children=ont["children"].map(len), n_direct_genes=ont["genes"].map(len))[
        ["term", "height", "n_children", "n_direct_genes", "n_genes"]]
    return VisibleNetworkResult(pd.DataFrame(score_rows), pd.DataFrame(term_rows),
                                pd.concat(pred_tables, ignore_index=True), ont_table)


def _rlipp(net, ont, state, x_gene, gene_index, y_raw, drugs, hidden, mark_genes, terms, genes, seed) -> list[dict]:
    """RLIPP per term and drug (Kuenzi et al. 2020): Spearman r of cross-validated ridge
    predictions from the term's neurons against those from its inputs (children's neurons
    and directly fed genes); (r_term - r_inputs) / |r_inputs|."""
    subtree_has = {}
    if mark_genes:
        kept = prune_ontology(terms, genes, list(gene_index), min_genes=1)
        children = dict(zip(kept["term"], kept["children"], strict=True))
        direct = dict(zip(kept["term"], kept["genes"], strict=True))
        memo: dict[str, set[str]] = {}
        for t in kept["term"]:  # children first
            s = set(direct[t])
            for c in children[t]:
                s |= memo[c]
            memo[t] = s
        subtree_has = {t: memo.get(t, set()) for t in ont["term"]}
    rows = []
    for _, row in ont.iterrows():
        tcol = net.slot[row["term"]]
        own = state[:, tcol:tcol + hidden]
        cols = [gene_index[g] for g in row["genes"]]
        for k in row["children"]:
            cols.extend(range(net.slot[k], net.slot[k] + hidden))
        inputs = state[:, cols]
        for j, d in enumerate(drugs):
            ok = np.isfinite(y_raw[:, j])
            y = y_raw[ok, j]
            r_t = _spearman(_ridge_cv_pred(own[ok], y, seed=seed), y)
            r_i = _spearman(_ridge_cv_pred(inputs[ok], y, seed=seed), y) if inputs.shape[1] else 0.0
            rec = {"seed": seed, "term": row["term"], "drug": d, "height": int(row["height"]),
                   "n_genes": int(row["n_genes"]), "rho_term": r_t, "rho_inputs": r_i,
                   "rlipp": (r_t - r_i) / abs(r_i) if abs(r_i) > 1e-3 else np.nan}
            for gname in mark_genes:
                rec[f"has_{gname}"] = gname in subtree_has.get(row["term"], set())
            rows.append(rec)
    return rows
