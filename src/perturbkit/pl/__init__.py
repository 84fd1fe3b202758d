"""Plots: twins of the pk.tl functions, reading the keys those write."""

# One line per public function: `from ._module import name as name` (explicit re-export).
