"""Tidy tables out of an annotated AnnData."""

# One line per public function: `from ._module import name as name` (explicit re-export).
from ._cell_counts import cell_counts as cell_counts
from ._dose_curves import dose_curves as dose_curves
from ._pseudobulk import pseudobulk as pseudobulk
from ._spatial import nhood_enrichment as nhood_enrichment
