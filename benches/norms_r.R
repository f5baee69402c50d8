## R quantreg timing of the SGP-norms problem that benches/norms.rs times in Rust
## (one prior, bs() basis with 4 interior knots: p = 8 with the intercept; 100 taus).
##
## Input: the CSV written by
##   OBC_BENCH_NORMS_CSV=/tmp/sgpbench OBC_BENCH_NORMS_N=100000,1000000 cargo bench --bench norms
## (columns prior,current; integer scale scores; the same cohort the Rust bench fits).
##
## Usage: Rscript benches/norms_r.R <csv> <method> [taus]
##   method: fn | pfn | br (any rq() method; one rq() call with the taus given,
##           except pfn: see fit_pfn below). Not pfnb: in quantreg 5.94 on this problem
##           it returns NaN coefficients and corrupts R's heap (benches/norms_r.md).
##   taus:   all (default: (1:100 - 0.5)/100) or a comma-separated list, e.g. 0.1,0.5,0.9
## Prints the load average, the design time and the elapsed time of the rq() call
## (system.time, elapsed), and writes the per-tau objective sum(rho_tau(residuals)) to
##   /tmp/sgpbench.R.objective.<n>.csv           (method fn, all 100 taus)
##   /tmp/sgpbench.R.objective.<method>[.<k>taus].<n>.csv  (anything else)
## Figures and method notes: benches/norms_r.md.

suppressPackageStartupMessages({
  library(quantreg)
  library(splines)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript benches/norms_r.R <csv> <method> [taus]")
csv <- args[1]
method <- args[2]
all_taus <- (seq.int(100) - 0.5) / 100
taus <- if (length(args) < 3 || args[3] == "all") all_taus else as.numeric(strsplit(args[3], ",")[[1]])
stopifnot(!anyNA(taus), all(taus > 0 & taus < 1))

d <- read.csv(csv, colClasses = c("numeric", "numeric"))
stopifnot(identical(names(d), c("prior", "current")), !anyNA(d))
n <- nrow(d)
prior <- d$prior

## SGP recipe (tests/fixtures/r/sgp.R; docs/methods.md 1.3-1.5)
knots <- round(quantile(prior, probs = c(0.2, 0.4, 0.6, 0.8), type = 7, names = FALSE), digits = 3)
bnd <- round(extendrange(prior, f = 0.1), digits = 3)
fml <- current ~ bs(prior, knots = knots, Boundary.knots = bnd)

cat(sprintf("file %s  n = %d  method %s  taus %d (%s)\n", csv, n, method, length(taus),
            if (length(taus) == 100 && isTRUE(all.equal(taus, all_taus))) "(1:100 - 0.5)/100"
            else paste(taus, collapse = ",")))
cat(sprintf("knots %s  boundaries %s\n", paste(knots, collapse = " "), paste(bnd, collapse = " ")))
cat("uptime before timing:", system("uptime", intern = TRUE), "\n")

## The design alone (model frame + bs() basis), for reference; rq() below rebuilds it,
## so the rq() time includes it, as for a user calling rq(formula).
t_design <- system.time(X <- model.matrix(fml, data = d))[["elapsed"]]
stopifnot(ncol(X) == 8L)
rm(X)
invisible(gc(verbose = FALSE))

## rq(formula, tau = <vector>, method = "pfn") fails in quantreg 5.94: rq() loops
## rq.fit(X, Y, tau[i], "pfn") and stores z$residuals, which rq.fit.pfn does not return
## ("number of items to replace is not a multiple of replacement length"). So for pfn
## the timed block is exactly that loop without the residual bookkeeping: the design
## from the formula, then rq.fit.pfn for each tau; residuals come after the timer.
fit_pfn <- function() {
  X <- model.matrix(fml, data = d)
  Y <- d$current
  b <- vapply(taus, function(t) rq.fit(X, Y, tau = t, method = "pfn")$coefficients,
              numeric(ncol(X)))
  list(coefficients = matrix(b, ncol(X), dimnames = list(colnames(X), NULL)))
}
set.seed(2026)  # pfn/pfnb/ppro subsample at random
warns <- character()
t_fit <- system.time(
  fit <- withCallingHandlers(
    if (method == "pfn") fit_pfn() else rq(fml, tau = taus, data = d, method = method),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
)
cat(sprintf("design (model.matrix with bs) elapsed %.3f s\n", t_design))
cat(sprintf("rq(method = \"%s\", %d taus) elapsed %.3f s  user %.3f s  system %.3f s  (%.3f s per tau)\n",
            method, length(taus), t_fit[["elapsed"]], t_fit[["user.self"]], t_fit[["sys.self"]],
            t_fit[["elapsed"]] / length(taus)))
if (length(warns)) {
  tw <- table(warns)
  cat("warnings:", paste(sprintf("%s (x%d)", names(tw), as.integer(tw)), collapse = "; "), "\n")
}

rho <- function(u, tau) sum(u * (tau - (u < 0)))
coef <- t(as.matrix(fit$coefficients))  # length(taus) x 8
if (nrow(coef) != length(taus) || ncol(coef) != 8L) stop("unexpected coefficient layout")
res <- fit$residuals
if (is.null(res)) {
  ## pfn/pfnb return coefficients only
  res <- d$current - model.matrix(fml, data = d) %*% t(coef)
}
res <- as.matrix(res)
if (ncol(res) != length(taus)) stop("unexpected residual layout")
objective <- vapply(seq_along(taus), function(k) rho(res[, k], taus[k]), 0)
out <- data.frame(tau = taus, objective = objective, coef)
names(out)[-(1:2)] <- paste0("b", seq_len(ncol(coef)) - 1L)
path <- if (method == "fn" && length(taus) == 100) {
  sprintf("/tmp/sgpbench.R.objective.%d.csv", n)
} else if (length(taus) == 100) {
  sprintf("/tmp/sgpbench.R.objective.%s.%d.csv", method, n)
} else {
  sprintf("/tmp/sgpbench.R.objective.%s.%dtaus.%d.csv", method, length(taus), n)
}
out[] <- lapply(out, function(v) sprintf("%.17g", v))
write.csv(out, path, row.names = FALSE, quote = FALSE)
cat(sprintf("objective: sum over taus %.10g; written to %s (columns tau, objective, b0..b7)\n",
            sum(objective), path))
