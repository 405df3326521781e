//! Feature statistics and the two scores computed from them: the Fréchet distance between two
//! Gaussians fitted to features (FID, with our classifier's features in place of Inception's)
//! and the Inception Score of class probabilities. The matrix square roots come from
//! `nalgebra`'s symmetric eigen-decomposition.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Mean and covariance of features, in f64.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureStats {
    /// `[d]`.
    pub mean: DVector<f64>,
    /// `[d, d]`, the unbiased estimate (n − 1), as `numpy.cov` computes it.
    pub covariance: DMatrix<f64>,
}

impl FeatureStats {
    /// The statistics of `rows` feature vectors of width `d`, given row after row.
    pub fn of_rows(features: &[f32], d: usize) -> Self {
        let n = features.len() / d;
        let rows = DMatrix::from_row_iterator(n, d, features.iter().map(|&v| f64::from(v)));
        let mean = rows.row_mean().transpose();
        let centred = DMatrix::from_fn(n, d, |i, j| rows[(i, j)] - mean[j]);
        let covariance = centred.transpose() * &centred / (n.max(2) - 1) as f64;
        Self { mean, covariance }
    }

    /// From a mean `[d]` and a row-major covariance `[d × d]` stored as f32.
    pub fn from_f32(mean: &[f32], covariance: &[f32]) -> Self {
        let d = mean.len();
        Self {
            mean: DVector::from_iterator(d, mean.iter().map(|&v| f64::from(v))),
            covariance: DMatrix::from_row_iterator(d, d, covariance.iter().map(|&v| f64::from(v))),
        }
    }

    /// The mean and the row-major covariance as f32 (how the classifier's file stores them).
    pub fn to_f32(&self) -> (Vec<f32>, Vec<f32>) {
        let d = self.mean.len();
        let mean = self.mean.iter().map(|&v| v as f32).collect();
        let covariance = (0..d)
            .flat_map(|i| (0..d).map(move |j| (i, j)))
            .map(|(i, j)| self.covariance[(i, j)] as f32)
            .collect();
        (mean, covariance)
    }
}

/// The square root of a symmetric positive semi-definite matrix (negative eigenvalues, which
/// rounding leaves, are taken as 0).
fn sqrt_psd(matrix: &DMatrix<f64>) -> DMatrix<f64> {
    let symmetric = (matrix + matrix.transpose()) * 0.5;
    let eigen = SymmetricEigen::new(symmetric);
    let roots = eigen.eigenvalues.map(|v| v.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

/// The Fréchet distance between the Gaussians of `a` and `b`:
/// `|μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½)`, with `tr((Σa Σb)^½) = tr((A Σb A)^½)`, `A = Σa^½`
/// (a symmetric form of the same product, so both roots are of symmetric matrices).
pub fn frechet_distance(a: &FeatureStats, b: &FeatureStats) -> f64 {
    let difference = (&a.mean - &b.mean).norm_squared();
    let root_a = sqrt_psd(&a.covariance);
    let product = &root_a * &b.covariance * &root_a;
    let symmetric = (&product + product.transpose()) * 0.5;
    let cross: f64 = SymmetricEigen::new(symmetric)
        .eigenvalues
        .iter()
        .map(|v| v.max(0.0).sqrt())
        .sum();
    (difference + a.covariance.trace() + b.covariance.trace() - 2.0 * cross).max(0.0)
}

/// The Inception Score of class probabilities `[n, classes]` (rows summing to 1), in one split:
/// `exp(mean_i KL(p(y|x_i) ‖ p(y)))`, from 1 (one class, or no confidence) to `classes`.
pub fn inception_score(probabilities: &[f32], classes: usize) -> f64 {
    let n = probabilities.len() / classes;
    if n == 0 {
        return 1.0;
    }
    let mut marginal = vec![0.0f64; classes];
    for row in probabilities.chunks_exact(classes) {
        for (m, &p) in marginal.iter_mut().zip(row) {
            *m += f64::from(p) / n as f64;
        }
    }
    let kl: f64 = probabilities
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .zip(&marginal)
                .filter(|(p, _)| **p > 0.0)
                .map(|(&p, &m)| f64::from(p) * (f64::from(p).ln() - m.max(f64::MIN_POSITIVE).ln()))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n as f64;
    kl.exp()
}

/// How many rows of `probabilities` `[n, classes]` each class wins.
pub fn class_histogram(probabilities: &[f32], classes: usize) -> Vec<u32> {
    let mut counts = vec![0u32; classes];
    for row in probabilities.chunks_exact(classes) {
        let best = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        counts[best] += 1;
    }
    counts
}
