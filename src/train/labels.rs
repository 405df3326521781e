//! A conditional model's labels on the device, and the generator's images for digits asked
//! for: what the step, the grid, the walks, the score and the samples ask of a [`Gan`] with
//! labels.

use burn::tensor::Tensor;

use super::Gan;
use crate::model::one_hot;

/// The digits of a conditional model's step as one-hot rows on the device: the real images'
/// labels `[n, 10]` and those the fakes are asked for `[batch, 10]`.
#[derive(Debug, Clone)]
pub struct Labels {
    /// The real images' digits.
    pub real: Tensor<2>,
    /// The digits the generator is asked for, one per noise row.
    pub fake: Tensor<2>,
}

impl Gan {
    /// How many labels the model is conditioned on (0: none), as its networks say.
    pub fn labels(&self) -> usize {
        self.generator.spec.labels
    }

    /// `labels` (each a digit) as one-hot rows on the device, for a model that takes labels.
    pub fn upload_labels(&self, labels: &[u8]) -> Tensor<2> {
        let width = self.labels().max(1);
        self.upload(one_hot(labels, width), labels.len(), width)
    }

    /// A conditional step's labels on the device, from the real images' and the fakes' digits;
    /// `None` for a model without labels.
    pub fn step_labels(&self, real: &[u8], fake: &[u8]) -> Option<Labels> {
        (self.labels() > 0).then(|| Labels {
            real: self.upload_labels(real),
            fake: self.upload_labels(fake),
        })
    }

    /// The shown generator's ([`Gan::shown_generator`]) images for `noise`, without autodiff: `[n, 784]` in [−1, 1]. A
    /// conditional model draws the digits in turn ([`crate::model::default_labels`]).
    pub fn generate(&self, noise: Tensor<2>) -> Tensor<2> {
        self.shown_generator().generate(noise, None)
    }

    /// The shown generator's ([`Gan::shown_generator`]) images for host `noise` (`labels.len()` rows), each row asked for its
    /// digit in `labels` (ignored by a model without labels).
    pub fn generate_for(&self, noise: Vec<f32>, labels: &[u8]) -> Tensor<2> {
        let width = self.labels();
        let one_hot = (width > 0).then(|| one_hot(labels, width));
        self.shown_generator()
            .generate_values(noise, labels.len(), one_hot, self.device())
    }

    /// The shown generator's ([`Gan::shown_generator`]) images for `noise`, each row asked for its digit in `labels` (ignored
    /// by a model without labels).
    pub fn generate_labelled(&self, noise: Tensor<2>, labels: &[u8]) -> Tensor<2> {
        let labels = (self.labels() > 0).then(|| self.upload_labels(labels));
        self.shown_generator().generate(noise, labels)
    }
}
