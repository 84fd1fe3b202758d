"""Tools: one module per method; each annotates an AnnData or returns a tidy table."""

# One line per public function: `from ._module import name as name` (explicit re-export).
from ._guides import assign_guides as assign_guides
from ._guides import guide_mixture as guide_mixture
from ._edistance import edistance as edistance
from ._edistance import energy_distance as energy_distance
from ._pseudobulk import pseudobulk_de as pseudobulk_de
from ._wilcoxon import wilcoxon_de as wilcoxon_de
from ._knockdown import knockdown as knockdown
from ._knockdown import perturbation_test as perturbation_test
from ._pooled_screen import core_essential_genes as core_essential_genes
from ._pooled_screen import mageck_test as mageck_test
from ._pooled_screen import rra as rra
from ._pooled_screen import screen_qc as screen_qc
from ._pooled_screen import sgrna_lfc as sgrna_lfc
from ._spatial_stats import nhood_enrichment as nhood_enrichment
from ._spatial_stats import spatial_autocorr as spatial_autocorr
from ._synergy import synergy as synergy
from ._synergy import synergy_scores as synergy_scores
from ._spatial_stats import co_occurrence as co_occurrence
from ._spatial_stats import ripley as ripley
from ._calibration import negative_control_tests as negative_control_tests
from ._mixscape import mixscape as mixscape
from ._mixscape import perturbation_signature as perturbation_signature
