use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// `n` rows whose outcome is drawn with probability `truth(p)` for a model probability p
/// drawn from a Beta-like spread over (0, 1).
fn sample(seed: u64, n: usize, truth: impl Fn(f64) -> f64) -> (Vec<f64>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u: f64 = rng.gen::<f64>() * rng.gen::<f64>();
            let p = 0.01 + 0.98 * u;
            (p, rng.gen::<f64>() < truth(p))
        })
        .unzip()
}

#[test]
fn chunks_keep_the_remainder() {
    assert_eq!(size_chunks(10, 4), vec![0..4, 4..8, 8..10]);
    assert_eq!(size_chunks(8, 4), vec![0..4, 4..8]);
    assert!(size_chunks(0, 4).is_empty());
    assert_eq!(size_chunks_merged(9, 4), vec![0..4, 4..9]);
    assert_eq!(size_chunks_merged(10, 4), vec![0..4, 4..8, 8..10]);
    assert_eq!(size_chunks_merged(11, 4), vec![0..4, 4..8, 8..11]);
    assert_eq!(size_chunks_merged(3, 4), vec![0..3]);
}

#[test]
fn isotonic_pools_violators_and_interpolates() {
    // Means by score: 0.1 → 1, 0.2 → 0, 0.3 → {1, 0} = 0.5, 0.4 → 1.
    let s = [0.1, 0.2, 0.3, 0.3, 0.4];
    let l = [true, false, true, false, true];
    let iso = Isotonic::fit(&s, &l).unwrap();
    // 0.1 and 0.2 pool to 0.5, which 0.3 (0.5) does not violate.
    for (p, want) in [
        (0.0, 0.5),
        (0.1, 0.5),
        (0.2, 0.5),
        (0.3, 0.5),
        (0.35, 0.75),
        (0.4, 1.0),
    ] {
        assert!(
            (iso.predict(p) - want).abs() < 1e-12,
            "{p}: {}",
            iso.predict(p)
        );
    }
    assert_eq!(iso.predict(2.0), 1.0);
    // Monotone on random data, and the fitted values average to the base rate.
    let (s, l) = sample(3, 2_000, |p| p * p);
    let iso = Isotonic::fit(&s, &l).unwrap();
    let mut sorted = s;
    sorted.sort_by(f64::total_cmp);
    let fitted: Vec<f64> = sorted.iter().map(|&p| iso.predict(p)).collect();
    assert!(fitted.windows(2).all(|w| w[0] <= w[1] + 1e-15));
    let rate = l.iter().filter(|&&x| x).count() as f64 / l.len() as f64;
    let mean_fit = fitted.iter().sum::<f64>() / fitted.len() as f64;
    assert!((rate - mean_fit).abs() < 1e-9, "{rate} vs {mean_fit}");
}

#[test]
fn calibration_is_applied_only_where_it_helps() {
    let (s, l) = sample(6, 5_000, |p| p.powi(3));
    assert!(
        needs_calibration(&s, &l).unwrap(),
        "scores three times too high"
    );
    let one_class = [false; 10];
    assert!(!needs_calibration(&[0.1; 10], &one_class).unwrap());
    // Scores that separate the outcomes perfectly are left alone (AUC above 0.999).
    let s: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
    let l: Vec<bool> = (0..100).map(|i| i >= 70).collect();
    assert!(!needs_calibration(&s, &l).unwrap());
}

/// With calibrated probabilities the estimate is the AUC expected of the chunk: over many
/// chunks its mean equals the realized mean and its sampling error matches their spread.
#[test]
fn estimated_auc_tracks_realized_auc() {
    let (s, l) = sample(7, 20_000, |p| p);
    let cbpe = Cbpe::fit(&s, &l, &size_chunks(s.len(), 1_000)).unwrap();
    let (mut est, mut real) = (Vec::new(), Vec::new());
    for seed in 100..160 {
        let (a, b) = sample(seed, 1_000, |p| p);
        let outcomes: Vec<Option<bool>> = b.iter().map(|&x| Some(x)).collect();
        let e = cbpe.estimate(0, &a, &outcomes).unwrap();
        est.push(e.roc_auc.value.unwrap());
        real.push(e.roc_auc.realized.unwrap());
        assert_eq!(e.labelled, 1_000);
        assert!(!e.roc_auc.alert, "no shift, no alert: {e:?}");
    }
    let diff: Vec<f64> = est.iter().zip(&real).map(|(e, r)| r - e).collect();
    let m = mean(&diff).unwrap();
    let sd = population_std(&diff);
    assert!(
        m.abs() < 3.0 * sd / (diff.len() as f64).sqrt(),
        "bias {m}, sd {sd}"
    );
    let se = cbpe
        .estimate(0, &s[..1_000], &[None; 1_000])
        .unwrap()
        .roc_auc
        .sampling_error
        .unwrap();
    assert!(
        sd > 0.5 * se && sd < 2.0 * se,
        "spread {sd}, sampling error {se}"
    );
}

/// The estimate is exact for a chunk whose probabilities are all 0 or 1.
#[test]
fn estimate_is_exact_for_certain_probabilities() {
    let cal = [1.0, 0.0, 1.0, 0.0, 0.0];
    let raw = [0.9, 0.8, 0.7, 0.2, 0.1];
    let labels = [true, false, true, false, false];
    let want = metrics::auc(&raw, &labels).unwrap();
    assert!((estimate_roc_auc(&cal, &raw).unwrap() - want).abs() < 1e-12);
    assert_eq!(estimate_roc_auc(&[0.0, 0.0], &[0.1, 0.2]), None);
}

/// A population whose probabilities crowd together loses discrimination: the estimate falls
/// below the lower threshold and alerts, before any outcome is known; the expected default
/// rate of a riskier population rises above its threshold.
#[test]
fn shifts_raise_alerts_without_outcomes() {
    let (s, l) = sample(11, 10_000, |p| p);
    let cbpe = Cbpe::fit(&s, &l, &size_chunks(s.len(), 1_000)).unwrap();
    let t = cbpe.roc_auc_thresholds;
    assert!(t.lower.unwrap() < t.upper.unwrap());
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let crowded: Vec<f64> = (0..1_000).map(|_| 0.3 + 0.1 * rng.gen::<f64>()).collect();
    let e = cbpe.estimate(0, &crowded, &[None; 1_000]).unwrap();
    assert!(e.roc_auc.alert, "{e:?} vs {t:?}");
    assert_eq!(e.roc_auc.realized, None);
    assert_eq!(e.labelled, 0);
    let risky: Vec<f64> = (0..1_000).map(|_| 0.5 + 0.4 * rng.gen::<f64>()).collect();
    let e = cbpe.estimate(0, &risky, &[None; 1_000]).unwrap();
    assert!(e.default_rate.alert, "{e:?}");
    assert!(e.default_rate.lower_band.unwrap() < e.default_rate.value.unwrap());
}

/// The sampling-error components by their definition, computed the long way: on the
/// minority class as positive, so a reference where most rows defaulted is read flipped.
#[test]
fn sampling_components_by_definition() {
    let (s, l) = sample(13, 500, |p| p);
    let (sigma, fraction) = auc_sampling_components(&s, &l);
    let (s_flipped, l_flipped): (Vec<f64>, Vec<bool>) =
        s.iter().zip(&l).map(|(&p, &d)| (1.0 - p, !d)).unzip();
    assert!(
        l_flipped.iter().filter(|&&d| d).count() * 2 > l.len(),
        "majority positive"
    );
    let (sigma_f, fraction_f) = auc_sampling_components(&s_flipped, &l_flipped);
    assert!((sigma_f - sigma).abs() < 1e-12 && (fraction_f - fraction).abs() < 1e-12);
    let mut idx: Vec<usize> = (0..s.len()).collect();
    idx.sort_by(|&a, &b| s[a].total_cmp(&s[b]));
    let neg = l.iter().filter(|&&x| !x).count() as f64;
    let mut shares = Vec::new();
    let mut negatives_below = 0.0;
    for &i in &idx {
        if l[i] {
            shares.push(negatives_below / neg);
        } else {
            negatives_below += 1.0;
        }
    }
    if l[idx[0]] {
        shares.remove(0);
    }
    assert!((sigma - population_std(&shares)).abs() < 1e-12);
    assert!((fraction - (s.len() as f64 - neg) / s.len() as f64).abs() < 1e-12);
}

#[test]
fn bad_input_is_named() {
    let err = Cbpe::fit(&[0.1, 1.5], &[true, false], &size_chunks(2, 2)).unwrap_err();
    assert!(err.to_string().contains("row 2"), "{err}");
    let err = Cbpe::fit(&[0.1, 0.5], &[true, true], &size_chunks(2, 2)).unwrap_err();
    assert!(err.to_string().contains("both outcomes"), "{err}");
    let cbpe = Cbpe::fit(&[0.1, 0.5, 0.7], &[false, true, false], &size_chunks(3, 3)).unwrap();
    let err = cbpe
        .estimate(10, &[0.2, f64::NAN], &[None, None])
        .unwrap_err();
    assert!(err.to_string().contains("row 12"), "{err}");
}
