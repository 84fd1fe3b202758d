"""Dose-response models in drc's parameterisation (b, c, d, e, f)."""

# One line per public function: `from ._module import name as name` (explicit re-export).
