"""Public datasets (pinned by sha256 in ``data_manifests/``) and simulators with planted truth.

Resolution order for every file: cache (``PERTURBKIT_DATA_DIR``), mirror folder
(``PERTURBKIT_DATA_MIRROR``), public URL (pooch). Strict mode (``PERTURBKIT_STRICT=1``)
turns a missing dataset into an error instead of a simulated stand-in.
"""

from ._fetch import (
    DataUnavailableError,
    HashMismatchWarning,
    cache_dir,
    download_all,
    fetch,
    is_strict,
    mirror_dir,
    used_datasets,
)
from ._lazy import read_lazy, to_zarr
from ._load import CONTROL, SCHEMA, fallbacks_used, is_stand_in, list_datasets, load
from ._manifest import manifest, manifests

# simulators (one module per kind of experiment)
from ._simulate_clones import simulate_clones as simulate_clones
from ._simulate_cluster_reversal import simulate_cluster_reversal as simulate_cluster_reversal
from ._simulate_coupled_tissue import simulate_coupled_tissue as simulate_coupled_tissue
from ._simulate_cuttag import simulate_cuttag_screen as simulate_cuttag_screen
from ._simulate_dose import simulate_dose_response as simulate_dose_response
from ._simulate_dose import simulate_dose_table as simulate_dose_table
from ._simulate_dose import simulate_response_transfer as simulate_response_transfer
from ._simulate_dose_plate import simulate_dose_plate as simulate_dose_plate
from ._simulate_drug_signatures import simulate_drug_signatures as simulate_drug_signatures
from ._simulate_epigenome import simulate_methylation_screen as simulate_methylation_screen
from ._simulate_epigenome import simulate_multiome_screen as simulate_multiome_screen
from ._simulate_flows import simulate_flows as simulate_flows
from ._simulate_go import simulate_go_screen as simulate_go_screen
from ._simulate_latent_combinations import (
    simulate_latent_combinations as simulate_latent_combinations,
)
from ._simulate_mixseq import simulate_mixseq as simulate_mixseq
from ._simulate_ontology import simulate_ontology_response as simulate_ontology_response
from ._simulate_perturbation import simulate_perturbation as simulate_perturbation
from ._simulate_perturbation import simulate_perturbation_library as simulate_perturbation_library
from ._simulate_pharmacogenomics import published_ic50 as published_ic50
from ._simulate_pharmacogenomics import simulate_drug_response as simulate_drug_response
from ._simulate_pharmacogenomics import simulate_viability_plates as simulate_viability_plates
from ._simulate_pooled import simulate_combination as simulate_combination
from ._simulate_pooled import simulate_isogenic_screen as simulate_isogenic_screen
from ._simulate_pooled import simulate_pooled_screen as simulate_pooled_screen
from ._simulate_protein import simulate_protein_screen as simulate_protein_screen
from ._simulate_resistance import simulate_resistance as simulate_resistance
from ._simulate_resources import simulate_communication as simulate_communication
from ._simulate_resources import simulate_gene_sets as simulate_gene_sets
from ._simulate_resources import simulate_lr_resource as simulate_lr_resource
from ._simulate_screen import simulate_combinations as simulate_combinations
from ._simulate_screen import simulate_screen as simulate_screen
from ._simulate_signatures import simulate_signature_screen as simulate_signature_screen
from ._simulate_subclones import simulate_tumour_subclones as simulate_tumour_subclones
from ._simulate_tissue import simulate_tissue as simulate_tissue

list = list_datasets  # noqa: A001 - `pk.data.list()` is the documented spelling

__all__ = [
    "CONTROL",
    "SCHEMA",
    "cache_dir",
    "DataUnavailableError",
    "download_all",
    "fallbacks_used",
    "fetch",
    "HashMismatchWarning",
    "is_stand_in",
    "is_strict",
    "list",
    "list_datasets",
    "load",
    "manifest",
    "manifests",
    "mirror_dir",
    "published_ic50",
    "read_lazy",
    "simulate_cluster_reversal",
    "simulate_combination",
    "simulate_combinations",
    "simulate_communication",
    "simulate_cuttag_screen",
    "simulate_dose_plate",
    "simulate_dose_response",
    "simulate_dose_table",
    "simulate_drug_response",
    "simulate_ontology_response",
    "simulate_drug_signatures",
    "simulate_flows",
    "simulate_gene_sets",
    "simulate_isogenic_screen",
    "simulate_go_screen",
    "simulate_lr_resource",
    "simulate_latent_combinations",
    "simulate_methylation_screen",
    "simulate_mixseq",
    "simulate_multiome_screen",
    "simulate_perturbation",
    "simulate_perturbation_library",
    "simulate_clones",
    "simulate_coupled_tissue",
    "simulate_pooled_screen",
    "simulate_protein_screen",
    "simulate_resistance",
    "simulate_response_transfer",
    "simulate_screen",
    "simulate_signature_screen",
    "simulate_tissue",
    "simulate_tumour_subclones",
    "simulate_viability_plates",
    "to_zarr",
    "used_datasets",
]
