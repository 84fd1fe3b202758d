# Runs ASGARD's own R functions (GetDrug and DrugScore, sourced from a checkout of
# github.com/lanagarmire/Asgard) on tables exported by benchmarks/asgard.py.
# Usage: Rscript benchmarks/asgard_reference.R <asgard checkout> <exported folder>
# DrugScore reads L1000 signatures from .gctx files through cmapR::parse_gctx and its
# packaged metadata tables; here those readers are replaced by in-memory equivalents that
# return the exported signatures, so ASGARD's scoring code itself runs unchanged.
args <- commandArgs(trailingOnly = TRUE)
asgard <- args[1]
folder <- args[2]
for (f in c("data_preprocess.R", "get_gene_pval.R", "get_CEGs.R", "get_drug_pval.R", "CombinePvalue.R",
            "GetDrug.R", "DrugScore.R")) {
  source(file.path(asgard, "R", f))
}

sig <- as.matrix(read.csv(file.path(folder, "signatures.csv"), row.names = 1, check.names = FALSE))  # genes x instances
info <- read.csv(file.path(folder, "instances.csv"), stringsAsFactors = FALSE)  # instance_id, cmap_name, dataset
cells <- read.csv(file.path(folder, "cells.csv"), stringsAsFactors = FALSE)  # cluster, sample
clusters <- readLines(file.path(folder, "clusters.txt"))

# reference rank matrix as CMap ships it: rank 1 = most up-regulated gene of the instance
rank_matrix <- apply(sig, 2, function(v) rank(-v))
dimnames(rank_matrix) <- dimnames(sig)
reference <- list(drug.rank.matrix = rank_matrix, drug.info = info)

cluster_degs <- list()
for (cl in clusters) {
  deg <- read.csv(file.path(folder, paste0("deg_", cl, ".csv")), row.names = 1, check.names = FALSE)
  cluster_degs[[cl]] <- deg  # columns: score (t), adj.P.Val
}
cluster_drugs <- GetDrug(gene.data = cluster_degs, drug.ref.profiles = reference,
                         repurposing.unit = "drug", connectivity = "negative", drug.type = "all")
per_cluster <- do.call(rbind, lapply(names(cluster_drugs), function(cl) {
  d <- cluster_drugs[[cl]]
  data.frame(cell_type = cl, drug = d$Drug.name, pvalue = d$P.value, padj = d$FDR)
}))
write.csv(per_cluster, file.path(folder, "asgard_getdrug.csv"), row.names = FALSE)

# in-memory stand-ins for the L1000 readers DrugScore calls
setClass("GCT", representation(mat = "matrix"))
parse_gctx <- function(path, cid) new("GCT", mat = sig[, cid, drop = FALSE])
cell_data <- data.frame(cell_id = "REF", primary_site = "reference tissue")
meta <- data.frame(sig_id = info$instance_id, pert_iname = info$cmap_name, cell_id = "REF",
                   dataset = info$dataset, stringsAsFactors = FALSE)
col_meta_GSE92742 <- meta[meta$dataset == "A", c("sig_id", "pert_iname", "cell_id")]
col_meta_GSE70138 <- meta[meta$dataset == "B", c("sig_id", "pert_iname", "cell_id")]
gene_meta <- data.frame(pr_gene_id = rownames(sig), pr_gene_symbol = rownames(sig))
scores <- DrugScore(cell_metadata = cells, cluster_degs = cluster_degs, cluster_drugs = cluster_drugs,
                    tissue = "reference tissue", gse70138_gctx_path = "B", gse92742_gctx_path = "A",
                    case = "disease", fda_drugs_only = FALSE)
# DrugScore's rownames pass through as.data.frame(), which mangles names such as "PD-0325901"
original <- unique(info$cmap_name)
names(original) <- make.names(original, unique = TRUE)
write.csv(data.frame(drug = unname(original[rownames(scores)]), score = scores$Drug.therapeutic.score, pvalue = scores$P.value,
                     padj = scores$FDR), file.path(folder, "asgard_drugscore.csv"), row.names = FALSE)
cat("ASGARD reference run done\n")
