//! Data-parallel training: a group of replicas of one run, each holding both networks and both
//! optimizers, splits every batch (real images and noise) into fixed shards. Each replica
//! computes both gradients of its shard from one forward pass, weighted by the shard's share
//! of the batch ([`LossWeights`]); every replica adds all the shards' parts in shard order
//! ([`combine`]), so each gets the same bits, the whole batch's mean gradient, and applies the
//! same fused update. A [`Trainer`] follows the position one optimizer step at a time.
//!
//! The replicas run on Burn's CPU backend (the browser's workers, or native threads).

use std::hash::{Hash, Hasher};
use std::ops::Range;

use thiserror::Error;

use crate::cpu::read_now;
use crate::data::Dataset;
use crate::idx::IMAGE_PIXELS;
use crate::optim::OptimError;
use crate::train::{Gan, LossWeights, StepValues, TrainError, Trainer};

/// Most replicas one run may train on.
pub const MAX_REPLICAS: usize = 16;

/// A replica's place in its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardPlace {
    /// This replica's shard (0-based).
    pub index: usize,
    /// Replicas in the group.
    pub count: usize,
}

impl ShardPlace {
    /// The only replica: the whole batch.
    pub const ALONE: Self = Self { index: 0, count: 1 };

    /// A place, if `index < count ≤ MAX_REPLICAS`.
    pub fn new(index: usize, count: usize) -> Option<Self> {
        (index < count && count <= MAX_REPLICAS).then_some(Self { index, count })
    }
}

/// Why the parts of a step do not combine.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShardError {
    /// No parts at all.
    #[error("no shard's gradient arrived")]
    Empty,
    /// The parts have different lengths (replicas of different runs).
    #[error("the shards' gradients differ in length ({0} and {1} values)")]
    Length(usize, usize),
    /// The parts belong to different optimizer steps.
    #[error("parts of steps {0} and {1} were combined")]
    Step(u64, u64),
}

/// The rows of shard `index` of `count` of a batch of `rows`: contiguous and in order, the first
/// `rows % count` shards one row longer than the rest.
pub fn shard_rows(rows: usize, index: usize, count: usize) -> Range<usize> {
    let (base, extra) = (rows / count, rows % count);
    let start = index * base + index.min(extra);
    start..start + base + usize::from(index < extra)
}

/// One shard's part of an optimizer step, read back: its weighted statistics and its whole
/// gradient (`Gan::host_gradients` layout). The parts of every shard add up to the step's.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardGradients {
    /// The optimizer step (0-based) the part belongs to.
    pub step: u64,
    /// Weighted losses and mean outputs.
    pub values: StepValues,
    /// Weighted gradient.
    pub grads: Vec<f32>,
}

/// The whole step from every shard's part, added in the order given (shard order), so every
/// replica that combines the same parts gets the same bits. The first part's gradient becomes
/// the sum.
pub fn combine(
    parts: impl IntoIterator<Item = ShardGradients>,
) -> Result<ShardGradients, ShardError> {
    let mut parts = parts.into_iter();
    let mut whole = parts.next().ok_or(ShardError::Empty)?;
    for part in parts {
        if part.step != whole.step {
            return Err(ShardError::Step(whole.step, part.step));
        }
        if part.grads.len() != whole.grads.len() {
            return Err(ShardError::Length(whole.grads.len(), part.grads.len()));
        }
        for (sum, value) in whole.grads.iter_mut().zip(&part.grads) {
            *sum += value;
        }
        let (sum, value) = (&mut whole.values, &part.values);
        sum.d_loss += value.d_loss;
        sum.g_loss += value.g_loss;
        sum.d_real += value.d_real;
        sum.d_fake += value.d_fake;
    }
    Ok(whole)
}

impl Gan {
    /// Replica `place`'s part of optimizer step `step` of the whole batch: `real` images
    /// (`[n, 784]` row-major) and `noise` (`[batch, noise_dim]`). A shard would be empty when
    /// a batch has fewer rows than the group has replicas: such a replica's part is zero.
    pub fn shard_part(
        &self,
        real: &[f32],
        noise: &[f32],
        place: ShardPlace,
        step: u64,
    ) -> Result<ShardGradients, TrainError> {
        self.labelled_shard_part(real, noise, None, place, step)
    }

    /// [`Gan::shard_part`] with a conditional model's digits: the real images' and the
    /// fakes', each shard taking its rows of both.
    pub fn labelled_shard_part(
        &self,
        real: &[f32],
        noise: &[f32],
        labels: Option<(&[u8], &[u8])>,
        place: ShardPlace,
        step: u64,
    ) -> Result<ShardGradients, TrainError> {
        let dim = self.generator.noise_dim();
        let rows_of = |rows: Range<usize>| noise[rows.start * dim..rows.end * dim].to_vec();
        self.part_with(real, noise.len() / dim, rows_of, labels, place, step)
    }

    /// [`Gan::labelled_shard_part`] with the noise of a batch of `batch` rows given by
    /// `noise_rows`, asked only for this shard's rows.
    fn part_with(
        &self,
        real: &[f32],
        batch: usize,
        noise_rows: impl FnOnce(Range<usize>) -> Vec<f32>,
        labels: Option<(&[u8], &[u8])>,
        place: ShardPlace,
        step: u64,
    ) -> Result<ShardGradients, TrainError> {
        let dim = self.generator.noise_dim();
        let real_rows = real.len() / IMAGE_PIXELS;
        // Every replica splits the same way: into as many shards as the smaller side allows.
        let active = place.count.min(real_rows).min(batch);
        if place.index >= active {
            return Ok(ShardGradients {
                step,
                values: StepValues {
                    d_loss: 0.0,
                    g_loss: 0.0,
                    d_real: 0.0,
                    d_fake: 0.0,
                },
                grads: vec![0.0; self.parameter_count()],
            });
        }
        let rows = shard_rows(real_rows, place.index, active);
        let fake = shard_rows(batch, place.index, active);
        let weights = LossWeights {
            real: rows.len() as f32 / real_rows as f32,
            fake: fake.len() as f32 / batch as f32,
        };
        let real_shard = real[rows.start * IMAGE_PIXELS..rows.end * IMAGE_PIXELS].to_vec();
        let noise_shard = noise_rows(fake.clone());
        let labels = labels.and_then(|(real_labels, fake_labels)| {
            self.step_labels(&real_labels[rows.clone()], &fake_labels[fake.clone()])
        });
        let (stats, mut grads) = self.weighted_gradients(
            self.upload(real_shard, rows.len(), IMAGE_PIXELS),
            self.upload(noise_shard, fake.len(), dim),
            labels,
            weights,
        );
        let grads = self.host_gradients(&mut grads)?;
        let read = |t| {
            read_now(t)
                .and_then(|v| v.first().copied())
                .ok_or(TrainError::Optim(OptimError::NotOnHost))
        };
        let values = StepValues {
            d_loss: read(stats.d_loss)?,
            g_loss: read(stats.g_loss)?,
            d_real: read(stats.d_real)?,
            d_fake: read(stats.d_fake)?,
        };
        Ok(ShardGradients {
            step,
            values,
            grads,
        })
    }
}

impl Trainer {
    /// This replica's part of the next optimizer step: the current batch's shard of real
    /// images and the step's shard of noise ([`Gan::shard_part`]), only its rows drawn.
    pub fn shard_gradients(
        &mut self,
        data: &Dataset,
        place: ShardPlace,
    ) -> Result<ShardGradients, TrainError> {
        let step = self.progress.step;
        let batch = self.next_batch(data)?;
        let noise_rows = |rows| self.step_noise_rows(step, rows);
        let fake_labels = self.step_fake_labels(step);
        let labels = batch.labels.as_deref().map(|real| (real, &fake_labels[..]));
        let rows = self.config.batch_size;
        self.gan
            .part_with(&batch.pixels, rows, noise_rows, labels, place, step)
    }

    /// Applies the whole step combined from every shard's part ([`combine`]) and moves one
    /// optimizer step on; `Some(Some(n))` when this completed the batch and with it epoch `n`,
    /// `Some(None)` when it completed a batch only, `None` while the batch has steps left (`k`).
    pub fn apply_combined(
        &mut self,
        data: &Dataset,
        whole: &ShardGradients,
    ) -> Result<Option<Option<usize>>, TrainError> {
        if whole.step != self.progress.step {
            return Err(TrainError::OutOfOrder(format!(
                "the gradient of step {} arrived at step {}",
                whole.step, self.progress.step
            )));
        }
        self.gan.apply_host_gradients(&whole.grads)?;
        self.progress.step += 1;
        self.batch_steps += 1;
        if self.batch_steps < self.config.k {
            return Ok(None);
        }
        self.batch_steps = 0;
        let batches = data.batches_per_epoch(self.config.batch_size);
        let (next, finished) = self.progress.after_batch(batches, 0);
        self.progress = next;
        Ok(Some(finished))
    }

    /// A fingerprint of everything a step changes: both networks, both optimizers and the
    /// position. Replicas that agree have equal checksums. CPU backend only.
    pub fn checksum(&self) -> Result<u64, TrainError> {
        let mut hasher = std::hash::DefaultHasher::new();
        self.progress.hash(&mut hasher);
        let gan = &self.gan;
        let average = gan.average.iter().flat_map(|a| &a.generator.layers);
        let layers = gan
            .discriminator
            .layers
            .iter()
            .chain(&gan.generator.layers)
            .chain(average);
        let slots = gan
            .discriminator_optim
            .slots()
            .iter()
            .chain(gan.generator_optim.slots());
        let not_host = || TrainError::Optim(OptimError::NotOnHost);
        for layer in layers {
            let kernel = read_now(layer.kernel.val().inner()).ok_or_else(not_host)?;
            let bias = read_now(layer.bias.val().inner()).ok_or_else(not_host)?;
            hash_floats(&mut hasher, &kernel);
            hash_floats(&mut hasher, &bias);
        }
        for slot in slots {
            hash_floats(&mut hasher, &read_now(slot.clone()).ok_or_else(not_host)?);
        }
        Ok(hasher.finish())
    }
}

fn hash_floats(hasher: &mut impl Hasher, values: &[f32]) {
    let bytes: &[u8] = bytemuck::cast_slice(values);
    hasher.write(bytes);
}
