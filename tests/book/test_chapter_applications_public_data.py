"""Known biology on the mirrored public data: the claims the applications chapter makes."""

from __future__ import annotations

import pytest

import perturbkit as pk


def test_gdsc_braf_mutation_sensitises_to_braf_inhibitors(mirror):
    gdsc = pk.data.load("gdsc_ic50_v17_gdsctools")
    drugs = [1036, 1373, 1061]  # PLX-4720, dabrafenib, SB590885 (GDSC compound annotation)
    res = pk.tl.drug_gene_anova(gdsc["ic50"][drugs], gdsc["features"],
                                feature_columns=["BRAF_mut", "KRAS_mut", "TP53_mut", "PIK3CA_mut"])
    braf = res[res.feature == "BRAF_mut"].set_index("drug")
    assert set(braf.index) == set(drugs)
    assert (braf["delta"] < -1.5).all() and (braf["pvalue"] < 1e-15).all()
    assert set(res.head(3)["feature"]) == {"BRAF_mut"}


def test_l1000_mapk_inhibitors_reverse_braf_output(mirror):
    plate = pk.data.load("l1000_ljp005_a375_dose")
    sig = pk.tl.compound_signatures(plate, split_by="dose")
    query = sig.loc["PLX-4720|0.37"]
    db = sig[[i.endswith("|10.0") and not i.startswith("PLX-4720") for i in sig.index]]
    mapk = {"vemurafenib", "trametinib", "PD-184352", "AZD-8330"}
    for method in ("ks", "xsum"):
        res = pk.tl.connectivity(db, up=query.nsmallest(50).index, down=query.nlargest(50).index,
                                 method=method, n_perm=0)
        top = set(res.head(6)["compound"].str.split("|").str[0])
        assert mapk <= top, (method, top)


@pytest.mark.parametrize("dataset", ["pooled_crispr_ht29_crisprcleanr"])
def test_ht29_core_essentials_and_8q24_segment(mirror, dataset):
    ht = pk.data.load(dataset)
    pk.pp.normalize_screen(ht)
    sg = pk.tl.sgrna_lfc(ht, treatment_samples=["HT29_c9M1R4", "HT29_c9M1R5", "HT29_c9M1R6"], control_samples="MHG_library_v1")
    genes = sg.groupby("gene")["lfc"].median()
    ess = pk.tl.core_essential_genes(genes.index)
    rp = ess.index[ess.isin(["ribosomal protein", "proteasome", "RNA polymerase"])]
    assert genes.loc[rp].median() < -2.5 and abs(genes.drop(ess.index).median()) < 0.2
    clean = pk.tl.crisprcleanr(sg)
    myc = clean.loc[clean.gene == "MYC"].iloc[0]
    assert myc["segment_genes"] > 40 and myc["segment_median"] < -0.4 and myc["corrected"]


def test_asgard_kang_ifnb_against_a375_plate(mirror):
    # the chapter's claim: with A375 reference profiles the JAK inhibitors are not recovered
    import scanpy as sc

    kang = pk.data.load("kang2018_ifnb_muscat")
    sc.pp.normalize_total(kang, target_sum=1e4)
    sc.pp.log1p(kang)
    sig = pk.tl.compound_signatures(pk.data.load("l1000_ljp005_a375_dose"), split_by="dose")
    res = pk.tl.asgard(kang, sig)
    assert len(res.drugs) == 59 and set(res.clusters["cell_type"]) == set(kang.obs["cell_type"].astype(str))
    ranks = res.drugs.set_index("drug")["rank"]
    assert (ranks[["ruxolitinib", "TG-101348", "CYT387"]] > 30).all() and ranks["ruxolitinib"] > 50
    # interferon genes among the shared landmarks are DEGs in every cell type
    stat1 = res.degs[res.degs["gene"] == "STAT1"]
    assert (stat1["t"] > 0).all() and (stat1["padj"] < 0.05).all()
