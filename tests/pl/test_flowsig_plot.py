"""pl.flowsig draws the three layers, one arrow per edge above the frequency, labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import scanpy as sc  # noqa: E402

import perturbkit as pk  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    sim = pk.data.simulate_flows(200, seed=0)
    sc.pp.normalize_total(sim)
    sc.pp.log1p(sim)
    lr = pd.DataFrame({"ligand": ["LIGA", "LIGB", "LIGC"], "receptor": ["RECA", "RECB", "RECC"]})
    pk.tl.flowsig(sim, resource=lr, n_modules=5, n_bootstraps=5)
    return sim


def test_graph_and_change(fitted):
    edges = fitted.uns["flowsig"]["edges"]
    ax = pk.pl.flowsig(fitted, condition="control", min_frequency=0.6)
    n_shown = int(((edges["condition"] == "control") & (edges["frequency"] >= 0.6)).sum())
    assert len(ax.texts) >= 2 and len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) >= n_shown
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "FlowSig: control"
    ch = pk.tl.flowsig_changes(fitted, control="control", min_frequency=0.6)
    ax2 = pk.pl.flowsig(fitted, condition="stimulated", control="control", min_frequency=0.6)
    labels = [t.get_text() for t in ax2.get_legend().get_texts()]
    assert labels == ["gained", "lost", "kept"] and len(ch) > 0
    plt.close("all")
    with pytest.raises(ValueError, match="no learnt graph"):
        pk.pl.flowsig(fitted, condition="nope")
