//! The held-out validation split: seeded, and stratified by class for classification so every
//! class is present on both sides in its overall proportion.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Splits row indices `0..labels.len()` into (training, validation), each sorted.
///
/// With `classes > 1` the labels are class indices and each class is split separately, keeping
/// at least one row of it for training. `fraction` 0 holds nothing out.
pub fn split(labels: &[f64], classes: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let n = labels.len();
    if fraction <= 0.0 || n < 2 {
        return ((0..n).collect(), Vec::new());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let groups: Vec<Vec<usize>> = if classes > 1 {
        let mut g = vec![Vec::new(); classes];
        for (i, &y) in labels.iter().enumerate() {
            if let Some(group) = g.get_mut(y as usize) {
                group.push(i);
            }
        }
        g
    } else {
        vec![(0..n).collect()]
    };
    let mut train = Vec::with_capacity(n);
    let mut valid = Vec::with_capacity((n as f64 * fraction) as usize + classes);
    for mut group in groups {
        group.shuffle(&mut rng);
        let held =
            ((group.len() as f64 * fraction).round() as usize).min(group.len().saturating_sub(1));
        valid.extend_from_slice(&group[..held]);
        train.extend_from_slice(&group[held..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    (train, valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_and_deterministic() {
        let labels: Vec<f64> = (0..1000)
            .map(|i| if i % 10 == 0 { 1.0 } else { 0.0 })
            .collect();
        let (train, valid) = split(&labels, 2, 0.2, 7);
        assert_eq!(train.len() + valid.len(), 1000);
        assert_eq!(valid.len(), 200);
        let positives = valid.iter().filter(|&&i| labels[i] == 1.0).count();
        assert_eq!(positives, 20, "each class keeps its share");
        assert_eq!(split(&labels, 2, 0.2, 7), (train.clone(), valid.clone()));
        assert_ne!(split(&labels, 2, 0.2, 8).1, valid, "the seed matters");
    }

    #[test]
    fn nothing_held_out_at_zero_and_every_class_trains() {
        let labels = vec![0.0, 1.0, 1.0, 1.0];
        assert_eq!(split(&labels, 2, 0.0, 1).1, Vec::<usize>::new());
        let (train, _) = split(&labels, 2, 0.5, 1);
        assert!(
            train.contains(&0),
            "the only row of class 0 stays in training"
        );
    }
}
