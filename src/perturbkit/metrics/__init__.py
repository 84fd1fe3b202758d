"""Evaluation helpers shared by chapters, tests and benchmarks: multiple testing, scores
against planted truth, calibration. One place, so every chapter scores the same way."""

from ._combinations import combination_scores as combination_scores
from ._multitest import bh_adjust as bh_adjust

__all__ = ["bh_adjust", "combination_scores"]
