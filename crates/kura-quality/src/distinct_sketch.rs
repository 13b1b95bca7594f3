//! An approximate distinct count: a HyperLogLog sketch of 2^13 one-byte registers (standard
//! error about 1.15 %), read with Ertl's improved raw estimator ("New cardinality estimation
//! algorithms for HyperLogLog sketches", 2017), which needs no bias tables and stays accurate
//! from a handful of values to billions.
//!
//! Values are hashed by the caller ([`value_hasher`]) so that one sketch type serves every
//! column type; two sketches of the same column merge by taking each register's maximum.

/// Index bits: 2^13 registers, 8 KiB per sketch. A monitor keeps one sketch per column and
/// bucket and inserts each row into its bucket's; with 16 KiB sketches (2^14, 0.8 % standard
/// error) a 16-bucket window's registers spilled out of the core's nearest caches, and a
/// 10-column monitor scan ran about 6 % slower (bench/RESULTS.md, "Monitors: where the time
/// goes"). 1.15 % is well inside the day-to-day spread a distinct-count monitor judges against.
const PRECISION: u32 = 13;
const REGISTERS: usize = 1 << PRECISION;
/// Bits left for the rank after the index.
const RANK_BITS: u32 = 64 - PRECISION;

/// The hasher every sketch's values go through. Fixed seeds: the same value always lands in
/// the same register, so sketches built on different threads merge.
pub fn value_hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(
        0x6b75_7261_6d6f_6e69,
        0x7472_6469_7374_696e,
        0x6374_636f_756e_7473,
        0x9e37_79b9_7f4a_7c15,
    )
}

/// One column's distinct values in one bucket.
#[derive(Clone)]
pub struct DistinctSketch {
    registers: Box<[u8; REGISTERS]>,
}

impl Default for DistinctSketch {
    fn default() -> Self {
        Self {
            registers: Box::new([0; REGISTERS]),
        }
    }
}

impl std::fmt::Debug for DistinctSketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistinctSketch")
            .field("estimate", &self.estimate())
            .finish()
    }
}

impl DistinctSketch {
    /// Adds one value by its 64-bit hash.
    #[inline]
    pub fn insert_hash(&mut self, hash: u64) {
        let index = (hash >> RANK_BITS) as usize;
        // The guard bit caps the rank at RANK_BITS + 1 when the remaining bits are all zero.
        let rest = (hash << PRECISION) | (1 << (PRECISION - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        // A branch, not a store every time: once a sketch has filled, a value rarely raises
        // its register, and an unconditional store makes every insert into a register wait on
        // the previous store to it (a few hot registers, for a column of few values).
        let register = &mut self.registers[index];
        if rank > *register {
            *register = rank;
        }
    }

    /// Takes in another sketch of the same column: the sketch of both sets of values.
    pub fn merge(&mut self, other: &DistinctSketch) {
        for (mine, theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// The estimated number of distinct values.
    pub fn estimate(&self) -> f64 {
        let m = REGISTERS as f64;
        let q = RANK_BITS as usize;
        let mut histogram = [0u32; RANK_BITS as usize + 2];
        for &r in self.registers.iter() {
            histogram[usize::from(r)] += 1;
        }
        let mut z = m * tau((m - f64::from(histogram[q + 1])) / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + f64::from(histogram[k]));
        }
        z += m * sigma(f64::from(histogram[0]) / m);
        let alpha_infinity = 0.5 / std::f64::consts::LN_2;
        alpha_infinity * m * m / z
    }
}

/// Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1), the correction for empty registers.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's τ(x), the correction for saturated registers.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// Hashes a value for [`DistinctSketch::insert_hash`].
#[inline]
pub fn hash_value<T: std::hash::Hash + ?Sized>(hasher: &ahash::RandomState, value: &T) -> u64 {
    hasher.hash_one(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch_of(values: impl Iterator<Item = u64>) -> DistinctSketch {
        let hasher = value_hasher();
        let mut s = DistinctSketch::default();
        for v in values {
            s.insert_hash(hash_value(&hasher, &v));
        }
        s
    }

    #[test]
    fn an_empty_sketch_counts_zero() {
        assert_eq!(DistinctSketch::default().estimate(), 0.0);
    }

    #[test]
    fn estimates_are_within_three_standard_errors_from_one_to_two_million() {
        // Standard error 1.04 / sqrt(2^13) = 1.15 %; a dozen values are counted exactly.
        for n in [1u64, 2, 3, 8, 12, 100, 1_000, 20_000, 100_000, 2_000_000] {
            // Every value twice: duplicates must not count.
            let s = sketch_of((0..n).chain(0..n));
            let e = s.estimate();
            let tolerance = if n <= 12 { 0.5 } else { 0.0345 * n as f64 };
            assert!(
                (e - n as f64).abs() <= tolerance,
                "{n} distinct values estimated as {e}"
            );
        }
    }

    #[test]
    fn merged_sketches_count_the_union() {
        let mut a = sketch_of(0..60_000);
        let b = sketch_of(40_000..100_000);
        a.merge(&b);
        let e = a.estimate();
        assert!((e - 100_000.0).abs() < 3_450.0, "union estimated as {e}");
        let whole = sketch_of(0..100_000);
        assert_eq!(a.registers, whole.registers);
    }

    #[test]
    fn strings_are_estimated_like_integers() {
        let hasher = value_hasher();
        let mut s = DistinctSketch::default();
        for i in 0..50_000u32 {
            s.insert_hash(hash_value(&hasher, format!("s-{i}").as_bytes()));
        }
        let e = s.estimate();
        assert!((e - 50_000.0).abs() < 1_725.0, "estimated as {e}");
    }
}
