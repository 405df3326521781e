//! A score and the epoch it was taken after: plain values that the weights file, the protocol
//! and the page carry.

/// The quality of a generator (or of a set of images).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Score {
    /// Fréchet distance of the samples' features to the test set's (lower is better).
    pub fid: f64,
    /// Inception Score of the classifier's probabilities (1 to 10, higher is better).
    pub inception: f64,
    /// Samples the classifier takes for each digit 0–9.
    pub histogram: Vec<u32>,
    /// Samples scored.
    pub samples: usize,
    /// For a conditional model: how often the classifier takes a sample for the digit it was
    /// asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<RequestedDigits>,
}

/// The share of a conditional model's samples that the classifier takes for the digit each
/// was asked for.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestedDigits {
    /// Over all samples, in [0, 1].
    pub share: f64,
    /// For each digit 0–9, over the samples asked for it.
    pub per_digit: Vec<f64>,
}

/// A score taken right after an epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochScore {
    /// Epochs trained.
    pub epoch: usize,
    /// The score.
    pub score: Score,
}
