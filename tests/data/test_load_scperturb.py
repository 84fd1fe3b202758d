"""The scPerturb reader and its five loaders, on small synthetic files in scPerturb's layout."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from _scperturb_fake import FILES, TARGETS, fake_scperturb
from anndata import AnnData
from scipy import sparse

import perturbkit as pk
from perturbkit._validate import check_counts
from perturbkit.data._loaders._scperturb import parse_perturbation, read_scperturb

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def norman_file(tmp_path_factory) -> tuple[Path, AnnData]:
    adata = fake_scperturb(layout="norman", seed=0)
    path = tmp_path_factory.mktemp("scperturb") / FILES["norman2019"]
    adata.write_h5ad(path)
    return path, adata


@pytest.fixture(scope="module")
def replogle_file(tmp_path_factory) -> tuple[Path, AnnData]:
    adata = fake_scperturb(layout="replogle", dense=True, seed=1)
    path = tmp_path_factory.mktemp("scperturb") / FILES["replogle2022_k562_essential"]
    adata.write_h5ad(path)
    return path, adata


# --- label parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("control", ()),
        ("non-targeting", ()),
        ("NegCtrl0_NegCtrl0__NegCtrl0_NegCtrl0", ()),
        ("INTERGENIC", ()),
        ("KLF1", ("KLF1",)),
        ("CEBPE_RUNX1T1", ("CEBPE", "RUNX1T1")),
        ("RUNX1T1_CEBPE", ("CEBPE", "RUNX1T1")),  # order does not matter
        ("KLF1_control", ("KLF1",)),  # a control part leaves a single
        ("FOXA1_FOXA1", ("FOXA1",)),
        (float("nan"), None),
        ("None", None),
        ("", None),
    ],
)
def test_parse_perturbation(label: object, expected: tuple[str, ...] | None) -> None:
    assert parse_perturbation(label) == expected


def test_parse_with_strip_and_extra_controls() -> None:
    strip = r"_p[A-Za-z]+\d[\w()\-.]*$"
    assert parse_perturbation("ATF6_pMJ144-1", sep=None, strip=strip) == ("ATF6",)
    assert parse_perturbation("NT1_pBA581", sep=None, strip=strip, control_labels=["nt1"]) == ()
    assert parse_perturbation("A_B", sep=None) == ("A_B",)


# --- the reader -----------------------------------------------------------------------------


def test_schema_counts_and_labels(norman_file) -> None:
    path, raw = norman_file
    a = read_scperturb(path)
    assert a.shape == raw.shape == (2240, 120)
    check_counts(a.layers["counts"])
    assert sparse.isspmatrix_csr(a.layers["counts"]) and a.X.dtype == np.float32
    assert (a.X != a.layers["counts"]).nnz == 0
    # counts are the file's counts, row for row
    assert np.array_equal(a.layers["counts"].toarray(), raw.X.toarray())
    obs = a.obs
    assert {"perturbation", "target", "nperts", "replicate", "cell_type", "guide", "n_counts"} <= set(obs)
    assert (obs["perturbation"] == pk.data.CONTROL).sum() == 800
    assert set(obs.loc[obs["perturbation"] == pk.data.CONTROL, "target"]) == {"non-targeting"}
    doubles = obs.loc[obs["nperts"] == 2, "perturbation"].astype(str)
    assert doubles.str.count(r"\+").eq(1).all() and len(set(doubles)) == 12
    # "A_B" and "B_A" in the file are one condition, genes sorted
    assert all(d.split("+") == sorted(d.split("+")) for d in set(doubles))
    assert set(obs["replicate"].astype(str)) == {"1", "2"}  # from gemgroup
    assert set(obs["cell_type"]) == {"lymphoblasts"}
    assert np.allclose(obs["n_counts"], raw.obs["ncounts"])
    assert list(a.var_names) == list(raw.var_names) and "ensembl_id" in a.var
    assert a.uns["scperturb"]["n_cells_file"] == 2240 and a.uns["non_targeting_label"] == "non-targeting"


def test_subsampling_is_seeded_and_capped(norman_file) -> None:
    path, _ = norman_file
    kw = dict(max_cells_per_perturbation=25, max_control_cells=100, n_top_genes=30)
    a = read_scperturb(path, seed=3, **kw)
    b = read_scperturb(path, seed=3, **kw)
    c = read_scperturb(path, seed=4, **kw)
    assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
    assert list(a.obs_names) != list(c.obs_names)
    sizes = a.obs["perturbation"].value_counts()
    assert sizes[pk.data.CONTROL] == 100 and sizes.drop(pk.data.CONTROL).max() == 25
    assert a.n_obs == 100 + 24 * 25
    # top genes plus every targeted gene
    assert set(TARGETS) <= set(a.var_names) and 30 <= a.n_vars <= 30 + len(TARGETS)


def test_top_genes_are_the_planted_modules(norman_file) -> None:
    path, _ = norman_file
    a = read_scperturb(path, n_top_genes=45, max_cells_per_perturbation=60)
    module_genes = {f"G{i}" for i in range(45)}  # genes 12..56 carry the three planted modules
    chosen = set(a.var_names) - set(TARGETS)
    assert len(chosen & module_genes) / len(chosen) > 0.8, sorted(chosen)


def test_perturbation_subsets(norman_file) -> None:
    path, _ = norman_file
    a = read_scperturb(path, n_perturbations=6, seed=0)
    singles = {p for p in a.obs["perturbation"].astype(str) if p != "control" and "+" not in p}
    assert len(singles) == 6
    for p in set(a.obs["perturbation"].astype(str)):
        assert p == "control" or all(g in singles for g in p.split("+")), p
    b = read_scperturb(path, perturbations=["TF0", "TF1"])
    assert set(b.obs["perturbation"].astype(str)) == {"control", "TF0", "TF1"}
    with pytest.raises(ValueError, match=r"perturbations \['NOPE'\] not in the data"):
        read_scperturb(path, perturbations=["NOPE"])


def test_combination_modes(norman_file) -> None:
    path, _ = norman_file
    multi = read_scperturb(path, combinations="multiple")
    assert (multi.obs["perturbation"] == "multiple").sum() == 12 * 60
    assert multi.obs.loc[multi.obs["perturbation"] == "multiple", "target"].astype(str).str.contains(r"\+").all()
    dropped = read_scperturb(path, combinations="drop")
    assert dropped.obs["nperts"].max() == 1 and dropped.n_obs == 2240 - 12 * 60
    with pytest.raises(ValueError, match="combinations must be"):
        read_scperturb(path, combinations="both")


def test_dense_x_and_non_targeting_controls(replogle_file) -> None:
    path, raw = replogle_file
    a = read_scperturb(path, max_cells_per_perturbation=30)
    assert sparse.isspmatrix_csr(a.X)
    # "non-targeting" mapped; the control cap defaults to max_cells_per_perturbation
    assert (a.obs["perturbation"] == pk.data.CONTROL).sum() == 30
    assert set(a.obs["replicate"].astype(str)) == {"1", "2"}  # from batch
    kd = pk.tl.knockdown(a, n_permutations=0)
    # planted CRISPRi: x0.15 in 80 % of cells, i.e. about 0.32 of the control mRNA remains
    assert len(kd) == 12 and (kd["remaining"] < 0.5).all() and 0.25 < kd["remaining"].mean() < 0.4, kd


def test_missing_perturbation_column_is_named(tmp_path: Path) -> None:
    raw = fake_scperturb(n_genes=60, cells_per_single=5, cells_per_double=5, n_control=20)
    raw.obs = raw.obs.drop(columns="perturbation")
    raw.write_h5ad(tmp_path / "x.h5ad")
    with pytest.raises(KeyError, match=r"no column 'perturbation'.*guide_id"):
        read_scperturb(tmp_path / "x.h5ad")


def test_no_control_lists_labels(tmp_path: Path) -> None:
    raw = fake_scperturb(n_genes=60, cells_per_single=5, cells_per_double=5, n_control=20)
    raw.obs["perturbation"] = raw.obs["perturbation"].astype(str).replace("control", "62(mod)")
    raw.write_h5ad(tmp_path / "x.h5ad")
    with pytest.raises(ValueError, match=r"no control cells.*62\(mod\).*control_labels"):
        read_scperturb(tmp_path / "x.h5ad")
    a = read_scperturb(tmp_path / "x.h5ad", control_labels=["62(mod)"])
    assert (a.obs["perturbation"] == "control").sum() == 20


def test_lognormalised_x_needs_a_counts_layer(tmp_path: Path) -> None:
    raw = fake_scperturb(n_genes=60, cells_per_single=5, cells_per_double=5, n_control=20)
    counts = raw.X.copy()
    raw.X = raw.X.log1p()
    raw.write_h5ad(tmp_path / "log.h5ad")
    with pytest.raises(ValueError, match=r"X is not raw counts.*layers\['counts'\]"):
        read_scperturb(tmp_path / "log.h5ad")
    raw.layers["counts"] = counts
    raw.write_h5ad(tmp_path / "both.h5ad")
    a = read_scperturb(tmp_path / "both.h5ad")
    assert a.uns["scperturb"]["matrix"] == "layers/counts"
    assert np.array_equal(a.layers["counts"].toarray(), counts.toarray())
    with pytest.raises(KeyError, match="no 'layers/spliced'"):
        read_scperturb(tmp_path / "both.h5ad", layer="spliced")


# --- through pk.data.load, with manifests pinning the synthetic files -------------------------


@pytest.fixture()
def synthetic_mirror(private_data):
    files = {i: fake_scperturb(layout="norman" if i in ("norman2019", "dixit2016") else "replogle",
                               n_genes=60, cells_per_single=20, cells_per_double=20, n_control=100, seed=k)
             for k, i in enumerate(FILES)}
    private_data(files)
    return files


@pytest.mark.parametrize("dataset_id", sorted(FILES))
def test_each_loader_reads_its_file(synthetic_mirror, dataset_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pinned by sha256: no "unverified" warning
        a = pk.data.load(dataset_id, max_cells_per_perturbation=10, seed=0)
    assert a.uns["dataset"] == dataset_id
    assert pk.data.CONTROL in set(a.obs["perturbation"].astype(str))
    assert a.obs_names.is_unique and a.var_names.is_unique
    check_counts(a.layers["counts"])
    assert pk.data.used_datasets()[-1] == {"dataset": dataset_id, "file": FILES[dataset_id],
                                          "sha256": pk.data.manifest(dataset_id).files[0].sha256,
                                          "source": "mirror"}


def test_the_five_manifests_point_at_scperturb_files() -> None:
    for dataset_id, name in FILES.items():
        m = pk.data.manifest(dataset_id)
        assert [f.name for f in m.files] == [name]
        f = m.files[0]
        assert f.url.startswith("https://zenodo.org/records/10044268/files/") and f.md5 and not m.verified
    assert pk.data.manifest("norman2019").files[0].md5 == "c870e6967d91c017d9da827bab183cd6"
