"""Tools: one module per method; each annotates an AnnData or returns a tidy table."""

# One line per public function: `from ._module import name as name` (explicit re-export).
