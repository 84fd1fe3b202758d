# Seurat's Mixscape (CalcPerturbSig + RunMixscape) with the settings of Seurat's Mixscape
# vignette, on cells exported by benchmarks/mixscape.py (the mirrored Papalexi 2021 screen).
#
# Usage: Rscript benchmarks/mixscape_seurat.R <export dir>
#   reads  <dir>/counts.mtx (genes x cells), <dir>/genes.txt, <dir>/cells.csv
#          (columns cell, gene, replicate, guide_ID; non-targeting cells have gene "NT")
#   writes <dir>/seurat_classes.csv (cell, mixscape_class, mixscape_class.global, p_ko)
#          and <dir>/seurat_session.txt
# Needs R with Seurat 4.3 and mixtools (Debian: r-base-core r-cran-seurat).
suppressPackageStartupMessages({
  library(Seurat)
  library(Matrix)
})
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
counts <- readMM(file.path(dir, "counts.mtx"))
genes <- readLines(file.path(dir, "genes.txt"))
meta <- read.csv(file.path(dir, "cells.csv"), stringsAsFactors = FALSE)
counts <- as(counts, "CsparseMatrix")
rownames(counts) <- genes
colnames(counts) <- meta$cell
rownames(meta) <- meta$cell
eccite <- CreateSeuratObject(counts = counts, meta.data = meta[, c("gene", "replicate", "guide_ID")],
                             min.cells = 0, min.features = 0)
set.seed(1)
# vignette: https://satijalab.org/seurat/articles/mixscape_vignette (steps as there)
eccite <- NormalizeData(eccite, verbose = FALSE)
eccite <- FindVariableFeatures(eccite, verbose = FALSE)
eccite <- ScaleData(eccite, verbose = FALSE)
eccite <- RunPCA(eccite, verbose = FALSE)
eccite <- CalcPerturbSig(object = eccite, assay = "RNA", slot = "data", gd.class = "gene",
                         nt.cell.class = "NT", reduction = "pca", ndims = 40, num.neighbors = 20,
                         split.by = "replicate", new.assay.name = "PRTB", verbose = FALSE)
eccite <- ScaleData(object = eccite, assay = "PRTB", do.scale = FALSE, do.center = TRUE, verbose = FALSE)
eccite <- RunMixscape(object = eccite, assay = "PRTB", slot = "scale.data", labels = "gene",
                      nt.class.name = "NT", min.de.genes = 5, iter.num = 10, de.assay = "RNA",
                      verbose = FALSE, prtb.type = "KO")
out <- data.frame(cell = colnames(eccite), mixscape_class = eccite$mixscape_class,
                  mixscape_class.global = eccite$mixscape_class.global,
                  p_ko = eccite$mixscape_class_p_ko)
write.csv(out, file.path(dir, "seurat_classes.csv"), row.names = FALSE)
writeLines(c(paste("Seurat", as.character(packageVersion("Seurat"))),
             paste("mixtools", as.character(packageVersion("mixtools"))),
             R.version.string), file.path(dir, "seurat_session.txt"))
