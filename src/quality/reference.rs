//! The reference curve: the native `train` example at the reference's settings, scored by the
//! same code after every epoch (`train --score-every 1 --scores-out …`). The page draws it
//! dashed beside the run's own scores.

/// One scored epoch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    /// Epochs trained.
    pub epoch: usize,
    /// FID after it.
    pub fid: f64,
    /// Inception Score after it.
    pub inception: f64,
    /// For a conditional model, the share of samples taken for the digit asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<f64>,
}

/// A run's scores, epoch by epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReferenceCurve {
    /// Samples per score.
    pub samples: usize,
    /// The run's batch size.
    pub batch_size: usize,
    /// Epochs the run was configured for.
    pub epochs: usize,
    /// Its scores.
    pub points: Vec<CurvePoint>,
}

/// The committed reference curve (`www/data/quality/reference.json`).
pub fn reference_curve() -> Result<ReferenceCurve, serde_json::Error> {
    serde_json::from_str(include_str!("../../www/data/quality/reference.json"))
}
