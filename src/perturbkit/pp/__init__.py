"""Preprocessing: transform the matrix, add layers."""

# One line per public function: `from ._module import name as name` (explicit re-export).
