//! The simulator's one source of randomness: a seeded ChaCha8 generator with the draws the
//! model uses, and the pool of distinct student IDs drawn from it.

use std::collections::HashSet;

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// The single random number generator of a simulation; every draw goes through it, in a
/// fixed order, so a seed fixes the district.
pub(super) struct Rng(ChaCha8Rng);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }
    /// A generator of its own for draws added after the model's fixed order: the same key
    /// as [`Rng::new`] on another ChaCha8 stream (`stream` > 0), so its draws leave every
    /// draw of stream 0 as it was.
    pub(super) fn stream(seed: u64, stream: u64) -> Self {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(stream);
        Rng(r)
    }
    pub(super) fn unif(&mut self) -> f64 {
        self.0.random::<f64>()
    }
    pub(super) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unif()
    }
    pub(super) fn normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.0)
    }
    pub(super) fn bern(&mut self, p: f64) -> bool {
        self.unif() < p
    }
    /// Uniform integer in `lo..=hi`.
    pub(super) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.0.random_range(lo..=hi)
    }
    /// Uniform index in `0..n` (n > 0).
    pub(super) fn index(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }
    pub(super) fn shuffle<T>(&mut self, v: &mut [T]) {
        v.shuffle(&mut self.0);
    }
    pub(super) fn weighted(&mut self, w: &[f64]) -> usize {
        let total: f64 = w.iter().sum();
        let mut u = self.unif() * total;
        for (i, x) in w.iter().enumerate() {
            if u < *x {
                return i;
            }
            u -= x;
        }
        w.len() - 1
    }
    /// `k` distinct indices of `0..n`, sorted.
    pub(super) fn sample_indices(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut v = rand::seq::index::sample(&mut self.0, n, k.min(n)).into_vec();
        v.sort_unstable();
        v
    }
}

/// Distinct student IDs drawn uniformly from `1..=max`.
pub(super) struct IdPool {
    used: HashSet<u32>,
    max: i64,
}

impl IdPool {
    pub(super) fn new(needed: usize) -> Self {
        let max = (needed as i64 * 8 / 5).clamp(399_999, 999_999);
        IdPool { used: HashSet::with_capacity(needed), max }
    }
    pub(super) fn draw(&mut self, rng: &mut Rng) -> u32 {
        loop {
            let x = rng.int(1, self.max) as u32;
            if self.used.insert(x) {
                return x;
            }
        }
    }
}
