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

/// Where the reference curves are, in the source tree; the page fetches them from its own
/// origin, under `data/quality/`, when it needs them (kept out of the wasm: 16 KB gzipped).
pub const REFERENCE_DIR: &str = "www/data/quality";

/// The file of `model`'s reference curve (its description's `reference`), if it has one.
pub fn reference_file(model: ModelKind) -> Option<&'static str> {
    model.spec(1).reference
}

/// The committed reference curve of `model`, read from the source tree (natively), if it has
/// one.
#[cfg(not(target_arch = "wasm32"))]
pub fn reference_curve(model: ModelKind) -> Option<Result<ReferenceCurve, String>> {
    let name = reference_file(model)?;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(REFERENCE_DIR)
        .join(name);
    Some(
        std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string())),
    )
}
