"""pk.pl.milo draws one labelled dot per neighbourhood, coloured by significance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_milo_beeswarm():
    da = pd.DataFrame({"perturbation": "stim", "cell_type": ["a", "a", "b", "b"], "log2fc": [2.0, 1.5, -0.1, 0.2],
                       "spatial_fdr": [0.01, 0.5, 0.9, 0.9]})
    ax = pk.pl.milo(da)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    dots = np.vstack([c.get_offsets() for c in ax.collections])
    assert len(dots) == 4
    # b (median ~0) below a (median 1.75): y positions follow the ordering by median
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    colours = np.vstack([c.get_facecolors() for c in ax.collections])
    is_red = np.isclose(colours[:, :3], matplotlib.colors.to_rgb("#d62728"), atol=1e-3).all(1)
    assert dots[is_red, 0].tolist() == [2.0], colours  # only the significant enriched dot is red
    plt.close("all")
    with pytest.raises(KeyError, match="spatial_fdr"):
        pk.pl.milo(da.drop(columns="spatial_fdr"))
    with pytest.raises(ValueError, match="perturbation="):
        pk.pl.milo(pd.concat([da, da.assign(perturbation="other")]))
