//! Dense linear algebra for regression: cross products of a column-major design, the
//! Cholesky factorization of symmetric positive-definite `p × p` matrices, and Householder
//! QR least squares, with rank checks that name the dependent columns.
//!
//! # Layout
//!
//! A design `x` is a column-major `&[f64]` of length `n · p`: element (row `i`, column `j`)
//! is `x[j * n + i]`. Small square matrices (`p × p`) are row-major `Vec<f64>`; they are
//! symmetric wherever it matters, so the layout rarely shows (the QR factor `R` is upper
//! triangular and row-major).
//!
//! # Two ways to least squares
//!
//! - **Normal equations** ([`gram`] then [`Cholesky`]): `X'X b = X'y`, `n p²` flops for
//!   `X'X` (half of it by symmetry), then `O(p³)`. They square the condition number of the
//!   design: accurate enough for designs of centred covariates and indicators (the
//!   value-added models), and what makes `1,000,000 × 50` fast. [`Cholesky::new`] refuses
//!   a matrix whose pivot falls below `tol` times the original diagonal entry (default
//!   `1e-10`, i.e. the column's remaining norm below `1e-5` of its own, relative), and
//!   names that column.
//! - **Householder QR** ([`qr_lstsq`], [`HouseholderQr`]): `X = QR` by Householder
//!   reflections applied column by column in the given order (Golub and Van Loan 2013,
//!   *Matrix Computations*, 4th ed., algorithm 5.2.1 and section 5.3.3), about `2 n p²`
//!   flops, `n p` memory (a copy of `X`; `Q` is kept as its reflectors, never formed). The
//!   error of the coefficients grows with `κ(X)`, not `κ(X)²`: use it for spline bases and
//!   other ill-conditioned designs.
//!
//! # Rank rule (as R's `qr()`)
//!
//! The QR applies R's rule (LINPACK `dqrdc2`, `tol = 1e-7`, see [`QR_RANK_TOL`]) with the
//! columns in their given order: a column whose norm, after removing its projection on the
//! earlier accepted columns, is below `1e-7` times its original norm is dependent; it gets
//! no reflector and later columns are projected on the accepted ones only.
//! [`LinalgError::Collinear`] names all dependent columns. R's `dqrdc2` moves a dependent
//! column to the end and carries on; the set of columns it flags is the same.
//!
//! # Determinism
//!
//! [`gram`] splits the rows into fixed blocks of [`BLOCK`] rows. Within a block, entry
//! `(j, l)` is `dot(x_j, x_l)` over the block's rows exactly as [`dot`] computes it (four
//! running sums over rows `i ≡ 0, 1, 2, 3 (mod 4)` counted from the block start, combined
//! as `(s0 + s1) + (s2 + s3)`, then the leftover rows in order). The block results are
//! added in block order. The register and cache tiling inside a block and the number of
//! threads do not change any of these operations, so results are bit-identical for any
//! thread count and across machines with the same floating-point arithmetic (no fused
//! multiply-add is used). [`HouseholderQr`] is computed the same way for any thread count:
//! threads split the columns a reflector is applied to, never a sum.

use thiserror::Error;

/// Rows per block in [`gram`]: the unit whose partial sums are added in order.
pub const BLOCK: usize = 8192;

/// Rows per panel inside a block of [`gram`] (cache tiling only: `p + 1` columns of a panel
/// stay in the level-2 cache; results do not depend on it).
const PANEL: usize = 256;

/// R's `qr()` rank tolerance (`tol = 1e-7`, LINPACK `dqrdc2`), used by [`HouseholderQr`].
pub const QR_RANK_TOL: f64 = 1e-7;

/// Why a factorization or solve failed.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum LinalgError {
    #[error(
        "matrix is not positive definite: column {column} is (numerically) a linear combination of earlier columns"
    )]
    NotPositiveDefinite { column: usize },
    #[error(
        "design is rank deficient: column(s) {columns:?} are (numerically) linear combinations of earlier columns \
         (remaining norm below 1e-7 of their own, R's qr() rule)"
    )]
    Collinear { columns: Vec<usize> },
    #[error("{what} has length {got}, expected {expected}")]
    Shape { what: &'static str, expected: usize, got: usize },
    #[error("non-finite value in {what}")]
    NonFinite { what: &'static str },
}

/// `X'X` (row-major `p × p`, both triangles) and `X'y` for a column-major design, computed
/// blockwise over rows (see the module documentation) on up to `available_parallelism`
/// threads.
pub fn gram(x: &[f64], n: usize, p: usize, y: &[f64]) -> Result<(Vec<f64>, Vec<f64>), LinalgError> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    gram_with_threads(x, n, p, y, threads)
}

/// [`gram`] on at most `threads` threads (0 and 1 both mean the calling thread only). The
/// result does not depend on `threads` (module documentation, "Determinism").
pub fn gram_with_threads(
    x: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    threads: usize,
) -> Result<(Vec<f64>, Vec<f64>), LinalgError> {
    if x.len() != n * p {
        return Err(LinalgError::Shape { what: "x", expected: n * p, got: x.len() });
    }
    if y.len() != n {
        return Err(LinalgError::Shape { what: "y", expected: n, got: y.len() });
    }
    // The columns of [X y]: X'X and X'y are the lower triangle of its cross product.
    let q = p + 1;
    let cols: Vec<&[f64]> = (0..p).map(|j| &x[j * n..(j + 1) * n]).chain([y]).collect();
    let blocks = n.div_ceil(BLOCK).max(1);
    let one_block = |b: usize| block_cross_product(&cols, b * BLOCK, ((b + 1) * BLOCK).min(n));
    let threads = threads.clamp(1, blocks);
    let partials: Vec<Vec<f64>> = if threads == 1 {
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
    let mut total = vec![0.0; q * (q + 1) / 2];
    for part in &partials {
        for (t, v) in total.iter_mut().zip(part) {
            *t += v;
        }
    }
    // packed lower triangle, row j holds (j, 0..=j)
    let packed = |j: usize, l: usize| total[j * (j + 1) / 2 + l];
    let mut xtx = vec![0.0; p * p];
    for j in 0..p {
        for l in 0..=j {
            xtx[j * p + l] = packed(j, l);
            xtx[l * p + j] = packed(j, l);
        }
    }
    let xty: Vec<f64> = (0..p).map(|l| packed(p, l)).collect();
    if xtx.iter().chain(&xty).any(|v| !v.is_finite()) {
        return Err(LinalgError::NonFinite { what: "X'X or X'y (check the inputs)" });
    }
    Ok((xtx, xty))
}

/// Lower triangle (packed by rows) of the cross product of `cols` over rows `lo..hi`; entry
/// `(j, l)` equals `dot(&cols[j][lo..hi], &cols[l][lo..hi])` bit for bit.
///
/// The register tile is `2 × 2` columns (times four rows) with SSE2, whose 16 registers hold
/// two doubles, and `4 × 2` where the CPU has AVX (16 registers of four doubles), which is
/// about three times faster at `p = 50`. Both do the same multiplications and additions in
/// the same order (AVX without fused multiply-add), so the results are identical.
fn block_cross_product(cols: &[&[f64]], lo: usize, hi: usize) -> Vec<f64> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX, checked just above.
        return unsafe { block_cross_product_avx(cols, lo, hi) };
    }
    block_cross_product_tiled::<2, 2>(cols, lo, hi)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn block_cross_product_avx(cols: &[&[f64]], lo: usize, hi: usize) -> Vec<f64> {
    block_cross_product_tiled::<4, 2>(cols, lo, hi)
}

/// [`block_cross_product`] with a `TJ × TL` register tile.
#[inline(always)]
fn block_cross_product_tiled<const TJ: usize, const TL: usize>(cols: &[&[f64]], lo: usize, hi: usize) -> Vec<f64> {
    let q = cols.len();
    let main = (hi - lo) / 4 * 4;
    // four running sums (rows i ≡ 0..3 mod 4 from lo) per entry (j, l), row-major q × q
    let mut lanes = vec![[0.0f64; 4]; q * q];
    for start in (0..main).step_by(PANEL) {
        let (r0, r1) = (lo + start, lo + (start + PANEL).min(main));
        for j0 in (0..q).step_by(TJ) {
            for l0 in (0..(j0 + TJ).min(q)).step_by(TL) {
                tile::<TJ, TL>(cols, j0, l0, r0, r1, &mut lanes);
            }
        }
    }
    let mut out = Vec::with_capacity(q * (q + 1) / 2);
    for j in 0..q {
        for l in 0..=j {
            let s = lanes[j * q + l];
            let mut tail = 0.0;
            for (a, b) in cols[j][lo + main..hi].iter().zip(&cols[l][lo + main..hi]) {
                tail += a * b;
            }
            out.push((s[0] + s[1]) + (s[2] + s[3]) + tail);
        }
    }
    out
}

/// Adds rows `r0..r1` (a multiple of 4 of them) of columns `j0..j0 + TJ` times columns
/// `l0..l0 + TL` to their running sums. Columns past the end are stood in for by the last
/// column and their sums discarded.
#[inline(always)]
fn tile<const TJ: usize, const TL: usize>(
    cols: &[&[f64]],
    j0: usize,
    l0: usize,
    r0: usize,
    r1: usize,
    lanes: &mut [[f64; 4]],
) {
    let q = cols.len();
    let chunks = |j: usize| cols[j.min(q - 1)][r0..r1].as_chunks::<4>().0;
    let m = (r1 - r0) / 4;
    let xj: [&[[f64; 4]]; TJ] = std::array::from_fn(|a| &chunks(j0 + a)[..m]);
    let xl: [&[[f64; 4]]; TL] = std::array::from_fn(|b| &chunks(l0 + b)[..m]);
    let valid = |a: usize, b: usize| j0 + a < q && l0 + b < q;
    let mut acc = [[[0.0f64; 4]; TL]; TJ];
    for (a, row) in acc.iter_mut().enumerate() {
        for (b, s) in row.iter_mut().enumerate() {
            if valid(a, b) {
                *s = lanes[(j0 + a) * q + l0 + b];
            }
        }
    }
    for c in 0..m {
        let vj: [[f64; 4]; TJ] = std::array::from_fn(|a| xj[a][c]);
        let vl: [[f64; 4]; TL] = std::array::from_fn(|b| xl[b][c]);
        for a in 0..TJ {
            for b in 0..TL {
                for r in 0..4 {
                    acc[a][b][r] += vj[a][r] * vl[b][r];
                }
            }
        }
    }
    for (a, row) in acc.iter().enumerate() {
        for (b, s) in row.iter().enumerate() {
            if valid(a, b) {
                lanes[(j0 + a) * q + l0 + b] = *s;
            }
        }
    }
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
        cholesky_solve_in_place(&self.l, self.p, b);
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

/// Solves `L L' u = b` in place for a lower-triangular `L` (row-major `p × p`, upper
/// triangle ignored): forward substitution with `L`, then back substitution with `L'`.
pub fn cholesky_solve_in_place(l: &[f64], p: usize, b: &mut [f64]) {
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

/// `(L L')^{-1} = L^{-T} L^{-1}` (row-major, symmetric) for a lower-triangular `L` with a
/// nonzero diagonal (row-major `p × p`, upper triangle ignored): `L^{-1}` column by column
/// by forward substitution, then the product, which is symmetric by construction.
pub fn inverse_from_lower(l: &[f64], p: usize) -> Vec<f64> {
    let mut li = vec![0.0; p * p];
    for j in 0..p {
        li[j * p + j] = 1.0 / l[j * p + j];
        for i in j + 1..p {
            let s: f64 = (j..i).map(|k| l[i * p + k] * li[k * p + j]).sum();
            li[i * p + j] = -s / l[i * p + i];
        }
    }
    let mut inv = vec![0.0; p * p];
    for a in 0..p {
        for b in 0..=a {
            let s: f64 = (a..p).map(|k| li[k * p + a] * li[k * p + b]).sum();
            inv[a * p + b] = s;
            inv[b * p + a] = s;
        }
    }
    inv
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

/// Householder QR of a column-major `n × p` design with R's rank rule (module
/// documentation): `X P = Q R` where `P` only drops the dependent columns, keeping the
/// order of the rest.
///
/// Storage follows LAPACK: the factored copy of `X` keeps, in the column of the `k`-th
/// accepted design column, `R`'s column above and on the diagonal (rows `0..=k`) and the
/// reflector `v_k` below it (`v_k[k] = 1` implicit), with `H_k = I − τ_k v_k v_k'`.
#[derive(Clone, Debug, PartialEq)]
pub struct HouseholderQr {
    a: Vec<f64>,
    n: usize,
    p: usize,
    /// Accepted design columns in order; `cols[k]` holds reflector `k`.
    cols: Vec<usize>,
    tau: Vec<f64>,
    dependent: Vec<usize>,
}

impl HouseholderQr {
    /// Factors `x` (column-major `n × p`, taken by value and overwritten). Columns are
    /// processed in order; the reflector of each accepted column is applied to all later
    /// columns, four columns per pass over the rows, in the same pass as the next
    /// reflector's dot products, and split over threads when the design is large. The
    /// arithmetic of each column is that of the plain algorithm (Golub and Van Loan 5.2.1,
    /// one reflector at a time), whatever the grouping and the threads.
    pub fn new(x: Vec<f64>, n: usize, p: usize) -> Result<HouseholderQr, LinalgError> {
        if x.len() != n * p {
            return Err(LinalgError::Shape { what: "x", expected: n * p, got: x.len() });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(LinalgError::NonFinite { what: "x" });
        }
        let mut a = x;
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        let original: Vec<f64> = (0..p).map(|j| norm2(&a[j * n..(j + 1) * n])).collect();
        let (mut cols, mut tau, mut dependent) = (Vec::with_capacity(p), Vec::with_capacity(p), Vec::new());
        // The last reflector reaches the later columns lazily: its `f = τ v'c` for each of them
        // is computed when it is formed, the update `c ← c − f v` is done in the same pass
        // over the rows as the next reflector's dot products (or when the column is next).
        let mut f_last = vec![0.0; p];
        for j in 0..p {
            let k = cols.len();
            let (head, rest) = a.split_at_mut((j + 1) * n);
            let (done, c) = head.split_at_mut(j * n);
            if let Some(&jl) = cols.last() {
                // bring column j up to date with reflector k − 1
                c[k - 1] -= f_last[j];
                axpy(-f_last[j], &done[jl * n + k..(jl + 1) * n], &mut c[k..]);
            }
            let remaining = if k < n { norm2(&c[k..]) } else { 0.0 };
            if original[j] == 0.0 || remaining < QR_RANK_TOL * original[j] {
                dependent.push(j);
                continue;
            }
            // H c = beta e_k with beta opposite in sign to c[k] (no cancellation in c[k] − beta);
            // v = (c − beta e_k)/(c[k] − beta), tau = (beta − c[k])/beta (LAPACK dlarfg).
            let alpha = c[k];
            let beta = if alpha < 0.0 { remaining } else { -remaining };
            let scale = 1.0 / (alpha - beta);
            for v in &mut c[k + 1..] {
                *v *= scale;
            }
            c[k] = beta;
            let t = (beta - alpha) / beta;
            let last = cols.last().map(|&jl| &done[jl * n + k..(jl + 1) * n]);
            apply_reflector(last, &c[k + 1..], t, k, n, rest, &mut f_last[j + 1..], threads);
            cols.push(j);
            tau.push(t);
        }
        Ok(HouseholderQr { a, n, p, cols, tau, dependent })
    }

    /// Rows and columns of the design.
    pub fn shape(&self) -> (usize, usize) {
        (self.n, self.p)
    }

    /// Number of accepted (independent) columns.
    pub fn rank(&self) -> usize {
        self.cols.len()
    }

    /// The dependent columns, in increasing order (empty for a full-rank design).
    pub fn dependent(&self) -> &[usize] {
        &self.dependent
    }

    /// `Q'y` (length `n`): its first `rank` entries are the coordinates of the fitted values
    /// in the accepted columns' basis, the sum of squares of the rest is the residual sum of
    /// squares.
    pub fn qt_y(&self, y: &[f64]) -> Result<Vec<f64>, LinalgError> {
        if y.len() != self.n {
            return Err(LinalgError::Shape { what: "y", expected: self.n, got: y.len() });
        }
        let n = self.n;
        let mut z = y.to_vec();
        for (k, (&j, &t)) in self.cols.iter().zip(&self.tau).enumerate() {
            let v = &self.a[j * n + k + 1..(j + 1) * n];
            let f = t * (z[k] + dot(v, &z[k + 1..]));
            z[k] -= f;
            axpy(-f, v, &mut z[k + 1..]);
        }
        Ok(z)
    }

    /// Least-squares coefficients of `y` on the design; [`LinalgError::Collinear`] when the
    /// design is rank deficient.
    pub fn solve(&self, y: &[f64]) -> Result<Vec<f64>, LinalgError> {
        self.full_rank()?;
        let z = self.qt_y(y)?;
        let mut b = z[..self.p].to_vec();
        self.back_substitute(&mut b);
        Ok(b)
    }

    /// `R` (row-major `p × p`, upper triangular; its diagonal has the signs the reflectors
    /// give, which may be negative). [`LinalgError::Collinear`] when rank deficient.
    pub fn r(&self) -> Result<Vec<f64>, LinalgError> {
        self.full_rank()?;
        let (n, p) = (self.n, self.p);
        let mut r = vec![0.0; p * p];
        for j in 0..p {
            for i in 0..=j {
                r[i * p + j] = self.a[j * n + i];
            }
        }
        Ok(r)
    }

    /// `(X'X)^{-1} = R^{-1} R^{-T}` (row-major, symmetric), without forming `X'X`.
    pub fn xtx_inverse(&self) -> Result<Vec<f64>, LinalgError> {
        let (r, p) = (self.r()?, self.p);
        // X'X = R'R = L L' with L = R'
        let l: Vec<f64> = (0..p * p).map(|e| r[(e % p) * p + e / p]).collect();
        Ok(inverse_from_lower(&l, p))
    }

    fn full_rank(&self) -> Result<(), LinalgError> {
        if self.dependent.is_empty() { Ok(()) } else { Err(LinalgError::Collinear { columns: self.dependent.clone() }) }
    }

    /// `b ← R^{-1} b` (full rank).
    fn back_substitute(&self, b: &mut [f64]) {
        let (n, p) = (self.n, self.p);
        for i in (0..p).rev() {
            let mut s = b[i];
            for (j, bj) in b.iter().enumerate().skip(i + 1) {
                s -= self.a[j * n + i] * bj;
            }
            b[i] = s / self.a[i * n + i];
        }
    }
}

/// For every column `c` of `rest` (consecutive columns of length `n`): finishes the previous
/// reflector, `c ← c − f_c (1, last)` on rows `k − 1..n` with `f_c` read from `f`, then
/// computes the new reflector's `f_c = t (c[k] + dot(tail, c[k+1..]))` into `f`. Four columns
/// per pass over the rows, on up to `threads` threads when the work is large.
#[allow(clippy::too_many_arguments)]
fn apply_reflector(
    last: Option<&[f64]>,
    tail: &[f64],
    t: f64,
    k: usize,
    n: usize,
    rest: &mut [f64],
    f: &mut [f64],
    threads: usize,
) {
    if rest.is_empty() {
        return;
    }
    let work = (n - k) * (rest.len() / n);
    let mut groups: Vec<(&mut [f64], &mut [f64])> = rest.chunks_mut(4 * n).zip(f.chunks_mut(4)).collect();
    let apply = |(g, f): &mut (&mut [f64], &mut [f64])| match f.len() {
        4 => reflect_columns::<4>(last, tail, t, k, n, g, f),
        3 => reflect_columns::<3>(last, tail, t, k, n, g, f),
        2 => reflect_columns::<2>(last, tail, t, k, n, g, f),
        _ => reflect_columns::<1>(last, tail, t, k, n, g, f),
    };
    let threads = threads.clamp(1, groups.len());
    if threads == 1 || work < 1 << 18 {
        groups.iter_mut().for_each(apply);
    } else {
        let per = groups.len().div_ceil(threads);
        std::thread::scope(|s| {
            for part in groups.chunks_mut(per) {
                let apply = &apply;
                s.spawn(move || part.iter_mut().for_each(apply));
            }
        });
    }
}

/// [`apply_reflector`] for the `M` columns of `g`. The arithmetic of each column is that of
/// doing the two steps one after the other: `c[k−1] −= f`, `c[k..] += (−f) last`, then the
/// dot product summed exactly as [`dot`] does.
#[inline(always)]
fn reflect_columns<const M: usize>(
    last: Option<&[f64]>,
    tail: &[f64],
    t: f64,
    k: usize,
    n: usize,
    g: &mut [f64],
    f: &mut [f64],
) {
    let mut it = g.chunks_exact_mut(n);
    let cs: [&mut [f64]; M] = std::array::from_fn(|_| it.next().expect("M columns of length n"));
    let fl: [f64; M] = std::array::from_fn(|c| -f[c]);
    let main = tail.len() / 4;
    let (v4, vrest) = tail.as_chunks::<4>();
    let mut s = [[0.0f64; 4]; M];
    let mut tail_sum = [0.0f64; M];
    match last {
        Some(last) => {
            // last covers rows k..n; rows k − 1 (its implicit 1) and k first
            for c in 0..M {
                cs[c][k - 1] += fl[c];
                cs[c][k] += fl[c] * last[0];
            }
            let (l4, lrest) = last[1..].as_chunks::<4>();
            for (i, (v, l)) in v4.iter().zip(l4).enumerate() {
                for c in 0..M {
                    let x = &mut cs[c][k + 1 + 4 * i..k + 5 + 4 * i];
                    for r in 0..4 {
                        x[r] += fl[c] * l[r];
                        s[c][r] += v[r] * x[r];
                    }
                }
            }
            for (i, (v, l)) in vrest.iter().zip(lrest).enumerate() {
                for c in 0..M {
                    let x = &mut cs[c][k + 1 + 4 * main + i];
                    *x += fl[c] * l;
                    tail_sum[c] += v * *x;
                }
            }
        }
        None => {
            for (i, v) in v4.iter().enumerate() {
                for c in 0..M {
                    let x = &cs[c][k + 1 + 4 * i..k + 5 + 4 * i];
                    for r in 0..4 {
                        s[c][r] += v[r] * x[r];
                    }
                }
            }
            for (i, v) in vrest.iter().enumerate() {
                for c in 0..M {
                    tail_sum[c] += v * cs[c][k + 1 + 4 * main + i];
                }
            }
        }
    }
    for c in 0..M {
        let d = (s[c][0] + s[c][1]) + (s[c][2] + s[c][3]) + tail_sum[c];
        f[c] = t * (cs[c][k] + d);
    }
}

/// `y ← y + a x`.
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Euclidean norm; rescaled only when the plain sum of squares over- or underflows.
fn norm2(v: &[f64]) -> f64 {
    let ss = dot(v, v);
    if ss.is_finite() && ss > 1e-280 {
        return ss.sqrt();
    }
    let scale = v.iter().fold(0.0f64, |m, &a| m.max(a.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    let inv = 1.0 / scale;
    scale * v.iter().map(|&a| (a * inv) * (a * inv)).sum::<f64>().sqrt()
}

/// The columns of a column-major `n × p` design that are linear combinations of earlier
/// columns under R's `qr()` rule (module documentation); empty for full rank.
pub fn dependent_columns(x: &[f64], n: usize, p: usize) -> Result<Vec<usize>, LinalgError> {
    Ok(HouseholderQr::new(x.to_vec(), n, p)?.dependent)
}

/// A least-squares fit by Householder QR ([`qr_lstsq`]).
#[derive(Clone, Debug, PartialEq)]
pub struct QrFit {
    /// `b` minimizing `‖y − X b‖²`.
    pub coefficients: Vec<f64>,
    /// Residual sum of squares `‖y − X b‖²`, from the last `n − p` entries of `Q'y`.
    pub rss: f64,
    /// `R`, row-major `p × p`, upper triangular (`X = Q R`).
    pub r: Vec<f64>,
    /// `(X'X)^{-1} = R^{-1} R^{-T}`, row-major `p × p`.
    pub xtx_inv: Vec<f64>,
}

/// Least squares of `y` on the column-major `n × p` design `x` by Householder QR (module
/// documentation): `O(n p²)` time, one `n × p` copy of `x`. Errors: shapes, non-finite
/// values, and [`LinalgError::Collinear`] naming every dependent column.
pub fn qr_lstsq(x: &[f64], n: usize, p: usize, y: &[f64]) -> Result<QrFit, LinalgError> {
    if y.len() != n {
        return Err(LinalgError::Shape { what: "y", expected: n, got: y.len() });
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(LinalgError::NonFinite { what: "y" });
    }
    let qr = HouseholderQr::new(x.to_vec(), n, p)?;
    qr.full_rank()?;
    let z = qr.qt_y(y)?;
    let mut coefficients = z[..p].to_vec();
    qr.back_substitute(&mut coefficients);
    let rss = dot(&z[p..], &z[p..]);
    Ok(QrFit { coefficients, rss, r: qr.r()?, xtx_inv: qr.xtx_inverse()? })
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

    /// Column-major `n × p` design of pseudo-random values in [-0.5, 0.5) (xorshift, fixed
    /// seed) with an intercept, and `y = X b + noise`.
    fn random_design(n: usize, p: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut s = seed;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mut x = vec![1.0; n];
        for _ in 1..p {
            x.extend((0..n).map(|_| next()));
        }
        let y = (0..n).map(|i| (0..p).map(|j| x[j * n + i] * (j as f64 - 1.5)).sum::<f64>() + next()).collect();
        (x, y)
    }

    #[test]
    fn gram_is_bit_identical_for_any_thread_count_and_follows_the_documented_order() {
        // 3 full blocks and a partial one whose length is not a multiple of 4; p + 1 = 8
        // columns, so the tiles do not divide the columns evenly.
        let (n, p) = (3 * BLOCK + 1001, 7);
        let (x, y) = random_design(n, p, 7);
        let one = gram_with_threads(&x, n, p, &y, 1).unwrap();
        for threads in [0, 2, 3, 4, 16] {
            let other = gram_with_threads(&x, n, p, &y, threads).unwrap();
            assert!(
                one.0.iter().zip(&other.0).chain(one.1.iter().zip(&other.1)).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{threads} threads differ from 1"
            );
        }
        // The documented order, written the plain way: dot() per block, blocks added in order.
        let col = |j: usize| if j < p { &x[j * n..(j + 1) * n] } else { &y[..] };
        for j in 0..=p {
            for l in 0..=j.min(p - 1) {
                let mut want = 0.0;
                for lo in (0..n).step_by(BLOCK) {
                    let hi = (lo + BLOCK).min(n);
                    want += dot(&col(j)[lo..hi], &col(l)[lo..hi]);
                }
                let got = if j < p { one.0[j * p + l] } else { one.1[l] };
                assert_eq!(got.to_bits(), want.to_bits(), "entry ({j}, {l}): {got} vs {want}");
            }
        }
        // Every register tile gives the same bits (the SSE2 and AVX paths use 2 × 2 and 4 × 2).
        let cols: Vec<&[f64]> = (0..=p).map(col).collect();
        let (lo, hi) = (BLOCK, n);
        let want = block_cross_product_tiled::<1, 1>(&cols, lo, hi);
        for got in [
            block_cross_product_tiled::<2, 2>(&cols, lo, hi),
            block_cross_product_tiled::<4, 2>(&cols, lo, hi),
            block_cross_product_tiled::<3, 4>(&cols, lo, hi),
        ] {
            assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        assert_eq!(want[0].to_bits(), dot(&cols[0][lo..hi], &cols[0][lo..hi]).to_bits());
        assert!(matches!(gram(&x, n, p, &y[1..]), Err(LinalgError::Shape { what: "y", .. })));
    }

    #[test]
    fn qr_and_cholesky_agree_on_a_well_conditioned_design() {
        let (n, p) = (20_000, 6);
        let (x, y) = random_design(n, p, 11);
        let fit = qr_lstsq(&x, n, p, &y).unwrap();
        let (xtx, xty) = gram(&x, n, p, &y).unwrap();
        let chol = Cholesky::new(&xtx, p).unwrap();
        let b = chol.solve(&xty);
        let inv = chol.inverse();
        for j in 0..p {
            assert!((fit.coefficients[j] - b[j]).abs() <= 1e-10 * b[j].abs().max(1.0), "b[{j}]");
            for l in 0..p {
                let (u, v) = (fit.xtx_inv[j * p + l], inv[j * p + l]);
                assert!((u - v).abs() <= 1e-10 * inv[j * p + j].abs().max(inv[l * p + l].abs()), "inv ({j},{l})");
                // R'R = X'X; R is upper triangular
                let rtr: f64 = (0..p).map(|k| fit.r[k * p + j] * fit.r[k * p + l]).sum();
                assert!((rtr - xtx[j * p + l]).abs() <= 1e-10 * xtx[j * p + j].max(xtx[l * p + l]), "R'R ({j},{l})");
                if l < j {
                    assert_eq!(fit.r[j * p + l], 0.0);
                }
            }
        }
        // rss from Q'y equals the sum of squared residuals computed directly
        let rss: f64 =
            (0..n).map(|i| y[i] - (0..p).map(|j| x[j * n + i] * fit.coefficients[j]).sum::<f64>()).map(|r| r * r).sum();
        assert!((fit.rss - rss).abs() <= 1e-10 * rss, "{} vs {rss}", fit.rss);
        // noise is uniform on [-0.5, 0.5): variance 1/12
        assert!((fit.rss / (n - p) as f64 - 1.0 / 12.0).abs() < 0.005, "{}", fit.rss);
    }

    #[test]
    fn qr_keeps_digits_that_normal_equations_lose_on_a_spline_like_design() {
        // Truncated-power cubic spline basis (1, t, t², t³, (t − k)₊³ for 9 knots): nearly
        // collinear columns, κ(X) around 1e6 so κ(X'X) around 1e12. y = X b exactly, so the
        // error in b is the algorithm's.
        let n = 2000;
        let t: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        let mut x = vec![1.0; n];
        for d in 1..=3 {
            x.extend(t.iter().map(|v| v.powi(d)));
        }
        for k in 1..=9 {
            x.extend(t.iter().map(|v| (v - f64::from(k) / 10.0).max(0.0).powi(3)));
        }
        let p = 13;
        let b: Vec<f64> = (0..p).map(|j| 1.0 + j as f64 * 0.5).collect();
        let y: Vec<f64> = (0..n).map(|i| (0..p).map(|j| x[j * n + i] * b[j]).sum()).collect();
        let rel_err = |c: &[f64]| c.iter().zip(&b).map(|(u, v)| (u - v).abs() / v).fold(0.0, f64::max);
        let qr = rel_err(&qr_lstsq(&x, n, p, &y).unwrap().coefficients);
        let (xtx, xty) = gram(&x, n, p, &y).unwrap();
        let ne = rel_err(&Cholesky::new(&xtx, p).unwrap().solve(&xty));
        eprintln!("relative coefficient error: QR {qr:.2e}, normal equations {ne:.2e}");
        // measured: QR 2.6e-13, normal equations 3.3e-7
        assert!(qr < 1e-11, "QR error {qr:e}");
        assert!(ne > 1e-9 && ne > 1e4 * qr, "normal equations error {ne:e} vs QR {qr:e}");
    }

    #[test]
    fn all_collinear_columns_are_named() {
        let (n, p) = (500, 8);
        let (mut x, y) = random_design(n, p, 3);
        for i in 0..n {
            x[2 * n + i] = 2.0 * x[n + i] - 3.0; // col 2 = 2 col 1 − 3 col 0
            x[5 * n + i] = x[3 * n + i] + x[4 * n + i] + x[2 * n + i]; // col 5 = col 3 + col 4 + col 2
            x[7 * n + i] = 0.0; // a zero column
        }
        let want = LinalgError::Collinear { columns: vec![2, 5, 7] };
        assert_eq!(qr_lstsq(&x, n, p, &y), Err(want.clone()));
        assert_eq!(dependent_columns(&x, n, p), Ok(vec![2, 5, 7]));
        let qr = HouseholderQr::new(x.clone(), n, p).unwrap();
        assert_eq!((qr.rank(), qr.dependent()), (5, &[2, 5, 7][..]));
        assert_eq!(qr.solve(&y), Err(want));
        // The later columns are still judged against the accepted ones: col 6 stays.
        // A perturbation just above R's tolerance is kept, just below it is dependent.
        let col1: Vec<f64> = x[n..2 * n].to_vec();
        let norm1 = norm2(&col1);
        let e: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } / (n as f64).sqrt()).collect();
        // e is a unit vector orthogonal to the intercept; its part orthogonal to col 1 is
        // nearly all of it (col 1 is random)
        for (factor, dependent) in [(1e-6, false), (1e-8, true)] {
            let mut z = x[..2 * n].to_vec();
            z.extend(col1.iter().zip(&e).map(|(c, e)| c + factor * norm1 * e));
            assert_eq!(dependent_columns(&z, n, 3).unwrap().is_empty(), !dependent, "factor {factor}");
        }
        // more columns than rows: the columns past the rank are dependent
        let (x, _) = random_design(3, 5, 5);
        assert_eq!(dependent_columns(&x, 3, 5), Ok(vec![3, 4]));
        assert!(matches!(qr_lstsq(&x, 3, 5, &[1.0; 2]), Err(LinalgError::Shape { what: "y", .. })));
        let mut bad = x.clone();
        bad[4] = f64::NAN;
        assert_eq!(dependent_columns(&bad, 3, 5), Err(LinalgError::NonFinite { what: "x" }));
    }

    #[test]
    fn householder_qr_is_the_plain_column_by_column_algorithm_bit_for_bit() {
        // The factorization groups columns by four, fuses the last reflector's update with
        // the next one's dot products and splits columns over threads. Written the plain way
        // (left-looking: each column receives every earlier reflector in turn, as dot() and
        // axpy()), the result must be the same to the bit, here with dependent columns and
        // enough rows for the threaded path.
        let (n, p) = (70_001, 11);
        let (mut x, _) = random_design(n, p, 17);
        for i in 0..n {
            x[4 * n + i] = x[n + i] - 2.0 * x[3 * n + i];
            x[9 * n + i] = 0.5 * x[8 * n + i];
        }
        let qr = HouseholderQr::new(x.clone(), n, p).unwrap();
        let mut a = x;
        let mut reflectors: Vec<(usize, usize, f64)> = Vec::new();
        let mut dependent = Vec::new();
        for j in 0..p {
            let original = norm2(&a[j * n..(j + 1) * n]);
            let (done, rest) = a.split_at_mut(j * n);
            let c = &mut rest[..n];
            for &(jl, k, t) in &reflectors {
                let v = &done[jl * n + k + 1..(jl + 1) * n];
                let f = t * (c[k] + dot(v, &c[k + 1..]));
                c[k] -= f;
                axpy(-f, v, &mut c[k + 1..]);
            }
            let k = reflectors.len();
            let remaining = norm2(&c[k..]);
            if remaining < QR_RANK_TOL * original {
                dependent.push(j);
                continue;
            }
            let alpha = c[k];
            let beta = if alpha < 0.0 { remaining } else { -remaining };
            let scale = 1.0 / (alpha - beta);
            c[k + 1..].iter_mut().for_each(|v| *v *= scale);
            c[k] = beta;
            reflectors.push((j, k, (beta - alpha) / beta));
        }
        assert_eq!(qr.dependent(), &[4, 9][..]);
        assert_eq!(dependent, vec![4, 9]);
        assert_eq!(qr.tau, reflectors.iter().map(|r| r.2).collect::<Vec<_>>());
        for (k, &(j, _, _)) in reflectors.iter().enumerate() {
            // R's column and the reflector below it
            let (got, want) = (&qr.a[j * n..(j + 1) * n], &a[j * n..(j + 1) * n]);
            let same = got.iter().zip(want).all(|(u, v)| u.to_bits() == v.to_bits());
            assert!(same, "column {j} (reflector {k}) differs");
        }
    }
}
