//! Dense linear algebra for regression: cross products of a column-major design and the
//! Cholesky factorization of symmetric positive-definite `p × p` matrices, with rank checks
//! that name the dependent columns.
//!
//! # Layout
//!
//! A design `x` is a column-major `&[f64]` of length `n · p`: element (row `i`, column `j`)
//! is `x[j * n + i]`. Small square matrices (`p × p`) are row-major `Vec<f64>`; they are
//! symmetric wherever it matters, so the layout rarely shows.
//!
//! # Accuracy
//!
//! Normal equations square the condition number of the design. They are accurate enough
//! for designs of centred covariates and indicators (the value-added models), and they are
//! what makes `1,000,000 × 50` fast. [`Cholesky::new`] refuses a matrix whose pivot falls
//! below `tol` times the original diagonal entry (default `1e-10`, i.e. the column's
//! remaining norm below `1e-5` of its own, relative), and names that column.
//!
//! # Determinism
//!
//! [`gram`] sums rows in fixed blocks of [`BLOCK`] rows and adds the block results in
//! order, whatever the number of threads, so results are bit-identical across machines
//! with the same floating-point arithmetic.

use thiserror::Error;

/// Rows per block in [`gram`].
pub const BLOCK: usize = 4096;

/// Why a factorization or solve failed.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum LinalgError {
    #[error(
        "matrix is not positive definite: column {column} is (numerically) a linear combination of earlier columns"
    )]
    NotPositiveDefinite { column: usize },
    #[error("{what} has length {got}, expected {expected}")]
    Shape { what: &'static str, expected: usize, got: usize },
    #[error("non-finite value in {what}")]
    NonFinite { what: &'static str },
}

/// `X'X` (row-major `p × p`, both triangles) and `X'y` for a column-major design, computed
/// blockwise over rows (see the module documentation) on up to `available_parallelism`
/// threads.
pub fn gram(x: &[f64], n: usize, p: usize, y: &[f64]) -> Result<(Vec<f64>, Vec<f64>), LinalgError> {
    if x.len() != n * p {
        return Err(LinalgError::Shape { what: "x", expected: n * p, got: x.len() });
    }
    if y.len() != n {
        return Err(LinalgError::Shape { what: "y", expected: n, got: y.len() });
    }
    let blocks = n.div_ceil(BLOCK).max(1);
    let one_block = |b: usize| -> Vec<f64> {
        // lower triangle of X_b'X_b (p(p+1)/2) then X_b'y (p)
        let lo = b * BLOCK;
        let hi = ((b + 1) * BLOCK).min(n);
        let mut acc = vec![0.0; p * (p + 1) / 2 + p];
        let mut k = 0;
        for j in 0..p {
            let cj = &x[j * n + lo..j * n + hi];
            for l in 0..=j {
                let cl = &x[l * n + lo..l * n + hi];
                acc[k] = dot(cj, cl);
                k += 1;
            }
        }
        for j in 0..p {
            acc[k + j] = dot(&x[j * n + lo..j * n + hi], &y[lo..hi]);
        }
        acc
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(blocks);
    let partials: Vec<Vec<f64>> = if threads <= 1 {
        (0..blocks).map(one_block).collect()
    } else {
        let per = blocks.div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let one_block = &one_block;
                    s.spawn(move || ((t * per)..((t + 1) * per).min(blocks)).map(one_block).collect::<Vec<_>>())
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("gram thread panicked")).collect()
        })
    };
    let mut total = vec![0.0; p * (p + 1) / 2 + p];
    for part in &partials {
        for (t, v) in total.iter_mut().zip(part) {
            *t += v;
        }
    }
    let mut xtx = vec![0.0; p * p];
    let mut k = 0;
    for j in 0..p {
        for l in 0..=j {
            xtx[j * p + l] = total[k];
            xtx[l * p + j] = total[k];
            k += 1;
        }
    }
    let xty = total[k..].to_vec();
    if xtx.iter().chain(&xty).any(|v| !v.is_finite()) {
        return Err(LinalgError::NonFinite { what: "X'X or X'y (check the inputs)" });
    }
    Ok((xtx, xty))
}

/// Dot product with four independent accumulators (vectorizes; fixed order).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0f64; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        for k in 0..4 {
            s[k] += a[4 * c + k] * b[4 * c + k];
        }
    }
    let mut tail = 0.0;
    for i in 4 * chunks..a.len() {
        tail += a[i] * b[i];
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

/// Lower Cholesky factor `L` (`A = L L'`) of a symmetric positive-definite `p × p` matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Cholesky {
    p: usize,
    /// Row-major, lower triangle used.
    l: Vec<f64>,
}

impl Cholesky {
    /// Factors `a` (row-major `p × p`, lower triangle read) with relative pivot tolerance
    /// `1e-10` (see the module documentation).
    pub fn new(a: &[f64], p: usize) -> Result<Cholesky, LinalgError> {
        Self::with_tolerance(a, p, 1e-10)
    }

    /// [`new`](Self::new) with pivot `d_j` refused when `d_j <= tol · a_jj`.
    pub fn with_tolerance(a: &[f64], p: usize, tol: f64) -> Result<Cholesky, LinalgError> {
        if a.len() != p * p {
            return Err(LinalgError::Shape { what: "matrix", expected: p * p, got: a.len() });
        }
        if a.iter().any(|v| !v.is_finite()) {
            return Err(LinalgError::NonFinite { what: "matrix" });
        }
        let mut l = vec![0.0; p * p];
        for j in 0..p {
            for k in 0..=j {
                let mut sum = a[j * p + k];
                for t in 0..k {
                    sum -= l[j * p + t] * l[k * p + t];
                }
                if k == j {
                    if sum.is_nan() || sum <= tol * a[j * p + j] || a[j * p + j] <= 0.0 {
                        return Err(LinalgError::NotPositiveDefinite { column: j });
                    }
                    l[j * p + j] = sum.sqrt();
                } else {
                    l[j * p + k] = sum / l[k * p + k];
                }
            }
        }
        Ok(Cholesky { p, l })
    }

    pub fn dim(&self) -> usize {
        self.p
    }

    /// Solves `A u = b` in place.
    pub fn solve_in_place(&self, b: &mut [f64]) {
        let (p, l) = (self.p, &self.l);
        for j in 0..p {
            let mut sum = b[j];
            for k in 0..j {
                sum -= l[j * p + k] * b[k];
            }
            b[j] = sum / l[j * p + j];
        }
        for j in (0..p).rev() {
            let mut sum = b[j];
            for k in (j + 1)..p {
                sum -= l[k * p + j] * b[k];
            }
            b[j] = sum / l[j * p + j];
        }
    }

    /// `A^{-1} b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let mut u = b.to_vec();
        self.solve_in_place(&mut u);
        u
    }

    /// `A^{-1}` (row-major, symmetric).
    pub fn inverse(&self) -> Vec<f64> {
        let p = self.p;
        let mut inv = vec![0.0; p * p];
        let mut e = vec![0.0; p];
        for j in 0..p {
            e.fill(0.0);
            e[j] = 1.0;
            self.solve_in_place(&mut e);
            for i in 0..p {
                inv[i * p + j] = e[i];
            }
        }
        // symmetrize the rounding
        for i in 0..p {
            for j in 0..i {
                let m = 0.5 * (inv[i * p + j] + inv[j * p + i]);
                inv[i * p + j] = m;
                inv[j * p + i] = m;
            }
        }
        inv
    }

    /// `log det A = 2 Σ log L_jj`.
    pub fn log_det(&self) -> f64 {
        (0..self.p).map(|j| self.l[j * self.p + j].ln()).sum::<f64>() * 2.0
    }
}

/// `A B` for row-major `m × k` and `k × n` matrices.
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for t in 0..k {
            let ait = a[i * k + t];
            if ait == 0.0 {
                continue;
            }
            for j in 0..n {
                c[i * n + j] += ait * b[t * n + j];
            }
        }
    }
    c
}

/// The sandwich `B M B` for symmetric row-major `p × p` matrices `B` (bread) and `M` (meat).
pub fn sandwich(bread: &[f64], meat: &[f64], p: usize) -> Vec<f64> {
    let bm = matmul(bread, meat, p, p, p);
    let mut v = matmul(&bm, bread, p, p, p);
    for i in 0..p {
        for j in 0..i {
            let m = 0.5 * (v[i * p + j] + v[j * p + i]);
            v[i * p + j] = m;
            v[j * p + i] = m;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design() -> (Vec<f64>, usize, usize, Vec<f64>) {
        // n = 10_000 (several blocks), p = 3: 1, t, sin(t)
        let n = 10_000;
        let t: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
        let mut x = vec![1.0; n];
        x.extend(&t);
        x.extend(t.iter().map(|v| (7.0 * v).sin()));
        let y: Vec<f64> =
            (0..n).map(|i| 2.0 - 3.0 * t[i] + 0.5 * (7.0 * t[i]).sin() + 0.01 * ((i * 37 % 11) as f64 - 5.0)).collect();
        (x, n, 3, y)
    }

    #[test]
    fn gram_equals_direct_sums_and_solves_least_squares() {
        let (x, n, p, y) = design();
        let (xtx, xty) = gram(&x, n, p, &y).unwrap();
        for j in 0..p {
            for l in 0..p {
                let direct: f64 = (0..n).map(|i| x[j * n + i] * x[l * n + i]).sum();
                assert!((xtx[j * p + l] - direct).abs() <= 1e-12 * direct.abs().max(1.0));
            }
            let direct: f64 = (0..n).map(|i| x[j * n + i] * y[i]).sum();
            assert!((xty[j] - direct).abs() <= 1e-12 * direct.abs().max(1.0));
        }
        let c = Cholesky::new(&xtx, p).unwrap();
        let b = c.solve(&xty);
        // residuals orthogonal to every column
        for j in 0..p {
            let r: f64 = (0..n).map(|i| x[j * n + i] * (y[i] - (0..p).map(|k| x[k * n + i] * b[k]).sum::<f64>())).sum();
            assert!(r.abs() < 1e-8, "column {j}: X'r = {r}");
        }
        assert!((b[0] - 2.0).abs() < 0.01 && (b[1] + 3.0).abs() < 0.01 && (b[2] - 0.5).abs() < 0.01, "{b:?}");
        let inv = c.inverse();
        let id = matmul(&inv, &xtx, p, p, p);
        for i in 0..p {
            for j in 0..p {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((id[i * p + j] - want).abs() < 1e-9, "({i},{j}) = {}", id[i * p + j]);
            }
        }
    }

    #[test]
    fn collinear_column_is_named() {
        let (mut x, n, p, y) = design();
        // column 2 := 2 * column 1 - 3 * column 0
        for i in 0..n {
            x[2 * n + i] = 2.0 * x[n + i] - 3.0;
        }
        let (xtx, _) = gram(&x, n, p, &y).unwrap();
        assert_eq!(Cholesky::new(&xtx, p), Err(LinalgError::NotPositiveDefinite { column: 2 }));
        let zero = vec![0.0; 4];
        assert_eq!(Cholesky::new(&zero, 2), Err(LinalgError::NotPositiveDefinite { column: 0 }));
    }

    #[test]
    fn log_det_and_sandwich() {
        let a = vec![4.0, 2.0, 2.0, 3.0];
        let c = Cholesky::new(&a, 2).unwrap();
        assert!((c.log_det() - 8f64.ln()).abs() < 1e-15);
        let inv = c.inverse();
        // B A B with B = A^{-1} is A^{-1}
        let v = sandwich(&inv, &a, 2);
        for (u, w) in v.iter().zip(&inv) {
            assert!((u - w).abs() < 1e-15);
        }
    }
}
