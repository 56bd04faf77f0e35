//! Networks with one hidden layer over the sparse TF-IDF vector, trained by stochastic gradient
//! descent with dropout on the hidden units.
//!
//! The first layer is a sparse-times-dense product: each active feature adds its row of hidden
//! weights (stored feature-major, so the row is contiguous), the same access pattern as the
//! linear model. ReLU hidden units, then a dense softmax layer. When serving, the embedding
//! table's 256 dense features are read as the message's pooled token rows, each row's product
//! with the first layer computed once and kept ([`PooledInput`]). Only the rows of an example's
//! features are touched by its update, so an epoch costs about twice the linear model's.
//!
//! Several networks trained from different seeds are averaged ([`Networks`]); once trained, their
//! hidden rows are interleaved and stored as bytes with one scale per row, as in [`super::linear`]:
//! they are most of the model's memory and of a message's memory traffic.
//!
//! Measured (docs/benchmarks.md, "What was tried"): small initial weights (±0.1) matter most:
//! with ±0.9, BANKING77 loses about 3 points and learning rates of 0.5 and more diverge. On the
//! validation sets, dropout 0.2 gains about 0.4 points over none, 12 epochs beat 8, and 96 units
//! per network do as well as 128.

use std::sync::OnceLock;

use super::embedding;
use super::features::Sparse;
use super::linear::{Rng, softmax};

/// Training options.
#[derive(Debug, Clone, Copy)]
pub struct MlpOptions {
    /// Hidden units.
    pub hidden: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Initial learning rate, decayed linearly to a tenth of it.
    pub learning_rate: f32,
    /// Probability that a hidden unit is dropped during a training step.
    pub dropout: f32,
    /// Seed of the initial weights and the example order.
    pub seed: u64,
}

/// One network in full precision, as trained.
pub struct Network {
    n_hidden: usize,
    n_classes: usize,
    /// `hidden[feature * n_hidden + unit]`.
    hidden: Vec<f32>,
    hidden_bias: Vec<f32>,
    /// `output[unit * n_classes + class]`.
    output: Vec<f32>,
    output_bias: Vec<f32>,
}

/// Trained networks whose probabilities are averaged, with their first layers interleaved: the
/// row of a feature holds the hidden weights of every network side by side, so a message reads
/// one contiguous row per feature rather than one per feature and network.
#[derive(Debug, Clone)]
pub struct Networks {
    n_networks: usize,
    n_hidden: usize,
    n_classes: usize,
    /// `hidden[(feature * n_networks + network) * n_hidden + unit] * hidden_scale[feature]`.
    hidden: FirstLayer,
    hidden_scale: Vec<f32>,
    /// Per network, as in [`Network`].
    hidden_bias: Vec<Vec<f32>>,
    /// Per network, `output[unit * stride + class]`: each unit's row padded with zeros to
    /// `stride`, a multiple of the widest vector, so that a row is whole vectors.
    output: Vec<Vec<f32>>,
    /// Per network, `stride` biases, padded alike.
    output_bias: Vec<Vec<f32>>,
    stride: usize,
    /// With the embedding table among the features: its rows through the first layer.
    projections: Option<RowProjections>,
}

/// The message's pooled embedding as [`Networks::probabilities`] reads it: the features from
/// [`Networks::project_table_rows`]' `first` on are `factor` times the sum of the table's rows
/// `rows` (their mean, normalised and weighted: [`embedding::Pooled`]).
#[derive(Debug, Clone, Copy)]
pub struct PooledInput<'a> {
    pub rows: &'a [u32],
    pub factor: f32,
}

/// Each row of the embedding table multiplied by the first layer's weights of the embedding's
/// features (`n_networks × n_hidden` sums), computed the first time a message has that token and
/// kept. The first layer is linear in the embedding, so a message adds a few of these, one per
/// token, instead of a row of weights for each of the embedding's 256 dimensions: that product
/// was three quarters of the first layer's work and about a tenth of a served message's
/// processor time (docs/benchmarks.md). A projection is summed by [`add_rows`] like any message,
/// so it is the same to the bit whatever the instructions; the cache holds at most the table's
/// 29,528 rows (22 MiB for two networks of 96 units), in practice the few thousand tokens
/// customers use.
#[derive(Clone)]
struct RowProjections {
    /// The embedding's first feature.
    first: usize,
    /// By table row.
    rows: Box<[OnceLock<Box<[f32]>>]>,
}

impl std::fmt::Debug for RowProjections {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let computed = self.rows.iter().filter(|row| row.get().is_some()).count();
        write!(
            formatter,
            "RowProjections {{ first: {}, computed: {computed} }}",
            self.first
        )
    }
}

/// Classes are padded to a multiple of this in the output layer: the floats in one AVX-512
/// vector.
const CLASS_LANES: usize = 16;

/// The quantised first-layer weights: bytes, or for a small model the same values as floats,
/// which a message reads without converting them (the sums are the same to the bit).
#[derive(Debug, Clone)]
enum FirstLayer {
    Bytes(Vec<i8>),
    Floats(Vec<f32>),
}

/// Models whose first layer fits in this many bytes as floats keep it as floats.
const MAX_FLOAT_LAYER_BYTES: usize = 8 << 20;

impl FirstLayer {
    fn new(quantized: Vec<i8>) -> FirstLayer {
        match quantized.len() * 4 <= MAX_FLOAT_LAYER_BYTES {
            true => FirstLayer::Floats(quantized.into_iter().map(f32::from).collect()),
            false => FirstLayer::Bytes(quantized),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            FirstLayer::Bytes(weights) => weights.capacity(),
            FirstLayer::Floats(weights) => weights.capacity() * 4,
        }
    }
}

/// Adds to `activation` each feature's row of `weights` (`activation.len()` wide) times its
/// value and scale.
///
/// The units go in blocks of `BLOCK`, each summed over every feature before the next, rather
/// than feature by feature over all units: a block's sums then stay in twelve vector registers
/// (48 units with SSE2, 96 with AVX2, 192 with AVX-512) instead of being loaded and stored again
/// for each feature. Each unit still adds its features in the same order, so the sums are the
/// same to the bit whatever the block.
#[inline(always)]
fn add_rows<W: Copy + Into<f32>, const BLOCK: usize>(
    activation: &mut [f32],
    weights: &[W],
    scales: &[f32],
    input: &Sparse,
) {
    let width = activation.len();
    let mut start = 0;
    while let Some(block) = activation.get_mut(start..start + BLOCK) {
        let block: &mut [f32; BLOCK] = block.try_into().expect("a block is BLOCK units");
        let mut sums = *block;
        for &(feature, value) in input {
            let row = &weights[feature as usize * width + start..][..BLOCK];
            let factor = value * scales[feature as usize];
            for (sum, &weight) in sums.iter_mut().zip(row) {
                *sum += factor * weight.into();
            }
        }
        *block = sums;
        start += BLOCK;
    }
    let rest = &mut activation[start..];
    for &(feature, value) in input {
        let row = &weights[feature as usize * width + start..][..rest.len()];
        let factor = value * scales[feature as usize];
        for (unit, &weight) in rest.iter_mut().zip(row) {
            *unit += factor * weight.into();
        }
    }
}

impl Network {
    /// Trains on `inputs` with class indices `labels` (each `< n_classes`).
    pub fn train(
        inputs: &[&Sparse],
        labels: &[usize],
        n_features: usize,
        n_classes: usize,
        options: MlpOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Network {
        let n_hidden = options.hidden.max(1);
        let mut rng = Rng::new(options.seed ^ 0x006d_6c70);
        let mut uniform = |bound: f32| {
            let unit = (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
            (2.0 * unit - 1.0) * bound
        };
        // Small first-layer weights: most features are rare, and the rows they never update
        // stay as initialised, so large random rows would add noise to every message.
        let mut hidden: Vec<f32> = (0..n_features * n_hidden).map(|_| uniform(0.1)).collect();
        let mut hidden_bias = vec![0.0_f32; n_hidden];
        let output_bound = (6.0 / (n_hidden + n_classes) as f32).sqrt();
        let mut output: Vec<f32> = (0..n_hidden * n_classes).map(|_| uniform(output_bound)).collect();
        let mut output_bias = vec![0.0_f32; n_classes];
        let n_examples = inputs.len();
        if n_examples > 0 && n_classes > 0 {
            let mut order: Vec<usize> = (0..n_examples).collect();
            let mut rng = Rng::new(options.seed.wrapping_add(1));
            let total_steps = (options.epochs * n_examples) as f32;
            let keep = 1.0 - options.dropout.clamp(0.0, 0.9);
            let mut step = 0_usize;
            let mut activation = vec![0.0_f32; n_hidden];
            let mut hidden_gradient = vec![0.0_f32; n_hidden];
            let mut gradient = vec![0.0_f32; n_classes];
            for epoch in 0..options.epochs {
                rng.shuffle(&mut order);
                for &example in &order {
                    let rate = options.learning_rate * (1.0 - 0.9 * step as f32 / total_steps);
                    step += 1;
                    let input = inputs[example];
                    activation.copy_from_slice(&hidden_bias);
                    for &(feature, value) in input {
                        let row = &hidden[feature as usize * n_hidden..][..n_hidden];
                        for (unit, &weight) in activation.iter_mut().zip(row) {
                            *unit += value * weight;
                        }
                    }
                    for unit in &mut activation {
                        let dropped =
                            options.dropout > 0.0 && (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 >= keep;
                        *unit = if dropped { 0.0 } else { unit.max(0.0) / keep };
                    }
                    gradient.copy_from_slice(&output_bias);
                    for (unit, row) in activation.iter().zip(output.chunks_exact(n_classes)) {
                        if *unit != 0.0 {
                            for (score, &weight) in gradient.iter_mut().zip(row) {
                                *score += unit * weight;
                            }
                        }
                    }
                    softmax(&mut gradient);
                    gradient[labels[example]] -= 1.0;
                    for ((unit, row), back) in activation
                        .iter()
                        .zip(output.chunks_exact_mut(n_classes))
                        .zip(hidden_gradient.iter_mut())
                    {
                        if *unit == 0.0 {
                            *back = 0.0;
                            continue;
                        }
                        let mut sum = 0.0;
                        for (weight, g) in row.iter_mut().zip(&gradient) {
                            sum += *weight * g;
                            *weight -= rate * unit * g;
                        }
                        *back = sum / keep;
                    }
                    for (bias, g) in output_bias.iter_mut().zip(&gradient) {
                        *bias -= rate * g;
                    }
                    for &(feature, value) in input {
                        let row = &mut hidden[feature as usize * n_hidden..][..n_hidden];
                        let factor = rate * value;
                        for (weight, g) in row.iter_mut().zip(&hidden_gradient) {
                            *weight -= factor * g;
                        }
                    }
                    for (bias, g) in hidden_bias.iter_mut().zip(&hidden_gradient) {
                        *bias -= rate * g;
                    }
                }
                progress(epoch + 1, options.epochs);
            }
        }
        Network {
            n_hidden,
            n_classes,
            hidden,
            hidden_bias,
            output,
            output_bias,
        }
    }
}

impl Networks {
    /// Joins networks trained on the same features and classes (at least one).
    pub fn new(networks: Vec<Network>, n_features: usize) -> Networks {
        let n_networks = networks.len();
        let n_hidden = networks.first().map_or(1, |network| network.n_hidden);
        let n_classes = networks.first().map_or(0, |network| network.n_classes);
        let mut interleaved = Vec::with_capacity(n_features * n_networks * n_hidden);
        for feature in 0..n_features {
            for network in &networks {
                interleaved.extend_from_slice(&network.hidden[feature * n_hidden..][..n_hidden]);
            }
        }
        let (hidden, hidden_scale) = quantize_rows(&interleaved, n_networks * n_hidden);
        let hidden = FirstLayer::new(hidden);
        let stride = n_classes.next_multiple_of(CLASS_LANES);
        let pad = |values: &[f32]| {
            let mut padded = values.to_vec();
            padded.resize(stride, 0.0);
            padded
        };
        let mut hidden_bias = Vec::with_capacity(n_networks);
        let mut output = Vec::with_capacity(n_networks);
        let mut output_bias = Vec::with_capacity(n_networks);
        for network in networks {
            hidden_bias.push(network.hidden_bias);
            output.push(network.output.chunks(n_classes.max(1)).flat_map(pad).collect());
            output_bias.push(pad(&network.output_bias));
        }
        Networks {
            n_networks,
            n_hidden,
            n_classes,
            hidden,
            hidden_scale,
            hidden_bias,
            output,
            output_bias,
            stride,
            projections: None,
        }
    }

    /// Declares the features from `first` on to be the embedding table's dimensions, so that
    /// [`Networks::probabilities`] can read a message's embedding as its pooled rows.
    pub fn project_table_rows(&mut self, first: usize) {
        let rows = (0..embedding::table().rows()).map(|_| OnceLock::new()).collect();
        self.projections = Some(RowProjections { first, rows });
    }

    /// The class probabilities of `input`: the mean of the networks' softmax outputs.
    ///
    /// Computed with the widest vector instructions this processor has (AVX-512, AVX2, or the
    /// SSE2 every x86-64 has), chosen when the program runs; on other processors, with the
    /// target's baseline. Every sum adds the same terms in
    /// the same order with separate multiply and add (no fused multiply-add), so the
    /// probabilities are the same to the bit whatever the instructions.
    ///
    /// `pooled` is the message's embedding, when `input` does not have it among its features
    /// (which needs [`Networks::project_table_rows`]; without it the embedding is left out).
    pub fn probabilities(&self, input: &Sparse, pooled: Option<PooledInput<'_>>) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        return match pulp::Arch::new() {
            pulp::Arch::V4(simd) => simd.vectorize(|| self.probabilities_in_blocks::<192>(input, pooled)),
            pulp::Arch::V3(simd) => simd.vectorize(|| self.probabilities_in_blocks::<96>(input, pooled)),
            _ => self.probabilities_in_blocks::<48>(input, pooled),
        };
        // Other processors: what the compiler makes of the blocks for the target's baseline.
        #[cfg(not(target_arch = "x86_64"))]
        self.probabilities_in_blocks::<48>(input, pooled)
    }

    /// [`Networks::probabilities`], with the first layer summed in blocks of `BLOCK` units (see
    /// [`add_rows`]).
    #[inline(always)]
    fn probabilities_in_blocks<const BLOCK: usize>(&self, input: &Sparse, pooled: Option<PooledInput<'_>>) -> Vec<f32> {
        let mut activation: Vec<f32> = self.hidden_bias.concat();
        self.add_first_layer::<BLOCK>(&mut activation, input);
        if let (Some(pooled), Some(projections)) = (pooled, &self.projections) {
            let mut sums = vec![0.0_f32; activation.len()];
            for &row in pooled.rows {
                let Some(projection) = projections.rows.get(row as usize) else {
                    continue;
                };
                let projection = projection.get_or_init(|| {
                    let input: Sparse = (projections.first as u32..).zip(embedding::table().row(row)).collect();
                    let mut sums = vec![0.0_f32; activation.len()];
                    self.add_first_layer::<BLOCK>(&mut sums, &input);
                    sums.into_boxed_slice()
                });
                for (sum, &value) in sums.iter_mut().zip(projection.iter()) {
                    *sum += value;
                }
            }
            for (unit, sum) in activation.iter_mut().zip(&sums) {
                *unit += pooled.factor * sum;
            }
        }
        let mut probabilities = vec![0.0_f32; self.n_classes];
        let mut scores = vec![0.0_f32; self.stride];
        for (network, activation) in activation.chunks_exact(self.n_hidden).enumerate() {
            scores.copy_from_slice(&self.output_bias[network]);
            for (unit, row) in activation
                .iter()
                .zip(self.output[network].chunks_exact(self.stride.max(1)))
            {
                if *unit > 0.0 {
                    for (score, &weight) in scores.iter_mut().zip(row) {
                        *score += unit * weight;
                    }
                }
            }
            let scores = &mut scores[..self.n_classes];
            softmax(scores);
            for (probability, score) in probabilities.iter_mut().zip(scores) {
                *probability += *score / self.n_networks as f32;
            }
        }
        probabilities
    }

    /// Adds `input`'s rows of the first layer to `activation`.
    #[inline(always)]
    fn add_first_layer<const BLOCK: usize>(&self, activation: &mut [f32], input: &Sparse) {
        match &self.hidden {
            FirstLayer::Bytes(weights) => add_rows::<_, BLOCK>(activation, weights, &self.hidden_scale, input),
            FirstLayer::Floats(weights) => add_rows::<_, BLOCK>(activation, weights, &self.hidden_scale, input),
        }
    }

    /// Heap size in bytes, with the table's rows projected so far.
    pub fn bytes(&self) -> usize {
        let projections = self.projections.as_ref().map_or(0, |projections| {
            let computed = projections.rows.iter().filter_map(OnceLock::get);
            projections.rows.len() * std::mem::size_of::<OnceLock<Box<[f32]>>>()
                + computed.map(|row| row.len() * 4).sum::<usize>()
        });
        let per_network =
            |vectors: &Vec<Vec<f32>>| vectors.iter().map(|vector| vector.capacity() * 4 + 24).sum::<usize>();
        self.hidden.bytes()
            + self.hidden_scale.capacity() * 4
            + per_network(&self.hidden_bias)
            + per_network(&self.output)
            + per_network(&self.output_bias)
            + projections
    }
}

/// Rows of `width` weights as bytes, with one scale per row.
pub fn quantize_rows(weights: &[f32], width: usize) -> (Vec<i8>, Vec<f32>) {
    let width = width.max(1);
    let mut quantized = Vec::with_capacity(weights.len());
    let mut scales = Vec::with_capacity(weights.len() / width);
    for row in weights.chunks(width) {
        let largest = row.iter().fold(0.0_f32, |largest, weight| largest.max(weight.abs()));
        let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
        scales.push(scale);
        quantized.extend(
            row.iter()
                .map(|weight| (weight / scale).round().clamp(-127.0, 127.0) as i8),
        );
    }
    (quantized, scales)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_and_byte_first_layers_give_the_same_probabilities() {
        let inputs: Vec<Sparse> = (0..40_u32)
            .map(|index| vec![(index % 10, 0.5), (10 + index % 7, 0.3 + (index % 3) as f32 / 10.0)])
            .collect();
        let labels: Vec<usize> = (0..40).map(|index| index % 4).collect();
        let options = |seed| MlpOptions {
            hidden: 8,
            epochs: 3,
            learning_rate: 0.15,
            dropout: 0.0,
            seed,
        };
        let refs: Vec<&Sparse> = inputs.iter().collect();
        let networks: Vec<Network> = (0..2)
            .map(|seed| Network::train(&refs, &labels, 17, 4, options(seed), &mut |_, _| {}))
            .collect();
        let floats = Networks::new(networks, 17);
        let FirstLayer::Floats(weights) = &floats.hidden else {
            panic!("a small model keeps floats");
        };
        let mut bytes = floats.clone();
        bytes.hidden = FirstLayer::Bytes(weights.iter().map(|&weight| weight as i8).collect());
        for input in &inputs {
            let probabilities = floats.probabilities(input, None);
            assert_eq!(probabilities, bytes.probabilities(input, None));
            // The instructions chosen at run time give what the narrowest blocks give.
            assert_eq!(probabilities, floats.probabilities_in_blocks::<48>(input, None));
            assert_eq!(probabilities.len(), 4);
        }
    }

    #[test]
    fn pooled_rows_give_what_the_embedding_as_features_gives() {
        // Two n-gram features, then the table's 256 dimensions, as the classifier lays them out.
        let first = 2_u32;
        let table = embedding::table();
        let pooled = |rows: &[u32]| {
            let mut sum = [0.0_f32; embedding::DIMENSIONS];
            for &row in rows {
                for (total, value) in sum.iter_mut().zip(table.row(row)) {
                    *total += value;
                }
            }
            let norm = sum.iter().map(|value| value * value).sum::<f32>().sqrt();
            (sum.map(|value| value / norm), norm)
        };
        let messages: Vec<Vec<u32>> = (0..24_u32)
            .map(|index| vec![1000 + index * 37, 2000 + index % 5])
            .collect();
        let dense: Vec<Sparse> = messages
            .iter()
            .enumerate()
            .map(|(index, rows)| {
                let (vector, _) = pooled(rows);
                let mut input = vec![(index as u32 % 2, 0.7)];
                input.extend((first..).zip(vector));
                input
            })
            .collect();
        let labels: Vec<usize> = (0..24).map(|index| index % 3).collect();
        let refs: Vec<&Sparse> = dense.iter().collect();
        let n_features = first as usize + embedding::DIMENSIONS;
        let options = |seed| MlpOptions {
            hidden: 100,
            epochs: 3,
            learning_rate: 0.15,
            dropout: 0.0,
            seed,
        };
        let trained: Vec<Network> = (0..2)
            .map(|seed| Network::train(&refs, &labels, n_features, 3, options(seed), &mut |_, _| {}))
            .collect();
        let mut networks = Networks::new(trained, n_features);
        networks.project_table_rows(first as usize);
        for ((index, rows), dense) in messages.iter().enumerate().zip(&dense) {
            let (_, norm) = pooled(rows);
            let ngrams = vec![(index as u32 % 2, 0.7)];
            let input = PooledInput {
                rows,
                factor: 1.0 / norm,
            };
            let by_rows = networks.probabilities(&ngrams, Some(input));
            for (a, b) in by_rows.iter().zip(networks.probabilities(dense, None)) {
                assert!((a - b).abs() < 1e-5, "{by_rows:?} against {b}");
            }
            // Projections cached or not, and whatever the blocks, the same to the bit.
            assert_eq!(by_rows, networks.probabilities_in_blocks::<48>(&ngrams, Some(input)));
            let mut fresh = networks.clone();
            fresh.project_table_rows(first as usize);
            assert_eq!(by_rows, fresh.probabilities_in_blocks::<192>(&ngrams, Some(input)));
        }
        // One projection per distinct token, kept.
        let projections = networks.projections.as_ref().expect("projections");
        assert_eq!(projections.rows.iter().filter(|row| row.get().is_some()).count(), 29);
    }

    fn add_blocks<const BLOCK: usize>(bias: &[f32], weights: &[f32], scales: &[f32], input: &Sparse) -> Vec<f32> {
        let mut sums = bias.to_vec();
        add_rows::<f32, BLOCK>(&mut sums, weights, scales, input);
        sums
    }

    #[test]
    fn blocks_of_units_sum_as_one_feature_at_a_time_does() {
        // A deterministic spread of weights in ±1 and of sparse inputs over 30 features.
        let mut rng = Rng::new(11);
        let mut next = move || (rng.next_u64() >> 40) as u32;
        let n_features = 30;
        // Widths below, at and between the blocks of every instruction set, with remainders.
        for width in [1, 7, 47, 48, 96, 100, 192, 200, 431] {
            let weights: Vec<f32> = (0..n_features * width)
                .map(|_| next() as f32 / (1 << 23) as f32 - 1.0)
                .collect();
            let scales: Vec<f32> = (0..n_features).map(|feature| 0.01 + feature as f32 / 100.0).collect();
            let bias: Vec<f32> = (0..width).map(|unit| unit as f32 / 7.0).collect();
            for _ in 0..5 {
                let mut features: Vec<u32> = (0..12).map(|_| next() % n_features as u32).collect();
                features.sort_unstable();
                features.dedup();
                let input: Sparse = features
                    .into_iter()
                    .map(|feature| (feature, next() as f32 / (1 << 24) as f32))
                    .collect();
                let mut expected = bias.clone();
                for &(feature, value) in &input {
                    let factor = value * scales[feature as usize];
                    for (unit, sum) in expected.iter_mut().enumerate() {
                        *sum += factor * weights[feature as usize * width + unit];
                    }
                }
                for (block, sums) in [
                    (48, add_blocks::<48>(&bias, &weights, &scales, &input)),
                    (96, add_blocks::<96>(&bias, &weights, &scales, &input)),
                    (192, add_blocks::<192>(&bias, &weights, &scales, &input)),
                ] {
                    assert_eq!(sums, expected, "width {width}, blocks of {block}");
                }
            }
        }
    }
}
