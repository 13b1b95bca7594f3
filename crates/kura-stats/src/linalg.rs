//! Small dense linear algebra for the regressions: X'WX, Cholesky, inverse.
//!
//! The models here have a handful of columns and up to millions of rows, so everything reduces
//! to p×p symmetric positive-definite systems; a Cholesky factorisation with a relative pivot
//! check is accurate enough for 1e-6 agreement and detects collinear designs instead of
//! producing garbage. Not public: callers see estimates, not matrices.

/// A row-major p×p (or general) matrix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.cols + j] = v;
    }
    pub fn add(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.cols + j] += v;
    }
    /// Matrix product self × other.
    pub fn mul(&self, other: &Matrix) -> Matrix {
        let mut out = Matrix::zeros(self.rows, other.cols);
        for i in 0..self.rows {
            for k in 0..self.cols {
                let a = self.get(i, k);
                for j in 0..other.cols {
                    out.add(i, j, a * other.get(k, j));
                }
            }
        }
        out
    }
    /// Matrix × vector.
    pub fn mul_vec(&self, v: &[f64]) -> Vec<f64> {
        (0..self.rows)
            .map(|i| (0..self.cols).map(|j| self.get(i, j) * v[j]).sum())
            .collect()
    }
}

/// X'WX for a design given as columns (each of length n); `w` = None means W = I.
///
/// Accumulates row by row in blocks so that a million-row design is read once per call rather
/// than once per pair of columns.
pub(crate) fn xtwx(cols: &[&[f64]], w: Option<&[f64]>) -> Matrix {
    let p = cols.len();
    let n = cols.first().map_or(0, |c| c.len());
    if n >= 4096 {
        let mut acc = vec![0.0; p * p];
        let mut row = vec![0.0; p];
        for i in 0..n {
            let wi = w.map_or(1.0, |w| w[i]);
            for (r, c) in row.iter_mut().zip(cols) {
                *r = c[i];
            }
            for a in 0..p {
                let ra = row[a] * wi;
                for b in a..p {
                    acc[a * p + b] += ra * row[b];
                }
            }
        }
        let mut out = Matrix::zeros(p, p);
        for a in 0..p {
            for b in a..p {
                out.set(a, b, acc[a * p + b]);
                out.set(b, a, acc[a * p + b]);
            }
        }
        return out;
    }
    let mut out = Matrix::zeros(p, p);
    for a in 0..p {
        for b in a..p {
            let s: f64 = match w {
                None => cols[a].iter().zip(cols[b]).map(|(x, y)| x * y).sum(),
                Some(w) => cols[a]
                    .iter()
                    .zip(cols[b])
                    .zip(w)
                    .map(|((x, y), w)| x * y * w)
                    .sum(),
            };
            out.set(a, b, s);
            out.set(b, a, s);
        }
    }
    out
}

/// X'v for a design given as columns.
pub(crate) fn xtv(cols: &[&[f64]], v: &[f64]) -> Vec<f64> {
    cols.iter()
        .map(|c| c.iter().zip(v).map(|(x, y)| x * y).sum())
        .collect()
}

/// Lower Cholesky factor of a symmetric positive-definite matrix, or None when a pivot is not
/// clearly positive (relative to the diagonal), i.e. the design is (numerically) singular.
pub(crate) fn cholesky(a: &Matrix) -> Option<Matrix> {
    let n = a.rows;
    let mut l = Matrix::zeros(n, n);
    for j in 0..n {
        let mut d = a.get(j, j);
        for k in 0..j {
            d -= l.get(j, k) * l.get(j, k);
        }
        let floor = 1e-12 * a.get(j, j).abs().max(f64::MIN_POSITIVE);
        if d.is_nan() || d <= floor || !d.is_finite() {
            return None;
        }
        let djj = d.sqrt();
        l.set(j, j, djj);
        for i in (j + 1)..n {
            let mut s = a.get(i, j);
            for k in 0..j {
                s -= l.get(i, k) * l.get(j, k);
            }
            l.set(i, j, s / djj);
        }
    }
    Some(l)
}

/// Solves A x = b given the Cholesky factor L of A.
pub(crate) fn chol_solve(l: &Matrix, b: &[f64]) -> Vec<f64> {
    let n = l.rows;
    let mut y = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            y[i] -= l.get(i, k) * y[k];
        }
        y[i] /= l.get(i, i);
    }
    for i in (0..n).rev() {
        for k in (i + 1)..n {
            y[i] -= l.get(k, i) * y[k];
        }
        y[i] /= l.get(i, i);
    }
    y
}

/// Inverse of A from its Cholesky factor.
pub(crate) fn chol_inverse(l: &Matrix) -> Matrix {
    let n = l.rows;
    let mut inv = Matrix::zeros(n, n);
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let col = chol_solve(l, &e);
        for (i, v) in col.into_iter().enumerate() {
            inv.set(i, j, v);
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_times_matrix_is_identity_and_singular_is_detected() {
        let a = Matrix {
            rows: 3,
            cols: 3,
            data: vec![4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0],
        };
        let l = cholesky(&a).expect("spd");
        let i = a.mul(&chol_inverse(&l));
        for r in 0..3 {
            for c in 0..3 {
                let want = if r == c { 1.0 } else { 0.0 };
                assert!((i.get(r, c) - want).abs() < 1e-12);
            }
        }
        let x1 = [1.0, 2.0, 3.0];
        let x2 = [2.0, 4.0, 6.0];
        assert!(cholesky(&xtwx(&[&x1, &x2], None)).is_none());
    }
}
