//! CR2 cluster-robust covariance (bias-reduced linearization) and Satterthwaite degrees of
//! freedom for a contrast, on a [`FixedFit`] (docs/methods.md 3.7).
//!
//! # CR2 (Bell and McCaffrey 2002)
//!
//! With the full design `Z` of the equivalent dummy regression (the columns of `X` and the
//! absorbed dummies `D`), its hat matrix `H = P_D + X̃ B X̃'` (`B = (X̃'X̃)⁻¹`, Frisch-Waugh-
//! Lovell) and the residuals `ẽ`:
//!
//! ```text
//! V_CR2 = B (Σ_g X̃_g' A_g ẽ_g ẽ_g' A_g X̃_g) B,     A_g = (I − H_gg)^{-1/2}
//! ```
//!
//! `A_g` is the symmetric (pseudo-)inverse square root: eigenvalues of `I − H_gg` at or
//! below `1e-12` are dropped, as `clubSandwich`'s `matrix_power` does (`I − H_gg` has
//! eigenvalues in `[0, 1]`). There is no dof factor. Checked against `clubSandwich` on `lm`
//! with the dummies written out (tests/fixtures/r/cr2.json).
//!
//! # The low-rank form (the default)
//!
//! Split the absorbed factors into those nested in the clusters (each level in one cluster,
//! e.g. school effects with school clusters), dummies `D_n`, and the others (grade with
//! school clusters), dummies `D_m`. By Frisch-Waugh-Lovell, with `Ď = M_{D_n} D_m` (the
//! non-nested dummies within-transformed by the nested factors only), `P_D = P_{D_n} + P_Ď`,
//! and `X̃ ⟂ Ď`, so
//!
//! ```text
//! H = P_{D_n} + Ž Q Ž',     Ž = [X̃, Ď],  Q = blockdiag(B, (Ď'Ď)⁺)        (k = p + d columns)
//! ```
//!
//! (`(Ď'Ď)⁺` is a pseudo-inverse, eigenvalues below `1e-10` of the largest dropped: the
//! dummies of a factor are collinear with the nested ones, so no level needs choosing).
//! `P_{D_n}` is block-diagonal over clusters and its block `N_g` is the projection on the
//! cluster's nested dummies, to which `Ž_g` and `ẽ_g` are orthogonal. With `L = Q^{1/2}`
//! (symmetric), `U = Ž_g L` and `W = U'U = L G_g L = V Λ V'` (`G_g = Ž_g'Ž_g`, `k × k`),
//! `I − H_gg = (I − N_g) − UU'`, and on the range of `I − N_g` (where everything it is
//! applied to lies; on `N_g` the pseudo-inverse gives 0)
//!
//! ```text
//! (I − UU')^{-1/2} = I + U V diag(φ(λ)) V' U',   φ(λ) = ((1 − λ)^{-1/2} − 1)/λ = 1/(s(1 + s)),
//! ```
//!
//! `s = sqrt(1 − λ)`: on the column space of `U`, `UV` has orthogonal columns of squared
//! length `λ`, and `I − UU'` has eigenvalue `1 − λ` there and 1 elsewhere, so the right
//! side has eigenvalue `1 + λφ = (1 − λ)^{-1/2}` and 1. The pseudo-inverse maps `1 − λ ≤
//! 1e-12` to 0, i.e. `φ = −1/λ`. So `A_g Ž_g = Ž_g (I + M_g G_g)` with `M_g = L V diag(φ)
//! V' L`, and the score `X̃_g' A_g ẽ_g` is the first `p` entries of `(I + G_g M_g) Ž_g'ẽ_g`:
//! one pass over the rows for `G_g` and `Ž_g'ẽ_g` (`O(n k²)`), and a `k × k`
//! eigen-decomposition per cluster. Nothing of size `n_g × n_g` is formed.
//!
//! # Satterthwaite degrees of freedom (Pustejovsky and Tipton 2018)
//!
//! For a contrast `c`, `c'V c = Σ_g (p_g' ẽ_g)²` with `p_g = A_g X̃_g B c`. Under the working
//! model `Var(y) = σ² I` (the model of `lm`), with `q_g = (I − H) E_g p_g` (`E_g` embeds a
//! cluster's rows in `n`), `c'Vc` is the quadratic form `Σ_g (q_g'y)²`, so
//!
//! ```text
//! ν = 2 E[c'Vc]² / Var[c'Vc] = (Σ_g q_g'q_g)² / Σ_g Σ_h (q_g'q_h)²
//! ```
//!
//! which is `clubSandwich::coef_test(vcov = "CR2", test = "Satterthwaite")`. In the low-rank
//! form `p_g = Ž_g a_g`, `a_g = b̄ + M_g G_g b̄`, `b̄ = (Bc, 0)`, which is orthogonal to
//! `N_g`, so with `r_g = G_g a_g`, `t_g = a_g'r_g = p_g'p_g` and `z_g = L r_g`,
//! `q_g'q_h = δ_gh t_g − z_g'z_h`, and
//!
//! ```text
//! Σ_g Σ_h (q_g'q_h)² = Σ_g (t_g − |z_g|²)² + ‖Σ_g z_g z_g'‖²_F − Σ_g |z_g|⁴
//! ```
//!
//! (the off-diagonal sum `Σ_{g≠h} (z_g'z_h)²` through a `k × k` matrix): `O(G k²)`.
//!
//! # The exact form (the fallback)
//!
//! `I − H_gg` is formed (`n_g × n_g`, with `(P_D)_gg` read off the within transformation of
//! the cluster's unit vectors when a factor is not nested) and eigen-decomposed by cyclic
//! Jacobi; `ν` uses `q_g'q_h = p_g' [(I − H) E_h p_h]_g`, one vector of length `n` at a time.
//! Cost `O(Σ_g n_g³)` and `n_g²` memory. It is used only when some absorbed factor is not
//! nested and its estimated cost is lower: when `Σ_g n_g³` (plus `n Σ_g n_g` with more than
//! one absorbed factor, for the unit vectors) is below `n k² + n d + G k³` (the low-rank
//! pass, the `d` dummies' within transformation and the eigen-decompositions), i.e. when the
//! non-nested factors have many levels and the clusters are small. The two forms agree to
//! rounding (unit test `low_rank_and_exact_paths_agree_on_random_designs`).

use super::VamError;
use super::fixed::{Covariance, Factor, FixedFit, VcovKind, within};
use crate::stats::dist::{p_two_sided_t, qt};
use crate::stats::linalg::{matmul, sandwich};

/// The test of one contrast `c'β = 0` under CR2 with Satterthwaite degrees of freedom.
#[derive(Clone, Debug, PartialEq)]
pub struct ContrastTest {
    /// `c'β̂`.
    pub estimate: f64,
    /// `sqrt(c' V_CR2 c)`.
    pub se: f64,
    /// Satterthwaite degrees of freedom.
    pub df: f64,
    pub t: f64,
    /// Two-sided, from Student's t with `df`.
    pub p_value: f64,
    /// Confidence level of the interval, e.g. 0.95.
    pub level: f64,
    pub conf_low: f64,
    pub conf_high: f64,
}

/// Which form of the computation (module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code, reason = "the forced forms are compared in the tests"))]
enum Path {
    /// Low rank unless the exact form is estimated cheaper.
    Auto,
    LowRank,
    Exact,
}

/// The per-cluster pieces of either form.
enum Parts {
    Exact(Adjusted),
    LowRank(LowRank),
}

/// Exact form: `A_g X̃_g` (row-major `n_g × p`) and the rows of every cluster with at least
/// one row.
struct Adjusted {
    rows: Vec<Vec<usize>>,
    ax: Vec<Vec<f64>>,
}

/// Low-rank form: `k = p + d`, `L = Q^{1/2}` and, per cluster, `G_g`, `M_g` (row-major
/// `k × k`) and `Ž_g'ẽ_g`.
struct LowRank {
    k: usize,
    l: Vec<f64>,
    gram: Vec<Vec<f64>>,
    m: Vec<Vec<f64>>,
    ze: Vec<Vec<f64>>,
}

impl Parts {
    fn clusters(&self) -> usize {
        match self {
            Parts::Exact(a) => a.rows.len(),
            Parts::LowRank(l) => l.gram.len(),
        }
    }
}

impl FixedFit {
    /// The CR2 covariance (module documentation).
    pub(super) fn cr2(&self, c: &Factor) -> Result<Covariance, VamError> {
        Ok(self.cr2_from(&self.parts(c, Path::Auto)?))
    }

    /// The CR2 covariance from the per-cluster pieces.
    fn cr2_from(&self, parts: &Parts) -> Covariance {
        let p = self.p();
        let mut meat = vec![0.0; p * p];
        for u in self.scores(parts) {
            for a in 0..p {
                for b in 0..p {
                    meat[a * p + b] += u[a] * u[b];
                }
            }
        }
        let matrix = sandwich(&self.bread, &meat, p);
        Covariance { kind: VcovKind::Cr2, matrix, n_clusters: Some(parts.clusters()) }
    }

    /// `X̃_g' A_g ẽ_g` for every cluster.
    fn scores(&self, parts: &Parts) -> Vec<Vec<f64>> {
        let p = self.p();
        match parts {
            Parts::Exact(adj) => adj
                .rows
                .iter()
                .zip(&adj.ax)
                .map(|(rows, ax)| {
                    let mut u = vec![0.0; p];
                    for (r, &i) in rows.iter().enumerate() {
                        for j in 0..p {
                            u[j] += ax[r * p + j] * self.residuals[i];
                        }
                    }
                    u
                })
                .collect(),
            Parts::LowRank(lr) => (0..lr.gram.len())
                .map(|g| {
                    let k = lr.k;
                    let mze = mat_vec(&lr.m[g], &lr.ze[g], k);
                    let gmze = mat_vec(&lr.gram[g], &mze, k);
                    (0..p).map(|j| lr.ze[g][j] + gmze[j]).collect()
                })
                .collect(),
        }
    }

    /// Satterthwaite degrees of freedom of the contrast `c'β` under CR2 with the clusters
    /// `cluster` (module documentation); a coefficient is the unit contrast.
    pub fn satterthwaite(&self, cluster: &Factor, contrast: &[f64]) -> Result<f64, VamError> {
        let parts = self.parts(cluster, Path::Auto)?;
        self.df_of(&parts, contrast)
    }

    /// CR2 standard error, Satterthwaite df, t test of `c'β = 0` and the interval at
    /// `level` (e.g. 0.95) from Student's t with that df.
    pub fn cr2_test(&self, cluster: &Factor, contrast: &[f64], level: f64) -> Result<ContrastTest, VamError> {
        if !(level > 0.0 && level < 1.0) {
            return Err(VamError::Input(format!("confidence level {level} is not strictly between 0 and 1")));
        }
        let parts = self.parts(cluster, Path::Auto)?;
        let df = self.df_of(&parts, contrast)?;
        let v = self.cr2_from(&parts);
        let p = self.p();
        let mut var = 0.0;
        for a in 0..p {
            for b in 0..p {
                var += contrast[a] * v.matrix[a * p + b] * contrast[b];
            }
        }
        let estimate: f64 = contrast.iter().zip(&self.coefficients).map(|(c, b)| c * b).sum();
        let se = var.max(0.0).sqrt();
        let t = estimate / se;
        let half = qt(0.5 + level / 2.0, df) * se;
        Ok(ContrastTest {
            estimate,
            se,
            df,
            t,
            p_value: p_two_sided_t(t, df),
            level,
            conf_low: estimate - half,
            conf_high: estimate + half,
        })
    }

    /// `ν` of the module documentation.
    fn df_of(&self, parts: &Parts, contrast: &[f64]) -> Result<f64, VamError> {
        let p = self.p();
        if contrast.len() != p {
            return Err(VamError::Input(format!("a contrast of length {} for {p} coefficients", contrast.len())));
        }
        if contrast.iter().any(|v| !v.is_finite()) || contrast.iter().all(|&v| v == 0.0) {
            return Err(VamError::Input("the contrast must be finite and not all zero".into()));
        }
        let bc = mat_vec(&self.bread, contrast, p);
        let (expected, second) = match parts {
            Parts::Exact(adj) => self.df_moments_exact(adj, &bc)?,
            Parts::LowRank(lr) => lr.df_moments(&bc),
        };
        if second <= 0.0 {
            return Err(VamError::Singular("the contrast has no cluster-level variation".into()));
        }
        Ok(expected * expected / second)
    }

    /// `Σ_g q_g'q_g` and `Σ_g Σ_h (q_g'q_h)²` in the exact form, `bc = Bc`.
    fn df_moments_exact(&self, adj: &Adjusted, bc: &[f64]) -> Result<(f64, f64), VamError> {
        let (n, p) = (self.n, self.p());
        // p_g = A_g X̃_g B c
        let pg: Vec<Vec<f64>> = adj
            .ax
            .iter()
            .map(|ax| ax.chunks(p).map(|row| row.iter().zip(bc).map(|(a, b)| a * b).sum()).collect())
            .collect();
        let xt = &self.within_x;
        let mut expected = 0.0;
        let mut second = 0.0;
        let mut v = vec![0.0; n];
        for (h, rows_h) in adj.rows.iter().enumerate() {
            v.fill(0.0);
            for (r, &i) in rows_h.iter().enumerate() {
                v[i] = pg[h][r];
            }
            // X̃'v, then (I − H) v = M_D v − X̃ B X̃'v
            let xv: Vec<f64> =
                (0..p).map(|j| rows_h.iter().zip(&pg[h]).map(|(&i, pv)| xt[j * n + i] * pv).sum()).collect();
            let bxv = mat_vec(&self.bread, &xv, p);
            let mut w = self.annihilate_absorbed(&v)?;
            for (j, b) in bxv.iter().enumerate() {
                for (wi, xij) in w.iter_mut().zip(&xt[j * n..(j + 1) * n]) {
                    *wi -= xij * b;
                }
            }
            for (g, rows_g) in adj.rows.iter().enumerate() {
                let qgh: f64 = rows_g.iter().zip(&pg[g]).map(|(&i, pv)| pv * w[i]).sum();
                if g == h {
                    expected += qgh;
                }
                second += qgh * qgh;
            }
        }
        Ok((expected, second))
    }

    /// `M_D v`: `v` with the absorbed factors partialled out (`v` itself without any).
    fn annihilate_absorbed(&self, v: &[f64]) -> Result<Vec<f64>, VamError> {
        if self.absorbed.is_empty() {
            return Ok(v.to_vec());
        }
        let factors: Vec<Factor> =
            self.absorbed.iter().map(|(level, levels)| Factor { level, levels: *levels }).collect();
        Ok(within(&[], self.n, v, &factors)?.y)
    }

    /// The per-cluster pieces by `path` (module documentation).
    fn parts(&self, c: &Factor, path: Path) -> Result<Parts, VamError> {
        let n = self.n;
        if c.level.len() != n || c.level.iter().any(|&l| l >= c.levels) {
            return Err(VamError::Input(format!(
                "the cluster factor does not match the {n} rows or its {} levels",
                c.levels
            )));
        }
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); c.levels];
        for (i, &g) in c.level.iter().enumerate() {
            rows[g].push(i);
        }
        rows.retain(|r| !r.is_empty());
        if rows.len() < 2 {
            return Err(VamError::Input("cluster-robust SEs need at least 2 clusters".into()));
        }
        let nested: Vec<bool> = self.absorbed.iter().map(|(level, levels)| nested_in(level, *levels, c)).collect();
        let low_rank = match path {
            Path::LowRank => true,
            Path::Exact => false,
            Path::Auto => self.low_rank_cheaper(&rows, &nested),
        };
        if low_rank {
            Ok(Parts::LowRank(self.low_rank(c, rows.len(), &nested)?))
        } else {
            Ok(Parts::Exact(self.adjusted(rows, nested.iter().all(|&b| b))?))
        }
    }

    /// The cut-off between the two forms (module documentation): estimated operations.
    fn low_rank_cheaper(&self, rows: &[Vec<usize>], nested: &[bool]) -> bool {
        if nested.iter().all(|&b| b) {
            return true;
        }
        let d: usize = self.absorbed.iter().zip(nested).filter(|(_, n)| !**n).map(|((_, levels), _)| *levels).sum();
        let (n, k, g) = (self.n as f64, (self.p() + d) as f64, rows.len() as f64);
        let cubes: f64 = rows.iter().map(|r| (r.len() as f64).powi(3)).sum();
        let units = if self.absorbed.len() > 1 { n * n } else { 0.0 };
        n * k * k + n * d as f64 + g * k.powi(3) <= cubes + units
    }

    /// The low-rank pieces (module documentation); `clusters` is the number of non-empty
    /// clusters.
    fn low_rank(&self, c: &Factor, clusters: usize, nested: &[bool]) -> Result<LowRank, VamError> {
        let (n, p) = (self.n, self.p());
        let (dummies, d) = self.non_nested_dummies(nested)?;
        let k = p + d;
        let l = self.root_of_q(&dummies, d);
        // compact cluster index of each level
        let mut index = vec![usize::MAX; c.levels];
        let mut next = 0;
        for &g in c.level {
            if index[g] == usize::MAX {
                index[g] = next;
                next += 1;
            }
        }
        debug_assert_eq!(next, clusters);
        let mut gram = vec![vec![0.0; k * k]; clusters];
        let mut ze = vec![vec![0.0; k]; clusters];
        let mut z = vec![0.0; k];
        let xt = &self.within_x;
        for i in 0..n {
            for j in 0..p {
                z[j] = xt[j * n + i];
            }
            for j in 0..d {
                z[p + j] = dummies[j * n + i];
            }
            let g = index[c.level[i]];
            let (gg, s) = (&mut gram[g], &mut ze[g]);
            let e = self.residuals[i];
            for a in 0..k {
                s[a] += z[a] * e;
                let za = z[a];
                for (gab, zb) in gg[a * k..a * k + a + 1].iter_mut().zip(&z) {
                    *gab += za * zb;
                }
            }
        }
        let mut m = Vec::with_capacity(clusters);
        for gg in &mut gram {
            for a in 0..k {
                for b in 0..a {
                    gg[b * k + a] = gg[a * k + b];
                }
            }
            m.push(adjustment(gg, &l, k));
        }
        Ok(LowRank { k, l, gram, m, ze })
    }

    /// `Ď`: the dummies of the factors not nested in the clusters, within-transformed by
    /// the nested ones (column-major `n × d`), and `d`.
    fn non_nested_dummies(&self, nested: &[bool]) -> Result<(Vec<f64>, usize), VamError> {
        let n = self.n;
        let mut dummies = Vec::new();
        let mut d = 0;
        for ((level, levels), _) in self.absorbed.iter().zip(nested).filter(|(_, n)| !**n) {
            let start = dummies.len();
            dummies.resize(start + levels * n, 0.0);
            for (i, &l) in level.iter().enumerate() {
                dummies[start + l * n + i] = 1.0;
            }
            d += levels;
        }
        let inner: Vec<Factor> = self
            .absorbed
            .iter()
            .zip(nested)
            .filter(|(_, n)| **n)
            .map(|((level, levels), _)| Factor { level, levels: *levels })
            .collect();
        if d > 0 && !inner.is_empty() {
            dummies = within(&dummies, n, &vec![0.0; n], &inner)?.x;
        }
        Ok((dummies, d))
    }

    /// `L = Q^{1/2}`, `Q = blockdiag(B, (Ď'Ď)⁺)` (row-major `k × k`, module documentation).
    fn root_of_q(&self, dummies: &[f64], d: usize) -> Vec<f64> {
        let (n, p) = (self.n, self.p());
        let k = p + d;
        let mut l = vec![0.0; k * k];
        let rb = matrix_power(&self.bread, p, 0.5, 0.0);
        for a in 0..p {
            l[a * k..a * k + p].copy_from_slice(&rb[a * p..(a + 1) * p]);
        }
        if d > 0 {
            let mut dd = vec![0.0; d * d];
            for a in 0..d {
                for b in 0..=a {
                    let s: f64 =
                        dummies[a * n..(a + 1) * n].iter().zip(&dummies[b * n..(b + 1) * n]).map(|(u, v)| u * v).sum();
                    dd[a * d + b] = s;
                    dd[b * d + a] = s;
                }
            }
            let rc = matrix_power(&dd, d, -0.5, 1e-10);
            for a in 0..d {
                l[(p + a) * k + p..(p + a) * k + k].copy_from_slice(&rc[a * d..(a + 1) * d]);
            }
        }
        l
    }

    /// The rows of each cluster and `A_g X̃_g` in the exact form (module documentation).
    fn adjusted(&self, rows: Vec<Vec<usize>>, nested: bool) -> Result<Adjusted, VamError> {
        let (n, p) = (self.n, self.p());
        let xt = &self.within_x;
        let mut ax = Vec::with_capacity(rows.len());
        for r in &rows {
            let m = r.len();
            // X̃_g, row-major m × p
            let xg: Vec<f64> = r.iter().flat_map(|&i| (0..p).map(move |j| xt[j * n + i])).collect();
            let mut ih = if nested { vec![0.0; m * m] } else { self.absorbed_hat(r)? };
            // B x̃_b for each row b of the cluster (B is symmetric)
            let bx: Vec<f64> = xg
                .chunks(p)
                .flat_map(|xb| {
                    self.bread.chunks(p).map(move |brow| brow.iter().zip(xb).map(|(u, v)| u * v).sum::<f64>())
                })
                .collect();
            for (a, xa) in xg.chunks(p).enumerate() {
                for (b, bxb) in bx.chunks(p).enumerate() {
                    let h: f64 = xa.iter().zip(bxb).map(|(u, v)| u * v).sum();
                    ih[a * m + b] = if a == b { 1.0 } else { 0.0 } - ih[a * m + b] - h;
                }
            }
            let root = inverse_sqrt(&ih, m);
            let mut axg = vec![0.0; m * p];
            for a in 0..m {
                for b in 0..m {
                    let s = root[a * m + b];
                    for j in 0..p {
                        axg[a * p + j] += s * xg[b * p + j];
                    }
                }
            }
            ax.push(axg);
        }
        Ok(Adjusted { rows, ax })
    }

    /// `(P_D)_gg` for the rows `r` of one cluster, row-major `m × m`.
    fn absorbed_hat(&self, r: &[usize]) -> Result<Vec<f64>, VamError> {
        let m = r.len();
        let mut out = vec![0.0; m * m];
        if let [(level, levels)] = &self.absorbed[..] {
            let mut count = vec![0.0; *levels];
            for &l in level {
                count[l] += 1.0;
            }
            for a in 0..m {
                for b in 0..m {
                    if level[r[a]] == level[r[b]] {
                        out[a * m + b] = 1.0 / count[level[r[a]]];
                    }
                }
            }
            return Ok(out);
        }
        let mut unit = vec![0.0; self.n];
        for (b, &i) in r.iter().enumerate() {
            unit[i] = 1.0;
            let resid = self.annihilate_absorbed(&unit)?;
            unit[i] = 0.0;
            for (a, &k) in r.iter().enumerate() {
                out[a * m + b] = if a == b { 1.0 } else { 0.0 } - resid[k];
            }
        }
        // symmetric up to the convergence tolerance of alternating projections
        for a in 0..m {
            for b in 0..a {
                let s = 0.5 * (out[a * m + b] + out[b * m + a]);
                out[a * m + b] = s;
                out[b * m + a] = s;
            }
        }
        Ok(out)
    }
}

impl LowRank {
    /// `Σ_g q_g'q_g` and `Σ_g Σ_h (q_g'q_h)²` in the low-rank form, `bc = Bc` (module
    /// documentation). The off-diagonal sum is taken pair by pair up to `DIRECT_PAIRS`
    /// clusters and through `‖Σ_g z_g z_g'‖²_F` beyond.
    fn df_moments(&self, bc: &[f64]) -> (f64, f64) {
        let k = self.k;
        let mut bbar = vec![0.0; k];
        bbar[..bc.len()].copy_from_slice(bc);
        let mut expected = 0.0;
        let mut diagonal = 0.0;
        let mut zs = Vec::with_capacity(self.gram.len());
        for (gg, m) in self.gram.iter().zip(&self.m) {
            let mg = mat_vec(m, &mat_vec(gg, &bbar, k), k);
            let a: Vec<f64> = bbar.iter().zip(&mg).map(|(u, v)| u + v).collect();
            let r = mat_vec(gg, &a, k);
            let t: f64 = a.iter().zip(&r).map(|(u, v)| u * v).sum();
            let z = mat_vec(&self.l, &r, k);
            let qq = t - z.iter().map(|v| v * v).sum::<f64>();
            expected += qq;
            diagonal += qq * qq;
            zs.push(z);
        }
        let off = if zs.len() <= DIRECT_PAIRS {
            let mut s = 0.0;
            for (g, zg) in zs.iter().enumerate() {
                for zh in &zs[..g] {
                    let v: f64 = zg.iter().zip(zh).map(|(u, w)| u * w).sum();
                    s += 2.0 * v * v;
                }
            }
            s
        } else {
            let mut outer = vec![0.0; k * k];
            let mut fourth = 0.0;
            for z in &zs {
                for a in 0..k {
                    for b in 0..k {
                        outer[a * k + b] += z[a] * z[b];
                    }
                }
                fourth += z.iter().map(|v| v * v).sum::<f64>().powi(2);
            }
            (outer.iter().map(|v| v * v).sum::<f64>() - fourth).max(0.0)
        };
        (expected, diagonal + off)
    }
}

/// Clusters up to which the Satterthwaite off-diagonal sum is taken pair by pair.
const DIRECT_PAIRS: usize = 1000;

/// `M_g = L V diag(φ(λ)) V' L` from `G_g` (module documentation), row-major `k × k`.
fn adjustment(gram: &[f64], l: &[f64], k: usize) -> Vec<f64> {
    let w = matmul(&matmul(l, gram, k, k, k), l, k, k, k);
    let (lambda, v) = symmetric_eigen(&w, k);
    let phi: Vec<f64> = lambda
        .iter()
        .map(|&lam| {
            if 1.0 - lam <= 1e-12 {
                -1.0 / lam
            } else {
                let s = (1.0 - lam).sqrt();
                1.0 / (s * (1.0 + s))
            }
        })
        .collect();
    let lv = matmul(l, &v, k, k, k);
    recompose(&phi, &lv, k)
}

/// `A v` for the row-major `k × k` matrix `A`.
fn mat_vec(a: &[f64], v: &[f64], k: usize) -> Vec<f64> {
    a.chunks(k).map(|row| row.iter().zip(v).map(|(x, y)| x * y).sum()).collect()
}

/// `a^power` of the symmetric positive semi-definite row-major `m × m` matrix `a`, through
/// its eigen-decomposition; eigenvalues at or below `rel` times the largest (and any not
/// positive) map to 0.
fn matrix_power(a: &[f64], m: usize, power: f64, rel: f64) -> Vec<f64> {
    let (lambda, v) = symmetric_eigen(a, m);
    let top = lambda.iter().fold(0.0f64, |t, &l| t.max(l));
    let d: Vec<f64> = lambda.iter().map(|&l| if l > rel * top && l > 0.0 { l.powf(power) } else { 0.0 }).collect();
    recompose(&d, &v, m)
}

/// `V diag(d) V'` (row-major `m × m`) from the eigenvectors `v` (columns) and the mapped
/// eigenvalues `d`.
fn recompose(d: &[f64], v: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let s: f64 = (0..m).map(|k| v[i * m + k] * d[k] * v[j * m + k]).sum();
            out[i * m + j] = s;
            out[j * m + i] = s;
        }
    }
    out
}

/// Whether every level of the factor lies in a single cluster.
fn nested_in(level: &[usize], levels: usize, c: &Factor) -> bool {
    let mut home = vec![usize::MAX; levels];
    for (&l, &g) in level.iter().zip(c.level) {
        if home[l] == usize::MAX {
            home[l] = g;
        } else if home[l] != g {
            return false;
        }
    }
    true
}

/// Eigenvalues and eigenvectors (columns of the row-major `m × m` result) of the symmetric
/// row-major `a`, by cyclic Jacobi rotations until the off-diagonal mass is below
/// `1e-30` of the total.
pub(crate) fn symmetric_eigen(a: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; m * m];
    for i in 0..m {
        v[i * m + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..m)
            .flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * m + j].powi(2))
            .sum();
        if off <= 1e-30 * total || off == 0.0 {
            break;
        }
        for p in 0..m {
            for q in p + 1..m {
                let apq = a[p * m + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * m + q] - a[p * m + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..m {
                    let (akp, akq) = (a[k * m + p], a[k * m + q]);
                    a[k * m + p] = c * akp - s * akq;
                    a[k * m + q] = s * akp + c * akq;
                }
                for k in 0..m {
                    let (apk, aqk) = (a[p * m + k], a[q * m + k]);
                    a[p * m + k] = c * apk - s * aqk;
                    a[q * m + k] = s * apk + c * aqk;
                }
                for k in 0..m {
                    let (vkp, vkq) = (v[k * m + p], v[k * m + q]);
                    v[k * m + p] = c * vkp - s * vkq;
                    v[k * m + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..m).map(|i| a[i * m + i]).collect(), v)
}

/// The symmetric (pseudo-)inverse square root of the symmetric positive semi-definite `a`:
/// eigenvalues at or below `1e-12` are dropped (module documentation).
fn inverse_sqrt(a: &[f64], m: usize) -> Vec<f64> {
    let (lambda, v) = symmetric_eigen(a, m);
    let d: Vec<f64> = lambda.iter().map(|&l| if l > 1e-12 { 1.0 / l.sqrt() } else { 0.0 }).collect();
    recompose(&d, &v, m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::vam::fixed::{FixedSpec, Vcov};
    use ndarray::{Array2, ArrayView1, ShapeBuilder};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/r/cr2.json");
    const EXAM: &str = include_str!("../../../tests/fixtures/r/vam_exam.csv");

    /// The fixture's 528 rows: school, female, standLRT, normexam, provider.
    struct Rows {
        school: Vec<usize>,
        female: Vec<usize>,
        cols: Vec<(String, Vec<f64>)>,
        y: Vec<f64>,
    }

    fn rows(r: &Value) -> Rows {
        let keep: Vec<u64> = r["row_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let schools: Vec<u64> = r["schools"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let providers: Vec<u64> =
            r["provider_schools"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let mut rd = csv::Reader::from_reader(EXAM.as_bytes());
        let (mut school, mut female, mut lrt, mut prov, mut y) = (vec![], vec![], vec![], vec![], vec![]);
        for rec in rd.records() {
            let rec = rec.unwrap();
            let id: u64 = rec[0].parse().unwrap();
            if !keep.contains(&id) {
                continue;
            }
            let s: u64 = rec[1].parse().unwrap();
            school.push(schools.iter().position(|&v| v == s).unwrap());
            prov.push(if providers.contains(&s) { 1.0 } else { 0.0 });
            y.push(rec[3].parse().unwrap());
            lrt.push(rec[4].parse().unwrap());
            female.push(rec[6].parse().unwrap());
        }
        assert_eq!(school.len(), keep.len());
        let fem = female.iter().map(|&v: &usize| v as f64).collect();
        let cols = vec![
            ("standLRT".to_string(), lrt),
            ("provider".to_string(), prov),
            ("female".to_string(), fem),
            ("intercept".to_string(), vec![1.0; y.len()]),
        ];
        Rows { school, female, cols, y }
    }

    fn design(d: &Rows, names: &[&str]) -> Array2<f64> {
        let n = d.y.len();
        let mut x = Vec::new();
        for nm in names {
            x.extend(&d.cols.iter().find(|(c, _)| c == nm).unwrap().1);
        }
        Array2::from_shape_vec((n, names.len()).f(), x).unwrap()
    }

    fn close(got: f64, want: f64, tol: f64, what: &str) {
        assert!((got - want).abs() <= tol * want.abs(), "cr2.json {what}: {got} vs R {want}");
    }

    /// Fits the case, then checks CR2 SEs and Satterthwaite df of the named coefficients
    /// and of the contrast, 1e-6 relative (tests/fixtures/r/README.md).
    fn check_case(case: &str, names: &[&str], absorb: &[Factor], cluster: Factor) {
        let r: Value = serde_json::from_str(FIXTURE).unwrap();
        let d = rows(&r);
        let want = &r["cases"][case];
        let fit =
            FixedSpec { absorb, ..FixedSpec::default() }.fit(design(&d, names).view(), ArrayView1::from(&d.y)).unwrap();
        assert_eq!(fit.k, want["k"].as_u64().unwrap() as usize, "{case} k");
        let v = fit.vcov(&Vcov::Cr2 { cluster }).unwrap();
        assert_eq!((v.kind, v.kind.label(), v.n_clusters), (VcovKind::Cr2, "CR2", Some(12)));
        let se = v.se();
        let wanted: Vec<String> = floats_or_strings(&want["names"]);
        let (want_se, want_df) = (floats(&want["cr2_se"]), floats(&want["satterthwaite_df"]));
        for (k, nm) in wanted.iter().enumerate() {
            let j = names.iter().position(|c| c == nm).unwrap();
            close(se[j], want_se[k], 1e-6, &format!("{case} {nm} SE"));
            let mut c = vec![0.0; names.len()];
            c[j] = 1.0;
            close(fit.satterthwaite(&cluster, &c).unwrap(), want_df[k], 1e-6, &format!("{case} {nm} df"));
        }
        let con = &want["contrast"];
        let mut c = vec![0.0; names.len()];
        for (nm, w) in floats_or_strings(&con["names"]).iter().zip(floats(&con["weights"])) {
            c[names.iter().position(|x| x == nm).unwrap()] = w;
        }
        let t = fit.cr2_test(&cluster, &c, 0.95).unwrap();
        close(t.se, con["se"].as_f64().unwrap(), 1e-6, &format!("{case} contrast SE"));
        close(t.df, con["df"].as_f64().unwrap(), 1e-6, &format!("{case} contrast df"));
        close(t.estimate, con["estimate"].as_f64().unwrap(), 1e-8, &format!("{case} contrast estimate"));
        close(t.conf_low, con["conf_low_95"].as_f64().unwrap(), 1e-6, &format!("{case} contrast CI low"));
        close(t.conf_high, con["conf_high_95"].as_f64().unwrap(), 1e-6, &format!("{case} contrast CI high"));
        close(t.p_value, con["p"].as_f64().unwrap(), 1e-5, &format!("{case} contrast p"));
    }

    /// A number or an array of numbers (R writes length-1 vectors as scalars).
    fn floats(v: &Value) -> Vec<f64> {
        match v {
            Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
            x => vec![x.as_f64().unwrap()],
        }
    }

    fn floats_or_strings(v: &Value) -> Vec<String> {
        match v {
            Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
            Value::String(s) => vec![s.clone()],
            _ => panic!("names: {v}"),
        }
    }

    fn with_rows<T>(f: impl FnOnce(&Rows) -> T) -> T {
        let r: Value = serde_json::from_str(FIXTURE).unwrap();
        f(&rows(&r))
    }

    #[test]
    fn cr2_and_satterthwaite_match_club_sandwich_without_absorbed_effects() {
        with_rows(|d| {
            let cl = Factor { level: &d.school, levels: 12 };
            check_case("provider_no_fe", &["intercept", "standLRT", "provider"], &[], cl);
        });
    }

    #[test]
    fn cr2_with_absorbed_schools_nested_in_clusters_matches_lm_with_dummies() {
        with_rows(|d| {
            let cl = Factor { level: &d.school, levels: 12 };
            check_case("school_fe", &["standLRT", "female"], &[cl], cl);
        });
    }

    #[test]
    fn cr2_with_an_absorbed_factor_not_nested_in_clusters_needs_its_hat_matrix() {
        with_rows(|d| {
            let cl = Factor { level: &d.school, levels: 12 };
            let sex = Factor { level: &d.female, levels: 2 };
            check_case("sex_fe", &["standLRT", "provider"], &[sex], cl);
            // the within design alone gives R's `within_only_se`, which differs
            let r: Value = serde_json::from_str(FIXTURE).unwrap();
            let within_only = floats(&r["cases"]["sex_fe"]["within_only_se"]);
            let se = floats(&r["cases"]["sex_fe"]["cr2_se"]);
            assert!((within_only[0] - se[0]).abs() > 1e-3 * se[0]);
        });
    }

    #[test]
    fn cr2_with_two_absorbed_factors_matches_lm_with_dummies() {
        with_rows(|d| {
            let cl = Factor { level: &d.school, levels: 12 };
            let sex = Factor { level: &d.female, levels: 2 };
            check_case("school_and_sex_fe", &["standLRT"], &[cl, sex], cl);
        });
    }

    #[test]
    fn jacobi_eigen_reconstructs_a_symmetric_matrix() {
        let m = 5;
        let a: Vec<f64> = (0..m * m)
            .map(|k| ((k / m + 1) * (k % m + 1)) as f64 / 7.0 + if k / m == k % m { 3.0 } else { 0.0 })
            .collect();
        let (l, v) = symmetric_eigen(&a, m);
        for i in 0..m {
            for j in 0..m {
                let s: f64 = (0..m).map(|k| v[i * m + k] * l[k] * v[j * m + k]).sum();
                assert!((s - a[i * m + j]).abs() < 1e-12, "{i},{j}: {s} vs {}", a[i * m + j]);
            }
        }
        let r = inverse_sqrt(&a, m);
        // r a r = I
        let ra = crate::stats::linalg::matmul(&r, &a, m, m, m);
        let rar = crate::stats::linalg::matmul(&ra, &r, m, m, m);
        for i in 0..m {
            for j in 0..m {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((rar[i * m + j] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn bad_contrasts_and_levels_are_refused() {
        with_rows(|d| {
            let cl = Factor { level: &d.school, levels: 12 };
            let fit =
                FixedSpec::default().fit(design(d, &["intercept", "standLRT"]).view(), ArrayView1::from(&d.y)).unwrap();
            assert!(fit.satterthwaite(&cl, &[1.0]).is_err());
            assert!(fit.satterthwaite(&cl, &[0.0, 0.0]).is_err());
            assert!(fit.cr2_test(&cl, &[0.0, 1.0], 1.5).is_err());
            let one = vec![0; d.y.len()];
            assert!(fit.vcov(&Vcov::Cr2 { cluster: Factor { level: &one, levels: 1 } }).is_err());
        });
    }

    /// HC2 from its textbook formula on the full design `z` (column-major `n × q`):
    /// `(Z'Z)⁻¹ Σ_i z_i z_i' e_i² / (1 − h_ii) (Z'Z)⁻¹`, `h_ii = z_i'(Z'Z)⁻¹z_i`.
    fn hc2(z: &[f64], n: usize, q: usize, y: &[f64]) -> Vec<f64> {
        let za = Array2::from_shape_vec((n, q).f(), z.to_vec()).unwrap();
        let fit = FixedSpec::default().fit(za.view(), ArrayView1::from(y)).unwrap();
        let b = &fit.bread;
        let mut meat = vec![0.0; q * q];
        for i in 0..n {
            let zi: Vec<f64> = (0..q).map(|j| z[j * n + i]).collect();
            let h: f64 = (0..q).map(|a| (0..q).map(|c| zi[a] * b[a * q + c] * zi[c]).sum::<f64>()).sum();
            let w = fit.residuals[i].powi(2) / (1.0 - h);
            for a in 0..q {
                for c in 0..q {
                    meat[a * q + c] += zi[a] * zi[c] * w;
                }
            }
        }
        crate::stats::linalg::sandwich(b, &meat, q)
    }

    proptest::proptest! {
        #[test]
        fn with_every_row_its_own_cluster_cr2_equals_hc2(
            xs in proptest::collection::vec((-3.0f64..3.0, -3.0f64..3.0, 0usize..3), 9..40)
        ) {
            let n = xs.len();
            let x: Vec<f64> = xs.iter().map(|t| t.0).collect();
            let y: Vec<f64> = xs.iter().map(|t| 0.5 * t.0 + t.1 + t.2 as f64).collect();
            let g: Vec<usize> = xs.iter().map(|t| t.2).collect();
            let own: Vec<usize> = (0..n).collect();
            let cl = Factor { level: &own, levels: n };
            let counts: Vec<usize> = (0..3).map(|l| g.iter().filter(|&&v| v == l).count()).collect();
            proptest::prop_assume!(counts.iter().all(|&c| c >= 2));
            let spread = x.iter().fold(0.0f64, |m, v| m.max((v - x[0]).abs()));
            proptest::prop_assume!(spread > 0.1);
            // intercept and x, nothing absorbed
            let mut z = vec![1.0; n];
            z.extend(&x);
            let za = Array2::from_shape_vec((n, 2).f(), z.clone()).unwrap();
            let fit = FixedSpec::default().fit(za.view(), ArrayView1::from(&y)).unwrap();
            let cr2 = fit.vcov(&Vcov::Cr2 { cluster: cl }).unwrap().matrix;
            let want = hc2(&z, n, 2, &y);
            for (a, b) in cr2.iter().zip(&want) {
                proptest::prop_assert!((a - b).abs() <= 1e-9 * want[3].abs().max(want[0].abs()), "{a} vs HC2 {b}");
            }
            // x with the three-level factor absorbed against x with its dummies written out
            let f = Factor { level: &g, levels: 3 };
            let xa = Array2::from_shape_vec((n, 1).f(), x.clone()).unwrap();
            let absorbed = FixedSpec { absorb: &[f], ..FixedSpec::default() }.fit(xa.view(), ArrayView1::from(&y)).unwrap();
            let cr2 = absorbed.vcov(&Vcov::Cr2 { cluster: cl }).unwrap().matrix[0];
            let mut z = x.clone();
            for l in 0..3 {
                z.extend(g.iter().map(|&v| if v == l { 1.0 } else { 0.0 }));
            }
            let want = hc2(&z, n, 4, &y)[0];
            proptest::prop_assert!((cr2 - want).abs() <= 1e-9 * want, "absorbed: {cr2} vs HC2 {want}");
            // the same by the low-rank form (the automatic choice is the exact one here)
            let low = absorbed.cr2_from(&absorbed.parts(&cl, Path::LowRank).unwrap()).matrix[0];
            proptest::prop_assert!((low - want).abs() <= 1e-9 * want, "low rank: {low} vs HC2 {want}");
        }
    }

    /// A random design: `n` rows, `p` covariates, the given absorbed factors, a cluster
    /// factor; returns the fit.
    fn random_fit(rng: &mut ChaCha8Rng, n: usize, p: usize, absorb: &[Factor], intercept: bool) -> FixedFit {
        let mut x: Vec<f64> = if intercept { vec![1.0; n] } else { Vec::new() };
        x.extend((0..n * p).map(|_| rng.random::<f64>() * 4.0 - 2.0));
        let cols = p + usize::from(intercept);
        let y: Vec<f64> = (0..n).map(|i| x[(cols - 1) * n + i] + 2.0 * rng.random::<f64>()).collect();
        let xa = Array2::from_shape_vec((n, cols).f(), x).unwrap();
        FixedSpec { absorb, ..FixedSpec::default() }.fit(xa.view(), ArrayView1::from(&y)).unwrap()
    }

    /// The CR2 covariance and the df of every unit contrast and of `(1, −1, 0, …)` by one form.
    fn by_path(fit: &FixedFit, cl: &Factor, path: Path) -> (Vec<f64>, Vec<f64>) {
        let parts = fit.parts(cl, path).unwrap();
        let p = fit.p();
        let mut contrasts: Vec<Vec<f64>> =
            (0..p).map(|j| (0..p).map(|i| if i == j { 1.0 } else { 0.0 }).collect()).collect();
        if p > 1 {
            contrasts.push((0..p).map(|i| [1.0, -1.0].get(i).copied().unwrap_or(0.0)).collect());
        }
        let df = contrasts.iter().map(|c| fit.df_of(&parts, c).unwrap()).collect();
        (fit.cr2_from(&parts).matrix, df)
    }

    fn assert_paths_agree(fit: &FixedFit, cl: &Factor, what: &str) {
        let (v_low, df_low) = by_path(fit, cl, Path::LowRank);
        let (v_exact, df_exact) = by_path(fit, cl, Path::Exact);
        let scale = v_exact.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in v_low.iter().zip(&v_exact) {
            assert!((a - b).abs() <= 1e-9 * scale, "{what}: V low rank {a} vs exact {b}");
        }
        for (a, b) in df_low.iter().zip(&df_exact) {
            assert!((a - b).abs() <= 1e-9 * b, "{what}: df low rank {a} vs exact {b}");
        }
    }

    #[test]
    fn low_rank_and_exact_paths_agree_on_random_designs() {
        let mut rng = ChaCha8Rng::seed_from_u64(18);
        for rep in 0..3 {
            let n = 120 + 37 * rep;
            // 8 clusters of unequal size; 16 schools nested in them; grade and sex cross them
            let cluster: Vec<usize> = (0..n).map(|_| (rng.random::<f64>().powi(2) * 8.0) as usize).collect();
            let school: Vec<usize> = cluster.iter().map(|&c| 2 * c + rng.random_range(0..2)).collect();
            let grade: Vec<usize> = (0..n).map(|_| rng.random_range(0..3)).collect();
            let sex: Vec<usize> = (0..n).map(|_| rng.random_range(0..2)).collect();
            let cl = Factor { level: &cluster, levels: 8 };
            let (sch, gr, sx) = (
                Factor { level: &school, levels: 16 },
                Factor { level: &grade, levels: 3 },
                Factor { level: &sex, levels: 2 },
            );
            assert_paths_agree(&random_fit(&mut rng, n, 2, &[], true), &cl, "no absorbed factor");
            assert_paths_agree(&random_fit(&mut rng, n, 2, &[sch], false), &cl, "nested schools");
            assert_paths_agree(&random_fit(&mut rng, n, 2, &[gr], false), &cl, "non-nested grade");
            assert_paths_agree(&random_fit(&mut rng, n, 3, &[sch, gr], false), &cl, "nested and non-nested");
            assert_paths_agree(&random_fit(&mut rng, n, 1, &[gr, sx], false), &cl, "two non-nested");
            assert_paths_agree(&random_fit(&mut rng, n, 2, &[sch, gr, sx], false), &cl, "one nested, two not");
        }
        // more clusters than DIRECT_PAIRS (the off-diagonal sum through the k × k matrix)
        let n = 2 * (DIRECT_PAIRS + 100);
        let pairs: Vec<usize> = (0..n).map(|i| i / 2).collect();
        let grade: Vec<usize> = (0..n).map(|_| rng.random_range(0..3)).collect();
        let cl = Factor { level: &pairs, levels: n / 2 };
        let gr = Factor { level: &grade, levels: 3 };
        assert_paths_agree(&random_fit(&mut rng, n, 2, &[gr], false), &cl, "1,100 clusters of 2");
    }

    #[test]
    fn the_automatic_choice_is_low_rank_unless_the_exact_form_is_cheaper() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 400;
        let cluster: Vec<usize> = (0..n).map(|i| i % 4).collect();
        let own: Vec<usize> = (0..n).collect();
        let grade: Vec<usize> = (0..n).map(|_| rng.random_range(0..3)).collect();
        let gr = Factor { level: &grade, levels: 3 };
        let fit = random_fit(&mut rng, n, 2, &[gr], false);
        let kind = |c: &Factor| matches!(fit.parts(c, Path::Auto).unwrap(), Parts::LowRank(_));
        // 4 clusters of 100: 100³ per cluster against n k² + n d + G k³
        assert!(kind(&Factor { level: &cluster, levels: 4 }));
        // every row its own cluster: 1 per cluster
        assert!(!kind(&Factor { level: &own, levels: n }));
    }

    /// Intercept only: `H_gg = J/n`, so `A_g 1 = (1 − f_g)^{-1/2} 1` with `f_g = n_g/n`,
    /// `V = Σ_g S_g² / (n² (1 − f_g))` (`S_g` the cluster's residual sum) and
    /// `q_g'q_h = δ_gh f_g/(n(1 − f_g)) − f_g f_h/(n sqrt((1 − f_g)(1 − f_h)))`.
    #[test]
    fn a_cluster_of_5000_rows_gives_the_closed_form() {
        let sizes = [5000, 3000, 2000];
        let n: usize = sizes.iter().sum();
        let cluster: Vec<usize> = sizes.iter().enumerate().flat_map(|(g, &m)| std::iter::repeat_n(g, m)).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let y: Vec<f64> = cluster.iter().map(|&g| g as f64 * 0.3 + rng.random::<f64>()).collect();
        let x = Array2::from_shape_vec((n, 1).f(), vec![1.0; n]).unwrap();
        let fit = FixedSpec::default().fit(x.view(), ArrayView1::from(&y)).unwrap();
        let cl = Factor { level: &cluster, levels: 3 };
        let t = fit.cr2_test(&cl, &[1.0], 0.95).unwrap();
        let nf = n as f64;
        let f: Vec<f64> = sizes.iter().map(|&m| m as f64 / nf).collect();
        let mut s = [0.0; 3];
        for (&g, e) in cluster.iter().zip(&fit.residuals) {
            s[g] += e;
        }
        let var: f64 = (0..3).map(|g| s[g] * s[g] / (nf * nf * (1.0 - f[g]))).sum();
        assert!((t.se - var.sqrt()).abs() <= 1e-10 * t.se, "SE {} vs closed form {}", t.se, var.sqrt());
        let qq = |g: usize, h: usize| {
            let d = if g == h { f[g] / (nf * (1.0 - f[g])) } else { 0.0 };
            d - f[g] * f[h] / (nf * ((1.0 - f[g]) * (1.0 - f[h])).sqrt())
        };
        let expected: f64 = (0..3).map(|g| qq(g, g)).sum();
        let second: f64 = (0..3).flat_map(|g| (0..3).map(move |h| (g, h))).map(|(g, h)| qq(g, h).powi(2)).sum();
        let df = expected * expected / second;
        assert!((t.df - df).abs() <= 1e-10 * df, "df {} vs closed form {df}", t.df);
        assert!(t.df > 1.0 && t.df < 2.0, "df {} of 3 clusters", t.df);
    }
}
