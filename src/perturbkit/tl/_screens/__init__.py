"""Single-cell and pooled CRISPR screens: guides, knockdown, Mixscape, screen models, beyond-RNA readouts."""
