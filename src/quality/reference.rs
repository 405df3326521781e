//! The reference curves: each model's native `train` example at its default settings, scored
//! by the same code after every epoch (`train --model M --score-every 1 --scores-out …`). The
//! page draws the run's model's curve dashed beside the run's own scores.

use crate::model::ModelKind;

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

/// The committed reference curve of `model` (its description's `reference`, a file under
/// `www/data/quality/`), if it has one.
pub fn reference_curve(model: ModelKind) -> Option<Result<ReferenceCurve, serde_json::Error>> {
    model.spec(1).reference.map(serde_json::from_str)
}
