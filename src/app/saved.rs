//! The saved run as stored in IndexedDB: the weights file and what the page showed of it.

use serde_bytes::ByteBuf;

use crate::protocol::{Snapshot, bytes_to_floats, floats_to_bytes};
use crate::train::StepValues;

/// A run as saved: its weights file (model, optimizer state, position, settings with seeds —
/// everything the next step depends on) and what the page showed of it. The field names are
/// the stored record's: keep them, or migrate old records.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedRun {
    /// The weights file.
    pub weights: ByteBuf,
    /// Completed epochs when saved.
    pub epoch: usize,
    /// Optimizer steps when saved.
    pub step: u64,
    /// The chart: four f32 (little-endian) per recorded step.
    pub history: ByteBuf,
    /// Snapshots of G(seed): epoch and 784 f32 pixels (little-endian).
    pub snapshots: Vec<(usize, ByteBuf)>,
    /// When it was saved (ms since the Unix epoch).
    pub saved_at: f64,
}

impl SavedRun {
    /// The chart history as values.
    pub fn history_values(&self) -> Vec<StepValues> {
        bytes_to_floats(&self.history)
            .chunks_exact(4)
            .map(|v| StepValues {
                d_loss: v[0],
                g_loss: v[1],
                d_real: v[2],
                d_fake: v[3],
            })
            .collect()
    }

    /// Encodes a chart history.
    pub fn encode_history(history: &[StepValues]) -> ByteBuf {
        let values: Vec<f32> = history
            .iter()
            .flat_map(|v| [v.d_loss, v.g_loss, v.d_real, v.d_fake])
            .collect();
        ByteBuf::from(floats_to_bytes(&values))
    }

    /// The snapshots as pixels.
    pub fn snapshot_values(&self) -> Vec<Snapshot> {
        self.snapshots
            .iter()
            .map(|(epoch, bytes)| (*epoch, bytes_to_floats(bytes)))
            .collect()
    }

    /// Encodes snapshots.
    pub fn encode_snapshots(snapshots: &[Snapshot]) -> Vec<(usize, ByteBuf)> {
        snapshots
            .iter()
            .map(|(epoch, pixels)| (*epoch, ByteBuf::from(floats_to_bytes(pixels))))
            .collect()
    }
}
