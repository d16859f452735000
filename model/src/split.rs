//! Stratified, seeded train / validation / test splits.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Row indices of the three parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
}

/// Splits rows so that each part keeps the share of positives; the same seed gives the same
/// split. `valid` and `test` are fractions of the whole (e.g. 0.15 each).
pub fn stratified(labels: &[bool], valid: f64, test: f64, seed: u64) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut split = Split {
        train: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
    };
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        idx.shuffle(&mut rng);
        let n = idx.len() as f64;
        let n_test = (n * test).round() as usize;
        let n_valid = (n * valid).round() as usize;
        split.test.extend_from_slice(&idx[..n_test.min(idx.len())]);
        let rest = &idx[n_test.min(idx.len())..];
        split
            .valid
            .extend_from_slice(&rest[..n_valid.min(rest.len())]);
        split
            .train
            .extend_from_slice(&rest[n_valid.min(rest.len())..]);
    }
    for part in [&mut split.train, &mut split.valid, &mut split.test] {
        part.sort_unstable();
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_disjoint_stratified_and_reproducible() {
        let labels: Vec<bool> = (0..1000).map(|i| i % 10 == 0).collect();
        let s = stratified(&labels, 0.15, 0.15, 7);
        assert_eq!(s, stratified(&labels, 0.15, 0.15, 7));
        assert_ne!(s, stratified(&labels, 0.15, 0.15, 8));
        let mut all: Vec<usize> = s
            .train
            .iter()
            .chain(&s.valid)
            .chain(&s.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        let pos = |p: &[usize]| p.iter().filter(|&&i| labels[i]).count();
        assert_eq!(pos(&s.test), 15);
        assert_eq!(pos(&s.valid), 15);
        assert_eq!(pos(&s.train), 70);
        assert_eq!(s.test.len(), 150);
    }
}
