//! Multinomial logistic regression on sparse vectors, trained by stochastic gradient descent.
//!
//! Weights are stored feature-major (`weights[feature * n_classes + class]`): scoring a message
//! adds one contiguous row per active feature, which is what keeps classification at a few
//! microseconds. L2 regularisation is applied lazily through a global scale factor, so each step
//! touches only the rows of the example's features.
//!
//! Once trained, each feature's row of weights is stored as bytes with one scale per row: four
//! times less memory, and four times less memory traffic when scoring, which is what a message's
//! latency is made of (a few hundred rows read from a matrix much larger than the cache). The
//! ranking changes on a handful of test messages in a thousand at most.

use super::features::Sparse;

/// Training options.
#[derive(Debug, Clone, Copy)]
pub struct LinearOptions {
    /// Inverse regularisation strength, as in scikit-learn (loss summed over examples + ‖w‖²/2C).
    pub c: f32,
    /// Passes over the data.
    pub epochs: usize,
    /// Initial learning rate, decayed linearly to a tenth of it.
    pub learning_rate: f32,
    /// Seed of the example order.
    pub seed: u64,
}

impl Default for LinearOptions {
    fn default() -> LinearOptions {
        LinearOptions {
            c: 20.0,
            epochs: 30,
            learning_rate: 0.5,
            seed: 0,
        }
    }
}

/// A trained linear model.
#[derive(Debug, Clone)]
pub struct Linear {
    n_classes: usize,
    /// `quantized[feature * n_classes + class] * row_scale[feature]` is a weight.
    quantized: Vec<i8>,
    row_scale: Vec<f32>,
    bias: Vec<f32>,
}

/// The model while it is trained, in full precision.
struct Training {
    n_classes: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// A small deterministic generator (xorshift64*), so training needs no dependency and is repeatable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Replaces `scores` by their softmax.
pub fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for score in scores.iter_mut() {
        *score = (*score - max).exp();
        sum += *score;
    }
    for score in scores.iter_mut() {
        *score /= sum;
    }
}

impl Linear {
    /// Trains on `inputs` with class indices `labels` (each `< n_classes`).
    pub fn train(
        inputs: &[&Sparse],
        labels: &[usize],
        n_features: usize,
        n_classes: usize,
        options: LinearOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Linear {
        let n_examples = inputs.len();
        let mut model = Training {
            n_classes,
            weights: vec![0.0; n_features * n_classes],
            bias: vec![0.0; n_classes],
        };
        if n_examples == 0 || n_classes == 0 {
            return model.quantize();
        }
        let lambda = 1.0 / (options.c * n_examples as f32);
        let mut scale = 1.0_f32;
        let mut order: Vec<usize> = (0..n_examples).collect();
        let mut rng = Rng::new(options.seed);
        let total_steps = (options.epochs * n_examples) as f32;
        let mut step = 0_usize;
        let mut gradient = vec![0.0_f32; n_classes];
        for epoch in 0..options.epochs {
            rng.shuffle(&mut order);
            for &example in &order {
                let progress_fraction = step as f32 / total_steps;
                let rate = options.learning_rate * (1.0 - 0.9 * progress_fraction);
                step += 1;
                let input = inputs[example];
                model.raw_scores(input, scale, &mut gradient);
                softmax(&mut gradient);
                gradient[labels[example]] -= 1.0;
                scale *= 1.0 - rate * lambda;
                let step_size = rate / scale;
                for &(feature, value) in input {
                    let row = &mut model.weights[feature as usize * n_classes..][..n_classes];
                    let factor = step_size * value;
                    for (weight, g) in row.iter_mut().zip(&gradient) {
                        *weight -= factor * g;
                    }
                }
                for (bias, g) in model.bias.iter_mut().zip(&gradient) {
                    *bias -= rate * g;
                }
                if scale < 1e-3 {
                    model.rescale(scale);
                    scale = 1.0;
                }
            }
            progress(epoch + 1, options.epochs);
        }
        model.rescale(scale);
        model.quantize()
    }

    /// The logits of `input`, one per class.
    pub fn scores(&self, input: &Sparse) -> Vec<f32> {
        let mut scores = self.bias.clone();
        for &(feature, value) in input {
            let row = &self.quantized[feature as usize * self.n_classes..][..self.n_classes];
            let factor = value * self.row_scale[feature as usize];
            for (score, &weight) in scores.iter_mut().zip(row) {
                *score += factor * f32::from(weight);
            }
        }
        scores
    }

    /// Heap size in bytes.
    pub fn bytes(&self) -> usize {
        self.quantized.capacity() + (self.row_scale.capacity() + self.bias.capacity()) * 4
    }
}

impl Training {
    fn quantize(self) -> Linear {
        let n_classes = self.n_classes.max(1);
        let mut quantized = Vec::with_capacity(self.weights.len());
        let mut row_scale = Vec::with_capacity(self.weights.len() / n_classes);
        for row in self.weights.chunks(n_classes) {
            let largest = row.iter().fold(0.0_f32, |largest, weight| largest.max(weight.abs()));
            let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
            row_scale.push(scale);
            quantized.extend(
                row.iter()
                    .map(|weight| (weight / scale).round().clamp(-127.0, 127.0) as i8),
            );
        }
        Linear {
            n_classes: self.n_classes,
            quantized,
            row_scale,
            bias: self.bias,
        }
    }

    fn rescale(&mut self, scale: f32) {
        for weight in &mut self.weights {
            *weight *= scale;
        }
    }

    fn raw_scores(&self, input: &Sparse, scale: f32, scores: &mut [f32]) {
        scores.fill(0.0);
        for &(feature, value) in input {
            let row = &self.weights[feature as usize * self.n_classes..][..self.n_classes];
            for (score, weight) in scores.iter_mut().zip(row) {
                *score += value * weight;
            }
        }
        for (score, bias) in scores.iter_mut().zip(&self.bias) {
            *score = *score * scale + bias;
        }
    }
}
