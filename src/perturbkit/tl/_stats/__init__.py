"""Statistics of a perturbation: distances, classifiers, differential expression, composition."""
