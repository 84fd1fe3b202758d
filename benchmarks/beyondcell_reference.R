# Runs Beyondcell's own bcScore and SwitchPoint (R/objects.R and R/Score.R sourced from a
# checkout of github.com/cnio-bu/beyondcell) on matrices exported by benchmarks/beyondcell.py.
# Usage: Rscript benchmarks/beyondcell_reference.R <beyondcell checkout> <exported folder>
suppressPackageStartupMessages({library(methods); library(Seurat)})
args <- commandArgs(trailingOnly = TRUE)
src <- args[1]
folder <- args[2]
source(file.path(src, "R", "objects.R"))
source(file.path(src, "R", "Score.R"))

expr <- as.matrix(read.csv(file.path(folder, "expression.csv"), row.names = 1, check.names = FALSE))  # genes x cells
sets <- read.csv(file.path(folder, "signatures.csv"), stringsAsFactors = FALSE)  # source, target, weight
genelist <- lapply(split(sets, sets$source), function(d) {
  list(up = d$target[d$weight > 0], down = d$target[d$weight < 0])
})
gs <- geneset(genelist = genelist, n.genes = 10, mode = c("up", "down"), info = data.frame(),
              inverse.score = FALSE)
bc <- suppressWarnings(bcScore(expr, gs, expr.thres = as.numeric(readLines(file.path(folder, "expr_thres.txt")))))
write.csv(t(bc@normalized), file.path(folder, "bcs_normalized.csv"))
write.csv(t(bc@scaled), file.path(folder, "bcs_scaled.csv"))
write.csv(data.frame(drug = names(bc@switch.point), switch_point = unname(bc@switch.point)),
          file.path(folder, "switch_point.csv"), row.names = FALSE)
