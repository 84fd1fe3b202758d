"""Tidy tables out of an annotated AnnData."""

# One line per public function: `from ._module import name as name` (explicit re-export).
