"""Preprocessing: transform the matrix, add layers."""

# One line per public function: `from ._module import name as name` (explicit re-export).
from ._clr import clr as clr
from ._gdsc import gdsc_normalise as gdsc_normalise
from ._gdsc import gdsc_plate_qc as gdsc_plate_qc
from ._guide_counts import add_guide_counts as add_guide_counts
from ._lognormalize import lognormalize as lognormalize
from ._lognormalize import pca as pca
from ._normalize_screen import normalize_screen as normalize_screen
from ._spatial_neighbors import spatial_neighbors as spatial_neighbors
