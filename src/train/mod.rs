//! One training step of the reference, and the loop position around it.
//!
//! Both gradients come from one forward pass through the pre-update networks: the
//! discriminator's loss sees G(z) detached, the generator's loss goes through a frozen copy of
//! the discriminator's parameters, so a single backward pass yields exactly the two gradients of
//! the reference. D is updated first, then G. Nothing here reads a tensor back synchronously.

use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use thiserror::Error;

use crate::config::{ConfigError, TrainingConfig};

mod average;
mod graph;
mod labels;
mod loss;
mod stats;
mod trainer;

use crate::cpu::{is_host_device, read_now};
use crate::model::{Dense, Discriminator, Generator, NetworkSpec, OptimizerKind, init_rng};
use crate::optim::{OptimError, Optimizer, parameter_count};
pub use average::{Average, decay_at};
use graph::StepInputs;
pub use labels::Labels;
pub use loss::cross_entropy_rows;
use loss::{LossColumns, LossRows};
pub use stats::{StepStats, StepValues};
pub use trainer::{Progress, StepOutcome, Trainer};

/// Why training could not go on.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrainError {
    /// The configuration is invalid.
    #[error("invalid setting {0}")]
    Config(#[from] ConfigError),
    /// An optimizer step failed.
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// Reading a tensor back from the device failed (for example a lost GPU device).
    #[error("reading from the device failed: {0}")]
    Read(String),
    /// A replica's optimizer steps came out of order (a gradient for another step, or a whole
    /// batch asked for while one is under way a step at a time).
    #[error("steps out of order: {0}")]
    OutOfOrder(String),
    /// All configured epochs are done.
    #[error("training is finished: all {0} epochs are done")]
    Finished(usize),
    /// The dataset holds no images.
    #[error("the dataset is empty")]
    EmptyDataset,
    /// A conditional model's data has no labels.
    #[error("the `{0}` model needs labelled images, and this data has no labels")]
    Unlabelled(&'static str),
    /// The saved position lies beyond the end of an epoch of this dataset.
    #[error("batch {batch} is beyond the {batches} batches of an epoch")]
    PositionOutOfRange {
        /// The position's batch.
        batch: usize,
        /// Batches per epoch.
        batches: usize,
    },
}

/// How much one shard's losses count in the whole batch's: its share of the real rows and of the
/// noise rows. The shards' weighted losses, and so their gradients, add up to the whole
/// batch's (each loss is a mean over its rows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossWeights {
    /// The shard's real rows over the batch's.
    pub real: f32,
    /// The shard's noise rows over the batch's.
    pub fake: f32,
}

impl LossWeights {
    /// The whole batch.
    pub const WHOLE: Self = Self {
        real: 1.0,
        fake: 1.0,
    };
}

/// The sum of a column `[rows, 1]`, as `[1]`. Summed along its rows: on a GPU without atomic
/// float adds (WebGPU), CubeCL's whole-tensor `sum` is a zero fill and a reduction, two kernels,
/// where a sum along a dimension is one.
fn column_sum(column: Tensor<2>) -> Tensor<1> {
    column.sum_dim(0).reshape([1])
}

/// The two networks and their optimizers, on one autodiff device.
///
/// On a GPU its steps are replayed from a capture (`graph`) that reads and writes the
/// optimizers' state where it lies: a layer replaced from outside is noticed (its parameter
/// ids change), but slots set from outside are not, so replace those only in a new `Gan`, as
/// loading a file does.
#[derive(Debug)]
pub struct Gan {
    /// The generator.
    pub generator: Generator,
    /// The discriminator.
    pub discriminator: Discriminator,
    /// The generator's optimizer (Adam in every model).
    pub generator_optim: Optimizer,
    /// The discriminator's optimizer (the tutorial's RMSprop, or as the model says).
    pub discriminator_optim: Optimizer,
    /// The moving average of the generator's weights, for a model that shows one.
    pub average: Option<Average>,
    /// Target for real images.
    pub real_label: f32,
    device: Device,
    loss_columns: LossColumns,
    /// Steps on a GPU recorded once and replayed (`graph`).
    replay: graph::Replay,
}

impl Gan {
    /// Glorot-initialised networks and fresh optimizers for `config` on `device` (autodiff is
    /// enabled on it here).
    pub fn new(config: &TrainingConfig, device: &Device) -> Self {
        let device = device.clone().autodiff();
        let spec = config.model.spec(config.noise_dim);
        let mut rng = init_rng(config.init_seed);
        let generator = Generator::glorot(&spec.generator, &mut rng, &device);
        let discriminator = Discriminator::glorot(&spec.discriminator, &mut rng, &device);
        Self::from_networks(config, generator, discriminator, &device)
    }

    /// Given networks with fresh optimizers for `config`.
    pub fn from_networks(
        config: &TrainingConfig,
        generator: Generator,
        discriminator: Discriminator,
        device: &Device,
    ) -> Self {
        let spec = config.model.spec(config.noise_dim);
        let generator_optim = Optimizer::new(
            OptimizerKind::Adam,
            config.generator_lr,
            config,
            &generator.layers,
        );
        let discriminator_optim = Optimizer::new(
            spec.discriminator_optimizer,
            config.discriminator_lr,
            config,
            &discriminator.layers,
        );
        let average = spec.average.map(|decay| Average::new(decay, &generator));
        Self {
            generator,
            discriminator,
            generator_optim,
            discriminator_optim,
            average,
            real_label: config.real_label as f32,
            device: device.clone().autodiff(),
            loss_columns: LossColumns::default(),
            replay: graph::Replay::default(),
        }
    }

    /// The generator the page shows, scores and exports: the moving average of its weights
    /// for a model that keeps one, else the generator itself.
    pub fn shown_generator(&self) -> &Generator {
        self.average
            .as_ref()
            .map_or(&self.generator, |average| &average.generator)
    }

    /// Takes the generator's weights after its latest update into the average, if any.
    fn update_average(&mut self) {
        let updates = self.generator_optim.iterations();
        if let Some(average) = &mut self.average {
            average.update(&self.generator, updates);
        }
    }

    /// Whether steps on a GPU are recorded once and replayed (on by default; the CPU backend
    /// never replays). Off, each step runs Burn's ops as they come, as before issue 11's
    /// replays: the benchmarks compare both.
    pub fn set_replay(&mut self, enabled: bool) {
        self.replay.enabled = enabled;
        if !enabled {
            self.replay.reset();
        }
    }

    /// Whether the next step of the last step's shapes replays a captured graph.
    pub fn replays(&self) -> bool {
        self.replay.is_ready()
    }

    /// The (autodiff) device the networks live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Uploads `[rows, cols]` host values to the device.
    pub fn upload(&self, values: Vec<f32>, rows: usize, cols: usize) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, [rows, cols]), &self.device)
    }

    /// Both losses of a step and their gradients, from one forward pass through the current
    /// networks: `D` gradients come from the discriminator loss alone, `G` gradients from the
    /// generator loss alone. A conditional model's step without labels asks for the digits in
    /// turn ([`crate::model::default_labels`]), the real rows' and the fake rows' each counted
    /// from their first row.
    pub fn gradients(&self, real: Tensor<2>, noise: Tensor<2>) -> (StepStats, Gradients) {
        self.weighted_gradients(real, noise, None, LossWeights::WHOLE)
    }

    /// [`Gan::gradients`] of one shard of a batch, with its labels (for a conditional model),
    /// its losses and statistics scaled by `weights`.
    pub fn weighted_gradients(
        &self,
        real: Tensor<2>,
        noise: Tensor<2>,
        labels: Option<Labels>,
        weights: LossWeights,
    ) -> (StepStats, Gradients) {
        let [n_real, _] = real.dims();
        let [n_fake, _] = noise.dims();
        let rows = LossRows {
            real: n_real,
            fake: n_fake,
        };
        let labels = labels.or_else(|| {
            let turn = |rows| crate::model::default_labels(rows);
            self.step_labels(&turn(n_real), &turn(n_fake))
        });
        let (real_labels, fake_labels) = match labels {
            Some(Labels { real, fake }) => (Some(real), Some(fake)),
            None => (None, None),
        };
        let fake = self.generator.forward(noise, fake_labels.clone());

        // One discriminator pass over real and (detached) fake images together.
        let images = Tensor::cat(vec![real, fake.clone().detach()], 0);
        let image_labels = real_labels
            .zip(fake_labels.clone())
            .map(|(r, f)| Tensor::cat(vec![r, f], 0));
        let (logits, multipliers) = self
            .discriminator
            .forward_with_multipliers(images, image_labels);
        // The generator's loss goes through the discriminator as it is before its update. Its
        // LeakyReLUs see the same values as the fake rows above: their multipliers are those.
        let fake_rows = |m: Tensor<2>| m.narrow(0, n_real, n_fake);
        let multipliers: Vec<_> = multipliers.into_iter().map(fake_rows).collect();
        let frozen_logits = self
            .discriminator
            .forward_frozen_with(fake, fake_labels, &multipliers);

        // The three cross-entropies as one column: D(x), D(G(z)) for D, D(G(z)) for G.
        let all_logits = Tensor::cat(vec![logits, frozen_logits], 0);
        let (targets, row_weights) =
            self.loss_columns
                .get(rows, self.real_label, weights, &self.device);
        let weighted = cross_entropy_rows(all_logits.clone(), targets) * row_weights.clone();
        // The objective is the sum of these rows; backward from the rows themselves seeds each
        // with 1, its gradient in the sum, without the sum's two kernels.
        let grads = weighted.backward();

        // Statistics, detached: each loss and mean probability is a weighted sum of its rows.
        let weighted = weighted.inner();
        let d_rows = rows.discriminator();
        let probabilities = sigmoid(all_logits.inner().narrow(0, 0, d_rows))
            * row_weights.inner().narrow(0, 0, d_rows);
        let stats = StepStats {
            d_loss: column_sum(weighted.clone().narrow(0, 0, d_rows)),
            g_loss: column_sum(weighted.narrow(0, d_rows, n_fake)),
            d_real: column_sum(probabilities.clone().narrow(0, 0, n_real)),
            d_fake: column_sum(probabilities.narrow(0, n_real, n_fake)),
        };
        (stats, grads)
    }

    /// Whether the networks live in this thread's memory (Burn's CPU backend), where the
    /// optimizers' updates run fused over host values.
    pub fn on_host(&self) -> bool {
        is_host_device(&self.device)
    }

    /// Number of values of a whole gradient ([`Gan::host_gradients`]).
    pub fn parameter_count(&self) -> usize {
        parameter_count(&self.discriminator.layers) + parameter_count(&self.generator.layers)
    }

    /// Both networks' gradients as one host vector: the discriminator's layers then the
    /// generator's, each kernel then bias (`optim::parameter_lengths`). CPU backend only.
    pub fn host_gradients(&self, grads: &mut Gradients) -> Result<Vec<f32>, TrainError> {
        fn push<const D: usize>(
            out: &mut Vec<f32>,
            param: &burn::module::Param<Tensor<D>>,
            grads: &mut Gradients,
            name: impl FnOnce() -> String,
        ) -> Result<(), TrainError> {
            let grad = param
                .grad_remove(grads)
                .ok_or_else(|| OptimError::MissingGradient(name()))?;
            out.extend(read_now(grad).ok_or(OptimError::NotOnHost)?);
            Ok(())
        }
        let mut out = Vec::with_capacity(self.parameter_count());
        let networks: [(&str, &[Dense], &NetworkSpec); 2] = [
            ("disc", &self.discriminator.layers, &self.discriminator.spec),
            ("gen", &self.generator.layers, &self.generator.spec),
        ];
        for (stem, layers, spec) in networks {
            for (i, (layer, shape)) in layers.iter().zip(spec.layers()).enumerate() {
                let name = crate::model::layer_name(stem, &shape, i);
                push(&mut out, &layer.kernel, grads, || format!("{name}.kernel"))?;
                push(&mut out, &layer.bias, grads, || format!("{name}.bias"))?;
            }
        }
        Ok(out)
    }

    /// Updates D then G from a whole gradient laid out as [`Gan::host_gradients`] gives it,
    /// with the fused optimizers (CPU backend). The length is checked before anything moves.
    pub fn apply_host_gradients(&mut self, grads: &[f32]) -> Result<(), TrainError> {
        let split = parameter_count(&self.discriminator.layers);
        let expected = split + parameter_count(&self.generator.layers);
        if grads.len() != expected {
            return Err(OptimError::GradientLength {
                expected,
                got: grads.len(),
            }
            .into());
        }
        let (discriminator, generator) = grads.split_at(split);
        self.discriminator_optim
            .step_host(&mut self.discriminator.layers, discriminator)?;
        self.generator_optim
            .step_host(&mut self.generator.layers, generator)?;
        self.update_average();
        Ok(())
    }

    /// One reference step on a batch of real images `[n, 784]` and noise `[batch, noise_dim]`:
    /// D is updated, then G, both from the gradients of the pre-update networks.
    pub fn train_step(
        &mut self,
        real: Tensor<2>,
        noise: Tensor<2>,
    ) -> Result<StepStats, TrainError> {
        self.labelled_step(real, noise, None)
    }

    /// [`Gan::train_step`] with a conditional model's labels.
    pub fn labelled_step(
        &mut self,
        real: Tensor<2>,
        noise: Tensor<2>,
        labels: Option<Labels>,
    ) -> Result<StepStats, TrainError> {
        if !self.on_host() {
            let stats = self.device_step(real, noise, labels)?;
            self.update_average();
            return Ok(stats);
        }
        let (stats, mut grads) = self.weighted_gradients(real, noise, labels, LossWeights::WHOLE);
        let grads = self.host_gradients(&mut grads)?;
        self.apply_host_gradients(&grads)?;
        Ok(stats)
    }

    /// One normal step on a GPU from `inputs`; with `fresh_views` the layers are first cut
    /// afresh from the flat parameters, as a captured step must read them.
    fn step_with(
        &mut self,
        inputs: StepInputs,
        fresh_views: bool,
    ) -> Result<StepStats, TrainError> {
        if fresh_views {
            self.discriminator_optim
                .recut(&mut self.discriminator.layers);
            self.generator_optim.recut(&mut self.generator.layers);
        }
        let labels = inputs.labels.map(|(real, fake)| Labels {
            real: Tensor::from_inner(real),
            fake: Tensor::from_inner(fake),
        });
        let (stats, grads) = self.weighted_gradients(
            Tensor::from_inner(inputs.real),
            Tensor::from_inner(inputs.noise),
            labels,
            LossWeights::WHOLE,
        );
        self.discriminator_optim.step(
            &mut self.discriminator.layers,
            &grads,
            Some(inputs.discriminator_alpha),
        )?;
        self.generator_optim
            .step(&mut self.generator.layers, &grads, Some(inputs.alpha))?;
        Ok(stats)
    }
}
