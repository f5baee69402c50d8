## R boot timing of the cluster-bootstrap problem that benches/bootstrap.rs times in Rust
## (resample tutor clusters with replacement; 2,000 replicates).
##
## Input: the CSV written by
##   OBC_BENCH_BOOT_CSV=/tmp/bootbench.100000.csv OBC_BENCH_BOOT_N=100000 \
##     OBC_BENCH_BOOT_CLUSTERS=2000 cargo bench --bench bootstrap
## (columns tutor, provider, pre, growth; tutor and provider 1-based; each tutor belongs
## to one provider).
##
## Usage: Rscript benches/bootstrap_r.R <csv> <variant> [R]
##   variant: mean  - (a) mean growth: per-tutor sum and count precomputed, statistic
##                    sum(sum[i]) / sum(count[i]); BCa interval with L = the cluster
##                    jackknife influence (G - 1) * (t0 - t_(-j)). Timed: per-tutor sums +
##                    boot() + jackknife + boot.ci(type = "bca").
##            lm    - (b) coefficient of provider 2's indicator in
##                    growth ~ pre + factor(provider) (provider 1 the reference): each
##                    replicate expands the drawn tutors to their student rows
##                    (unlist(rows_by_tutor[i])) and calls lm.fit(X[rows, ], y[rows]);
##                    percentile interval. Timed: model.matrix + split + boot() + boot.ci.
##            xprod - (b) with per-tutor crossproducts X_g'X_g, X_g'y_g precomputed once
##                    (rowsum over the 11 x 11 column products), summed over the drawn
##                    tutors per replicate and solve()d; percentile interval. Timed:
##                    per-tutor crossproducts + boot() + boot.ci.
##   R:       replicates (default 2000).
## Every variant calls set.seed(1) immediately before boot(). Prints the load average
## (uptime) before the timed block, system.time (user, system, elapsed), t0 and the
## 95% interval endpoints.
## Figures and method notes: benches/bootstrap_r.md.

suppressPackageStartupMessages(library(boot))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript benches/bootstrap_r.R <csv> <mean|lm|xprod> [R]")
csv <- args[1]
variant <- args[2]
reps <- if (length(args) >= 3) as.integer(args[3]) else 2000L
stopifnot(variant %in% c("mean", "lm", "xprod"), !is.na(reps), reps > 1)

d <- read.csv(csv, colClasses = c("integer", "integer", "numeric", "numeric"))
stopifnot(identical(names(d), c("tutor", "provider", "pre", "growth")), !anyNA(d))
n <- nrow(d)
G <- max(d$tutor)
stopifnot(identical(sort(unique(d$tutor)), seq_len(G)))  # every tutor has students
tutors <- seq_len(G)
cat(sprintf("n = %d, G = %d tutors, %d providers, R = %d, variant %s\n",
            n, G, length(unique(d$provider)), reps, variant))

show_ci <- function(ci, type) {
  e <- ci[[type]]
  cat(sprintf("t0 = %.10g; 95%% %s interval: [%.10g, %.10g]\n",
              ci$t0, type, e[1, ncol(e) - 1], e[1, ncol(e)]))
}

cat("uptime before: "); system("uptime")

if (variant == "mean") {
  tm <- system.time({
    s <- rowsum(d$growth, d$tutor, reorder = TRUE)[, 1]
    m <- tabulate(d$tutor, nbins = G)
    stat <- function(data, i) sum(s[i]) / sum(m[i])
    set.seed(1)
    b <- boot(tutors, stat, R = reps)
    t0 <- b$t0
    S <- sum(s); M <- sum(m)
    L <- (G - 1) * (t0 - (S - s) / (M - m))
    ci <- boot.ci(b, conf = 0.95, type = "bca", L = L)
  })
  show_ci(ci, "bca")
} else if (variant == "lm") {
  tm <- system.time({
    X <- model.matrix(~ pre + factor(provider), data = d)
    y <- d$growth
    col <- match("factor(provider)2", colnames(X))
    stopifnot(ncol(X) == 11, !is.na(col))
    rows_by_tutor <- split(seq_len(n), d$tutor)
    stat <- function(data, i) {
      rows <- unlist(rows_by_tutor[i], use.names = FALSE)
      lm.fit(X[rows, , drop = FALSE], y[rows])$coefficients[col]
    }
    set.seed(1)
    b <- boot(tutors, stat, R = reps)
    ci <- boot.ci(b, conf = 0.95, type = "perc")
  })
  show_ci(ci, "percent")
} else {
  tm <- system.time({
    X <- model.matrix(~ pre + factor(provider), data = d)
    y <- d$growth
    p <- ncol(X)
    col <- match("factor(provider)2", colnames(X))
    stopifnot(p == 11, !is.na(col))
    ## row g of XtX: vec(X_g'X_g); row g of Xty: X_g'y_g
    XtX <- rowsum(X[, rep(seq_len(p), p)] * X[, rep(seq_len(p), each = p)], d$tutor, reorder = TRUE)
    Xty <- rowsum(X * y, d$tutor, reorder = TRUE)
    stat <- function(data, i) {
      A <- matrix(colSums(XtX[i, , drop = FALSE]), p, p)
      solve(A, colSums(Xty[i, , drop = FALSE]))[col]
    }
    set.seed(1)
    b <- boot(tutors, stat, R = reps)
    ci <- boot.ci(b, conf = 0.95, type = "perc")
  })
  show_ci(ci, "percent")
}

cat(sprintf("replicates: %d, NA: %d, sd of t*: %.6g\n", nrow(b$t), sum(is.na(b$t)), sd(b$t[, 1])))
cat(sprintf("system.time: user %.2f s, system %.2f s, elapsed %.2f s\n",
            tm[["user.self"]], tm[["sys.self"]], tm[["elapsed"]]))
cat("uptime after: "); system("uptime")
