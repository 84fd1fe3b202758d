# drc 3.2-0's own fits of every curve that tests/dose/test_drc_optimum.py checks (LL.4, LL.5,
# W1.4, W2.4; binomial sets with type = "binomial" and the totals as weights), the evidence
# quoted in that test's KNOWN_MISSES.
# drc and drcData are not on CRAN for this R (4.2) and not in Debian: install both from their
# GitHub sources (github.com/DoseResponse/drc, github.com/DoseResponse/drcData) with
#   R CMD INSTALL -l <lib> drcData ; R CMD INSTALL -l <lib> drc
# (the other dependencies come from Debian's r-cran-* packages).
# Usage: export the curves (one row per observation; cid = index in T._curves()) with
#   PYTHONPATH=src:tests/dose python - <<'PY'
#   import numpy as np, pandas as pd, test_drc_optimum as T
#   rows = [dict(cid=i, dataset=nm, group=g, dose=a, resp=b, total=np.nan if n is None else n[j])
#           for i, (nm, g, x, y, n) in enumerate(T._curves()) for j, (a, b) in enumerate(zip(x, y))]
#   pd.DataFrame(rows).to_csv("curves.csv", index=False)
#   PY
# then R_LIBS=<lib> Rscript benchmarks/drc_optimum_reference.R curves.csv drc.csv
# (about a minute; one row per curve and model: logLik, RSS, b, c, d, e, f, finite SEs).
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(drc))
d <- read.csv(args[1])
fcts <- list("LL.4"=LL.4(), "LL.5"=LL.5(), "W1.4"=W1.4(), "W2.4"=W2.4())
out <- list()
for (cid in unique(d$cid)) {
  s <- d[d$cid == cid, ]
  bin <- !is.na(s$total[1])
  for (mn in names(fcts)) {
    r <- try(suppressWarnings(if (bin) drm(resp ~ dose, weights = total, data = s, fct = fcts[[mn]], type = "binomial")
                              else drm(resp ~ dose, data = s, fct = fcts[[mn]])), silent = TRUE)
    if (inherits(r, "try-error")) {
      out[[length(out)+1]] <- data.frame(cid=cid, model=mn, ok=FALSE, msg=gsub("\n"," ",as.character(r)), loglik=NA, rss=NA, b=NA,c=NA,d=NA,e=NA,f=NA, se_ok=NA)
    } else {
      co <- coef(r); p <- setNames(rep(NA,5), c("b","c","d","e","f"))
      for (k in names(co)) p[sub(":.*","",k)] <- co[[k]]
      se <- try(sqrt(diag(vcov(r))), silent=TRUE)
      out[[length(out)+1]] <- data.frame(cid=cid, model=mn, ok=TRUE, msg="", loglik=as.numeric(logLik(r)),
          rss=sum(residuals(r)^2 * (if (bin) 1 else 1)), b=p["b"],c=p["c"],d=p["d"],e=p["e"],f=p["f"],
          se_ok=!inherits(se,"try-error") && all(is.finite(se)))
    }
  }
}
write.csv(do.call(rbind, out), args[2], row.names=FALSE)
