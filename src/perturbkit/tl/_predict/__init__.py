"""Predicting perturbation responses: generative models, transformers, combinations, unseen perturbations."""
