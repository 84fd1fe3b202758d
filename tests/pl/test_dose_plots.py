"""pk.pl.dose_curves and pk.pl.subpopulation_response draw the fitted numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_dose_curves_data_curve_and_reference():
    d = pk.data.simulate_dose_table(seed=0)
    fit = pk.dose.fit_curve(d["dose"], d["response"])
    ax = pk.pl.dose_curves({"drug": fit}, reference=0.5, dose_unit="uM", response_label="viability",
                           title="fit", mark_ed=None, band=False)
    points = ax.collections[0].get_offsets()
    assert np.allclose(points[:, 1], d["response"])
    lowest = d["dose"][d["dose"] > 0].min()
    assert np.allclose(points[d["dose"].to_numpy() == 0, 0], lowest / 10)  # control one decade below
    curve = next(line for line in ax.lines if len(line.get_xdata()) == 200)
    assert np.allclose(curve.get_ydata(), fit.predict(curve.get_xdata()))
    assert any(list(line.get_ydata()) == [0.5, 0.5] for line in ax.lines)
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "viability" and ax.get_title() == "fit"
    plt.close("all")


def test_subpopulation_response_cells_equal_the_table():
    sim = pk.data.simulate_tumour_subclones(seed=0)
    res = pk.tl.subpopulation_drug_response(sim["cells"], sim["ic50"], sim["expression"], cluster_key="subpopulation")
    ax = pk.pl.subpopulation_response(res, cluster_labels={c: f"cl {c}" for c in res.table["cluster"]})
    image = ax.images[0].get_array()
    t = res.table
    clusters = list(dict.fromkeys(t.loc[t["level"] == "cluster", "cluster"])) + ["bulk"]
    drugs = sorted(t["drug"].unique())
    want = t.pivot(index="drug", columns="cluster", values="delta").loc[drugs, clusters].to_numpy()
    assert np.allclose(image, want)
    ticks = [x.get_text() for x in ax.get_xticklabels()]
    assert ticks[0].startswith(f"cl {clusters[0]}\n") and ticks[-1].startswith("all cells")
    n_called = int(t["sensitive"].sum())
    assert sum(x.get_text().endswith("*") for x in ax.texts) == n_called
    assert sum("(cover)" in y.get_text() for y in ax.get_yticklabels()) == len(res.cover)
    with pytest.raises(TypeError, match="subpopulation_drug_response"):
        pk.pl.subpopulation_response(t)
    plt.close("all")
