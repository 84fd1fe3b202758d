"""Space and communication: spatial statistics, ligand-receptor flows, niches, clones."""
