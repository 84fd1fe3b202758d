"""Plots: twins of the pk.tl functions, reading the keys those write."""

# One line per public function: `from ._module import name as name` (explicit re-export).
from ._calibration import qq as qq
from ._celcomen import interaction_matrix as interaction_matrix
from ._celcomen import knockout_propagation as knockout_propagation
from ._dose_response import dose_curves as dose_curves
from ._dose_response import feature_curves as feature_curves
from ._drug_gene import drug_gene_volcano as drug_gene_volcano
from ._drug_scores import beyondcell_umap as beyondcell_umap
from ._drug_scores import drug_scores_by_group as drug_scores_by_group
from ._drug_scores import gene_attributions as gene_attributions
from ._flows import flowsig as flowsig
from ._genetic_interaction import isogenic_scatter as isogenic_scatter
from ._guides import guide_mixture as guide_mixture
from ._milo import milo as milo
from ._mixscape import mixscape as mixscape
from ._pooled_screen import essential_lfc as essential_lfc
from ._pooled_screen import genome_track as genome_track
from ._pooled_screen import mle_betas as mle_betas
from ._pooled_screen import screen_counts as screen_counts
from ._pooled_screen import screen_rank as screen_rank
from ._pooled_screen import sgrna_lfc as sgrna_lfc
from ._predictors import model_scores as model_scores
from ._predictors import subsystem_importance as subsystem_importance
from ._resistant_subpopulation import resistance_curves as resistance_curves
from ._signature_reversal import asgard_scores as asgard_scores
from ._signature_reversal import connectivity_rank as connectivity_rank
from ._spatial import nhood_enrichment as nhood_enrichment
from ._spatial import spatial_scatter as spatial_scatter
from ._synergy import synergy_heatmap as synergy_heatmap
from ._synergy import synergy_scores as synergy_scores
from ._synergy import synergy_wells as synergy_wells
