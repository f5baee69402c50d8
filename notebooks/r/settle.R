#!/usr/bin/env Rscript
# Re-derive an obc settlement's payment table in R, and draw each provider's metric against
# the contract's tiers.
#
#   Rscript notebooks/r/settle.R RESULTS_DIR [OUT_DIR]
#
# RESULTS_DIR is the --out folder of `obc check CONTRACT.toml --out RESULTS_DIR` (a settlement,
# not a midpoint review). The script reads results.json (the contract's payment terms, tiers and
# totals), providers.csv (public, one row per provider) and audit.csv (restricted: one row per
# student), recomputes every provider's base, outcome payment, penalty, cap and payable amount
# from the students' rows, and stops with an error if any differs from what obc published by
# more than half a cent. It writes to OUT_DIR (default: RESULTS_DIR/../r-check):
#   payments.csv   the payment table, one row per provider, with a cap_binding flag;
#   metric.png     each provider's metric with its interval, and the tiers' thresholds.
# Nothing is written into RESULTS_DIR, so `obc verify RESULTS_DIR` still passes.
#
# Needs R (r-base-core) and jsonlite (r-cran-jsonlite), both Debian packages; the README section
# "Notebooks and R" says how payments are computed (docs/contracts.md has the rules).

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1 || length(args) > 2) {
  stop("usage: Rscript settle.R RESULTS_DIR [OUT_DIR]", call. = FALSE)
}
results_dir <- normalizePath(args[1], mustWork = TRUE)
out_dir <- if (length(args) == 2) args[2] else file.path(dirname(results_dir), "r-check")
if (normalizePath(out_dir, mustWork = FALSE) == results_dir) {
  stop("OUT_DIR must differ from RESULTS_DIR (obc's outputs are listed in its manifest)", call. = FALSE)
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

suppressPackageStartupMessages(library(jsonlite))

results <- fromJSON(file.path(results_dir, "results.json"), simplifyVector = FALSE)
if (!is.null(results$midpoint)) {
  stop("results.json is a midpoint review (obc check --as-of): nothing is payable, there is no payment table to check",
       call. = FALSE)
}
terms <- results$manifest$spec$payment
tiers <- results$manifest$spec$thresholds
tier_names <- vapply(tiers, function(t) t$name, "")
tier_values <- vapply(tiers, function(t) t$value, 0)

# IDs are text: read every ID column as character, so 000123 stays 000123.
providers <- read.csv(file.path(results_dir, "providers.csv"), check.names = FALSE,
                      colClasses = c(provider = "character", tier_reached = "character"),
                      na.strings = "")
audit <- read.csv(file.path(results_dir, "audit.csv"), check.names = FALSE,
                  colClasses = c(student_id = "character", provider_id = "character",
                                 tutor_id = "character", school_id = "character"),
                  na.strings = "")

# Per provider, the students' contributions (audit.csv) add up to the payment before the cap.
tutored <- audit[!is.na(audit$provider_id), ]
sums <- aggregate(cbind(base, outcome_payment, penalty, contribution) ~ provider_id,
                  data = tutored, FUN = sum)
names(sums)[1] <- "provider"
table <- merge(providers[, c("provider", "served", "counted", "tier_reached", "base",
                             "outcome_payment", "penalty", "before_cap", "payable")],
               sums, by = "provider", suffixes = c("", "_students"), all.x = TRUE, sort = FALSE)
table <- table[match(providers$provider, table$provider), ]
for (col in c("base_students", "outcome_payment_students", "penalty_students", "contribution")) {
  table[[col]][is.na(table[[col]])] <- 0
}

cap <- if (is.null(terms$cap)) Inf else terms$cap
table$before_cap_r <- pmax(0, table$base_students + table$outcome_payment_students - table$penalty_students)
table$payable_r <- pmin(cap, table$before_cap_r)
table$cap_binding <- table$before_cap_r > cap

check <- function(what, published, mine) {
  bad <- abs(published - mine) > 0.005
  if (any(bad)) {
    stop(sprintf("%s differs for %s: obc %s, R %s", what, paste(table$provider[bad], collapse = ", "),
                 paste(published[bad], collapse = ", "), paste(mine[bad], collapse = ", ")), call. = FALSE)
  }
}
check("base", table$base, table$base_students)
check("outcome payment", table$outcome_payment, table$outcome_payment_students)
check("penalty", table$penalty, table$penalty_students)
check("payment before the cap", table$before_cap, table$before_cap_r)
check("payable", table$payable, table$payable_r)
if ("cap_binding" %in% names(providers)) {
  published <- tolower(as.character(providers$cap_binding[match(table$provider, providers$provider)])) == "true"
  bad <- published != table$cap_binding
  if (any(bad)) stop(sprintf("cap_binding differs for %s", paste(table$provider[bad], collapse = ", ")), call. = FALSE)
}
totals <- results$settlement$totals
check("total payable", totals$payable, sum(table$payable_r))

payments <- data.frame(
  provider = table$provider,
  served = table$served,
  counted = table$counted,
  tier_reached = ifelse(is.na(table$tier_reached), "none", table$tier_reached),
  base = round(table$base_students, 2),
  outcome_payment = round(table$outcome_payment_students, 2),
  penalty = round(table$penalty_students, 2),
  before_cap = round(table$before_cap_r, 2),
  cap_binding = table$cap_binding,
  payable = round(table$payable_r, 2)
)
write.csv(payments, file.path(out_dir, "payments.csv"), row.names = FALSE)
print(payments, row.names = FALSE)
cat(sprintf("total payable %.2f (obc: %.2f); every provider's payment re-derived from audit.csv\n",
            sum(payments$payable), totals$payable))

# One figure: each provider's metric with its interval, and the tiers' thresholds.
has_metric <- !is.na(providers$metric)
png(file.path(out_dir, "metric.png"), width = 900, height = 120 + 45 * sum(has_metric), res = 110)
op <- par(mar = c(4.5, 5, 4, 1))
shown <- providers[has_metric, ]
y <- rev(seq_len(nrow(shown)))
xlim <- range(c(shown$ci_low, shown$ci_high, tier_values), na.rm = TRUE)
plot(shown$metric, y, xlim = xlim + c(-0.02, 0.02), ylim = c(0.5, nrow(shown) + 0.5), yaxt = "n", pch = 19,
     xlab = sprintf("%s (%s %.0f%% interval)", results$metric, shown$interval[1], 100 * shown$level[1]),
     ylab = "", main = "Provider metric against the contract's tiers")
axis(2, at = y, labels = shown$provider, las = 1)
segments(shown$ci_low, y, shown$ci_high, y, lwd = 2)
abline(v = tier_values, lty = seq_along(tier_values) + 1, col = "grey40")
# each tier is named above its line, on the top axis
axis(3, at = tier_values, labels = sprintf("%s (%.2f)", tier_names, tier_values), tick = FALSE, line = -0.6,
     cex.axis = 0.8)
par(op)
invisible(dev.off())
cat(sprintf("wrote %s and %s\n", file.path(out_dir, "payments.csv"), file.path(out_dir, "metric.png")))
