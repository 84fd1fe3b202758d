"""Same seed, same numbers, and no hidden side effects (perturbkit/_seeding.py).

Every perturbkit function that trains a torch model (or runs pyro) seeds torch's global
generator only inside a fork: calling it must leave the caller's torch, numpy and Python
global generators exactly as they were, two calls with one seed must agree to the bit, and
two seeds must give different numbers. Each case is a tiny run of the public function that
reaches the model (a few epochs on a few dozen cells) and returns its continuous output.
"""

from __future__ import annotations

import doctest
import random
from collections.abc import Callable

import numpy as np
import pytest
import scanpy as sc
import torch

import perturbkit as pk


def _lognorm(adata):
    sc.pp.normalize_total(adata)
    sc.pp.log1p(adata)
    return adata


def _perturbation(n_cells: int = 12, n_genes: int = 30):
    return _lognorm(pk.data.simulate_perturbation(n_cells=n_cells, n_genes=n_genes, n_shared=6, seed=0))


def _numbers(frame) -> np.ndarray:
    return frame.select_dtypes("number").to_numpy(float).ravel()


def _response(method: str, **hp) -> Callable[[int], np.ndarray]:
    def run(seed: int) -> np.ndarray:
        pred = pk.tl.predict_response(_perturbation(), holdout="type1", method=method, seed=seed,
                                      progress=False, **hp)
        return np.asarray(pred.X, float).ravel()
    return run


def _perturbnet(seed: int) -> np.ndarray:
    lib = _lognorm(pk.data.simulate_perturbation_library(n_perturbations=8, n_cells=20, seed=0))
    feats = lib.uns["features"].assign(annotated=1.0)[["annotated", *lib.uns["features"].columns]]
    res = pk.tl.perturbnet_benchmark(lib, feats, n_folds=2, folds=[0], methods=["perturbnet"], n_epochs=2,
                                     flow_epochs=2, hidden=16, seed=seed)
    return _numbers(res)


def _dose_signature(seed: int) -> np.ndarray:
    sim = pk.data.simulate_dose_response(n_cell_types=1, n_genes=20, n_replicates=3, seed=0)
    pb = pk.get.pseudobulk(sim, sample_key="well", cell_type_key="cell_type")
    sc.pp.log1p(pb)
    drug = pb.obs["replicate"].astype(int).map({1: "drugA", 2: "drugB", 3: "drugC"}).astype(str)
    pb.obs["perturbation"] = drug.where(pb.obs["dose"].astype(float) > 0, "control")
    res = pk.tl.predict_dose_signature(pb, n_holdout=2, n_components=1, seed=seed)
    return _numbers(res[res["method"] == "conditioned_net"])


def _cpa_dose(seed: int) -> np.ndarray:
    plate = pk.data.simulate_dose_plate(n_compounds=4, n_genes=20, seed=0)
    res = pk.tl.cpa_dose_benchmark(plate, holdout="doses", n_folds=2, n_epochs=5, hidden=16, seed=seed)
    return _numbers(res[res["method"] == "cpa"])


def _cpa_combinations(seed: int) -> np.ndarray:
    sim = pk.data.simulate_latent_combinations(n_perturbations=3, n_interacting=1, n_genes=20, n_cells=8, seed=0)
    res = pk.tl.cpa_combination_benchmark(sim, train_combinations=["P0+P1"], n_epochs=5, hidden=16, seed=seed)
    return _numbers(res[res["method"] == "cpa"])


def _transformer(seed: int) -> np.ndarray:
    adata = _perturbation(n_cells=6, n_genes=30)
    pk.tl.expression_transformer(adata, n_genes=12, dim=8, n_epochs=1, progress=False, seed=seed)
    return adata.obsm["X_transformer"].astype(float).ravel()


def _scbert(seed: int) -> np.ndarray:
    res = pk.tl.scbert_annotate(_perturbation(), n_genes=12, dim=8, pretrain_epochs=1, finetune_epochs=1,
                                seed=seed)
    return res[["pretrain_loss_first", "pretrain_loss_last"]].to_numpy(float).ravel()


def _combinations(seed: int) -> np.ndarray:
    combo = pk.data.simulate_combinations(n_genes=60, seed=0)
    pairs = list(combo.uns["truth"]["pairs"].index)
    gnn = pk.tl.predict_combinations(combo, train=pairs[::2], test=pairs[1::2], model="gnn", epochs=5,
                                     hidden=8, seed=seed)
    return np.asarray(gnn.loss, float)


def _visible_network(seed: int) -> np.ndarray:
    sim = pk.data.simulate_ontology_response(n_cells=60, seed=0)
    res = pk.tl.visible_network(sim["ic50"], sim["features"], sim["terms"], sim["genes"],
                                drugs=list(sim["ic50"].columns), max_epochs=2, importance=False, seeds=(seed,))
    return _numbers(res.scores[res.scores["model"].isin(["visible", "dense"])])


def _scdeal(seed: int) -> np.ndarray:
    bulk, cells = pk.data.simulate_response_transfer(seed=0)
    res = pk.tl.scdeal(bulk, cells, n_epochs=3, latent=4, hidden=8, ig_steps=2, seed=seed)
    return res.predictions.to_numpy(float).ravel()


def _transfer(seed: int) -> np.ndarray:
    bulk, cells = pk.data.simulate_response_transfer(seed=0)
    return _numbers(pk.tl.transfer_response(bulk, cells, methods=("domain_adversarial",), seed=seed))


def _cadrres(seed: int) -> np.ndarray:
    sim = pk.data.simulate_tumour_subclones(seed=0)
    model = pk.tl.cadrres_fit(sim["ic50"], sim["expression"], rank=2, n_epochs=5, seed=seed)
    return model.predict(sim["expression"].iloc[:5]).to_numpy(float).ravel()


def _celcomen(seed: int) -> np.ndarray:
    tissue = pk.data.simulate_coupled_tissue(8, n_sweeps=5, seed=0)
    pk.tl.celcomen(tissue, n_neighbors=4, method="mft", n_iter=3, seed=seed)
    return tissue.uns["celcomen"]["inter"].to_numpy(float).ravel()


def _graph_impute(seed: int) -> np.ndarray:
    tissue = _lognorm(pk.data.simulate_tissue(600, seed=0))
    return _numbers(pk.tl.graph_impute(tissue, epochs=3, hidden=8, seed=seed))


def _sccoda(seed: int) -> np.ndarray:
    pytest.importorskip("pyro")
    import pandas as pd

    rows = [{"sample": f"{g}{i}", "perturbation": g, "cell_type": ct, "n_cells": n}
            for g, mult in [("control", 1), ("treated", 4)] for i in range(3)
            for ct, n in [("A", 300 + 7 * i), ("B", 300 - 5 * i), ("C", 60 * mult + 3 * i)]]
    res = pk.tl.sccoda(pd.DataFrame(rows), reference="A", num_samples=10, num_warmup=10, seed=seed)
    return _numbers(res)


CASES: dict[str, Callable[[int], np.ndarray]] = {
    "predict_response[scgen]": _response("scgen", n_epochs=2),
    "predict_response[trvae]": _response("trvae", n_epochs=2),
    "predict_response[cpa]": _response("cpa", n_epochs=2),
    "predict_response[cyclecdr]": _response("cyclecdr", n_epochs=2),
    "predict_response[cellot]": _response("cellot", cellot_iters=3),
    "predict_response[scgpt]": _response("scgpt", scgpt_pretrain_epochs=1, scgpt_finetune_epochs=1),
    "perturbnet_benchmark": _perturbnet,
    "predict_dose_signature": _dose_signature,
    "cpa_dose_benchmark": _cpa_dose,
    "cpa_combination_benchmark": _cpa_combinations,
    "expression_transformer": _transformer,
    "scbert_annotate": _scbert,
    "predict_combinations[gnn]": _combinations,
    "visible_network": _visible_network,
    "scdeal": _scdeal,
    "transfer_response[domain_adversarial]": _transfer,
    "cadrres_fit": _cadrres,
    "celcomen[mft]": _celcomen,
    "graph_impute": _graph_impute,
    "sccoda": _sccoda,
}


def _global_state() -> tuple:
    return torch.get_rng_state(), torch.initial_seed(), np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002


@pytest.mark.parametrize("name", list(CASES))
def test_seeded_without_side_effects(name: str) -> None:
    run = CASES[name]
    first = run(0)  # a first call may import and set up libraries; the checks start after it
    torch.manual_seed(12345)  # the caller's own stream, which the calls below must not touch
    np.random.seed(6789)  # noqa: NPY002 - the caller's legacy numpy stream
    random.seed(42)
    before = _global_state()
    again, other = run(0), run(1)
    after = _global_state()
    assert torch.equal(before[0], after[0]), f"{name} changed torch's global generator state"
    assert before[1] == after[1] == 12345, f"{name} changed torch.initial_seed(): {after[1]}"
    assert np.array_equal(before[2], after[2]), f"{name} changed numpy's global generator state"
    assert before[3] == after[3], f"{name} changed Python's global random state"
    assert first.size > 0 and np.isfinite(first).any(), first
    np.testing.assert_array_equal(first, again, err_msg=f"{name}: same seed, different numbers")
    assert first.shape != other.shape or not np.array_equal(first, other, equal_nan=True), (
        f"{name}: seeds 0 and 1 gave identical numbers {first[:5]}")


def test_transformer_embed_leaves_the_global_stream(tmp_path) -> None:
    adata = _perturbation(n_cells=6, n_genes=30)
    pk.tl.expression_transformer(adata, n_genes=12, dim=8, n_epochs=1, checkpoint=tmp_path / "tiny", progress=False)
    torch.manual_seed(7)
    before = torch.get_rng_state()
    again = pk.tl.transformer_embed(adata, tmp_path / "tiny", key_added="reloaded", copy=True)
    assert torch.equal(before, torch.get_rng_state()) and torch.initial_seed() == 7
    np.testing.assert_array_equal(again.obsm["reloaded"], adata.obsm["X_transformer"])


def test_seeding_helpers() -> None:
    from perturbkit import _seeding

    # the helpers' own docstring examples (a private module: not collected by test_docstring_examples)
    failed, attempted = doctest.testmod(_seeding, optionflags=doctest.ELLIPSIS)
    assert attempted >= 6 and failed == 0, (failed, attempted)
    torch.manual_seed(3)
    state = torch.get_rng_state()
    with pytest.raises(RuntimeError, match="boom"), _seeding.torch_seed(1):
        raise RuntimeError("boom")
    assert torch.equal(state, torch.get_rng_state()), "an error inside torch_seed leaked its seeding"
    with pytest.raises(TypeError, match="no 'seed' parameter"):
        _seeding.seeds_torch(lambda n: n)


_GLOBAL_SEEDERS = ("torch.manual_seed", "np.random.seed", "numpy.random.seed", "random.seed", "pyro.set_rng_seed")
# seeding the caller's generators is the whole point of these two
_ALLOWED = {("book.py", "setup"), ("_seeding.py", "torch_seed")}


def _guarded(chain: list) -> bool:
    """Whether a call sits in a function decorated with seeds_torch or in a `with torch_seed(...)`
    / `with restore_global_rngs()` block (``chain``: the AST nodes from the module down to it)."""
    import ast

    for node in chain:
        if isinstance(node, ast.FunctionDef) and any("seeds_torch" in ast.unparse(d) for d in node.decorator_list):
            return True
        if isinstance(node, ast.With) and any(
                any(name in ast.unparse(item.context_expr) for name in ("torch_seed(", "restore_global_rngs("))
                for item in node.items):
            return True
    return False


def test_no_module_seeds_the_global_generators_unguarded() -> None:
    # a new model written with a bare torch.manual_seed(seed) would reset the caller's stream again
    import ast
    from pathlib import Path

    src = Path(pk.__file__).parent
    offenders = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))

        def visit(node, chain, path=path):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in _GLOBAL_SEEDERS:
                funcs = [n.name for n in chain if isinstance(n, ast.FunctionDef)]
                if not _guarded(chain) and (path.name, funcs[-1] if funcs else None) not in _ALLOWED:
                    offenders.append(f"{path.relative_to(src)}:{node.lineno} {ast.unparse(node.func)}")
            for child in ast.iter_child_nodes(node):
                visit(child, [*chain, node])

        visit(tree, [])
    assert offenders == [], ("seed a forked generator instead (perturbkit._seeding.torch_seed / seeds_torch / "
                             f"restore_global_rngs): {offenders}")
