//! An imported dataset's score: a tenth of its images is held out from training
//! ([`Dataset::hold_out`]) and the generator's samples are scored against their features, with
//! the same classifier that scores MNIST against its test set.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;

use super::Pending;
use crate::data::{DataRef, Dataset, HELD_OUT_EVERY, scale_pixel};
use crate::protocol::TrainerError;
use crate::quality::{self, QualityModel};

/// The images held out, scaled, and the classifier scoring against them once their
/// statistics are computed (once per dataset).
#[derive(Default)]
pub struct HeldOut {
    images: Option<Rc<Vec<f32>>>,
    model: Rc<RefCell<Option<Rc<QualityModel>>>>,
}

impl HeldOut {
    /// `dataset` to train on, and what is held out of it: nothing of MNIST (scored against its
    /// test set), a tenth of other data.
    pub fn split(dataset: Dataset, source: &DataRef) -> (Dataset, Self) {
        if !source.holds_out() {
            return (dataset, Self::default());
        }
        let (training, held_out) = dataset.hold_out();
        let scaled = held_out.pixels.iter().map(|&p| scale_pixel(p)).collect();
        let held_out = Self {
            images: Some(Rc::new(scaled)),
            model: Rc::default(),
        };
        (training, held_out)
    }

    /// The classifier scoring data `source`: MNIST's `model`, or for other data the same
    /// classifier against the held-out images' statistics.
    pub fn scoring_model(
        &self,
        source: &DataRef,
        model: Rc<QualityModel>,
    ) -> Pending<Result<Rc<QualityModel>, TrainerError>> {
        if !source.holds_out() {
            return Box::pin(std::future::ready(Ok(model)));
        }
        let (images, cache) = (self.images.clone(), self.model.clone());
        Box::pin(async move {
            if let Some(ready) = cache.borrow().clone() {
                return Ok(ready);
            }
            let too_few = || {
                TrainerError::Refused(format!(
                    "the data has too few images to hold out a tenth for the score (at least {} needed)",
                    2 * HELD_OUT_EVERY
                ))
            };
            let images = images.ok_or_else(too_few)?;
            let against = quality::against_images(&model, &images, &Device::flex())
                .await
                .map_err(|_| too_few())?;
            let against = Rc::new(against);
            *cache.borrow_mut() = Some(against.clone());
            Ok(against)
        })
    }
}
