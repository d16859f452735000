//! Quick timing of TreeSHAP on one model (a development aid; the benchmark with XGBoost is
//! `benches/treeshap_vs_xgboost.rs`): `cargo run --release -p lendscope-model --example
//! shap_timing -- MODEL.json PROBES.csv`. Prints µs per row one by one and in batch.
use std::time::Instant;

use lendscope_model::values::FeatureVector;
use lendscope_model::GbtModel;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(model), Some(probes)) = (args.get(1), args.get(2)) else {
        println!("usage: shap_timing MODEL.json PROBES.csv");
        return;
    };
    let model = GbtModel::from_json(&std::fs::read(model).expect("model")).expect("a model");
    let text = std::fs::read_to_string(probes).expect("probes");
    let rows: Vec<FeatureVector> = text
        .lines()
        .skip(1)
        .take(2000)
        .map(|l| {
            FeatureVector::new(
                l.split(',')
                    .map(|c| c.parse::<f32>().unwrap_or(f32::NAN))
                    .collect(),
            )
            .expect("a row")
        })
        .collect();
    let m = model.num_features();
    let mut out = vec![0.0; m];
    for _ in 0..3 {
        let t = Instant::now();
        let mut sink = 0.0;
        for x in &rows {
            sink += model.explain_into(x, &mut out).expect("explain");
            sink += out[0];
        }
        let single = t.elapsed().as_secs_f64() * 1e6 / rows.len() as f64;
        let mut all = vec![0.0; rows.len() * m];
        let t = Instant::now();
        sink += model.explain_batch_into(&rows, &mut all).expect("batch");
        let batch = t.elapsed().as_secs_f64() * 1e6 / rows.len() as f64;
        println!("single {single:.1} µs/row, batch {batch:.1} µs/row ({sink:.3})");
    }
}
