//! A step's statistics: on the device as the step leaves them, and read back to the host.

use burn::tensor::{Tensor, TensorData, Transaction};

use super::TrainError;

/// A step's statistics, still on the device: read them with [`StepStats::read`].
#[derive(Debug, Clone)]
pub struct StepStats {
    /// Discriminator loss.
    pub d_loss: Tensor<1>,
    /// Generator loss.
    pub g_loss: Tensor<1>,
    /// Mean D(x) over the real batch, as a probability.
    pub d_real: Tensor<1>,
    /// Mean D(G(z)) over the fake batch, as a probability.
    pub d_fake: Tensor<1>,
}

/// A step's statistics read back to the host.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepValues {
    /// Discriminator loss.
    pub d_loss: f32,
    /// Generator loss.
    pub g_loss: f32,
    /// Mean D(x).
    pub d_real: f32,
    /// Mean D(G(z)).
    pub d_fake: f32,
}

impl StepValues {
    /// Whether every value is a finite number (a diverged run gives NaN or infinity).
    pub fn is_finite(&self) -> bool {
        [self.d_loss, self.g_loss, self.d_real, self.d_fake]
            .iter()
            .all(|v| v.is_finite())
    }
}

fn first_value(data: &TensorData) -> Result<f32, TrainError> {
    data.as_slice::<f32>()
        .ok()
        .and_then(|s| s.first().copied())
        .ok_or_else(|| TrainError::Read(format!("expected a float, got {:?}", data.dtype())))
}

impl StepStats {
    /// Reads the four values in one asynchronous transfer (synchronous reads panic on WebGPU).
    pub async fn read(self) -> Result<StepValues, TrainError> {
        let data = Transaction::default()
            .register(self.d_loss)
            .register(self.g_loss)
            .register(self.d_real)
            .register(self.d_fake)
            .execute_async()
            .await
            .map_err(|e| TrainError::Read(format!("{e:?}")))?;
        if data.len() != 4 {
            return Err(TrainError::Read(format!(
                "expected 4 values, got {}",
                data.len()
            )));
        }
        Ok(StepValues {
            d_loss: first_value(&data[0])?,
            g_loss: first_value(&data[1])?,
            d_real: first_value(&data[2])?,
            d_fake: first_value(&data[3])?,
        })
    }
}
