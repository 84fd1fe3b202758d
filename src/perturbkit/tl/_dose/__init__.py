"""Drugs and doses: dose-response over features and cells, drug-response prediction, synergy, connectivity."""
