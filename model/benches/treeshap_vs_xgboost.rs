//! TreeSHAP: the pure-Rust explainer (`GbtModel::explain_into`) against XGBoost's own
//! `pred_contribs`, called through XGBoost's C API from the official 3.4.1 library
//! (libxgboost.so, loaded at run time), on the same JSON models, in the same process, on one
//! thread. Every probe row is checked first: all contributions and the bias (XGBoost's last
//! column) must agree within 1e-5. Then criterion times (a) one row: `explain_into` against
//! `pred_contribs` on a prebuilt one-row DMatrix (contributions are not cached per DMatrix);
//! (b) 10,000 rows: `explain_batch_into` (each tree read once per eight rows) against one
//! XGBoost call on a 10,000-row DMatrix.
//!
//! Run: `scripts/bench-treeshap.sh` (fetches the library, trains the models, runs this).
//! By hand: `LENDSCOPE_LIBXGBOOST=$(scripts/xgboost-capi.sh) cargo bench -p lendscope-model
//! --bench treeshap_vs_xgboost`. Without `LENDSCOPE_LIBXGBOOST` it measures nothing.
//!   LENDSCOPE_LIBXGBOOST   path of libxgboost.so (`scripts/xgboost-capi.sh` prints it)
//!   LENDSCOPE_BENCH_MODELS XGBoost JSON models, comma-separated; unset: trained by
//!                          `scripts/bench-models.py` (python xgboost) into target/treeshap-bench
//!   LENDSCOPE_BENCH_PROBES the probe rows (CSV, header, empty cell = missing); unset:
//!                          probes.csv beside the first model
// Loading a C library and calling it is unsafe; all of it is in `mod xgb`, one block per call.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use lendscope_model::{FeatureVector, GbtModel};

/// Rows of the one-row benchmark (cycled), each with its own prebuilt XGBoost matrix.
const ROW_PROBES: usize = 200;
/// The largest difference allowed between the two explanations, in log-odds.
const TOLERANCE: f64 = 1e-5;

/// XGBoost's C API, loaded at run time: the only `unsafe` of this bench. Signatures as in
/// XGBoost 3.4.1's include/xgboost/c_api.h (`bst_ulong` is `uint64_t`; a handle is `void *`).
/// Every call returns 0 on success and -1 on failure, with the message in `XGBGetLastError`.
mod xgb {
    use std::ffi::{c_char, c_int, c_void, CStr, CString};
    use std::path::Path;
    use std::rc::Rc;

    type Handle = *mut c_void;
    type BstUlong = u64;
    type VersionFn = unsafe extern "C" fn(*mut c_int, *mut c_int, *mut c_int);
    type LastErrorFn = unsafe extern "C" fn() -> *const c_char;
    type BoosterCreateFn = unsafe extern "C" fn(*const Handle, BstUlong, *mut Handle) -> c_int;
    type LoadFromBufferFn = unsafe extern "C" fn(Handle, *const c_void, BstUlong) -> c_int;
    type SetParamFn = unsafe extern "C" fn(Handle, *const c_char, *const c_char) -> c_int;
    type FreeFn = unsafe extern "C" fn(Handle) -> c_int;
    type FromMatFn =
        unsafe extern "C" fn(*const f32, BstUlong, BstUlong, f32, *mut Handle) -> c_int;
    type PredictFn = unsafe extern "C" fn(
        Handle,
        Handle,
        *const c_char,
        *mut *const BstUlong,
        *mut BstUlong,
        *mut *const f32,
    ) -> c_int;

    /// `XGBoosterPredictFromDMatrix` configuration: type 2 is exact feature contributions
    /// (legacy `XGBoosterPredict` option mask 4); `iteration_end` 0 means every tree.
    const CONTRIBUTIONS: &str = concat!(
        r#"{"type": 2, "training": false, "iteration_begin": 0, "iteration_end": 0, "#,
        r#""strict_shape": false}"#
    );

    /// The loaded library and the functions used from it.
    pub struct Api {
        version: VersionFn,
        last_error: LastErrorFn,
        booster_create: BoosterCreateFn,
        booster_load_model_from_buffer: LoadFromBufferFn,
        booster_set_param: SetParamFn,
        booster_free: FreeFn,
        dmatrix_create_from_mat: FromMatFn,
        dmatrix_free: FreeFn,
        booster_predict_from_dmatrix: PredictFn,
        /// Kept last and never dropped before the function pointers above stop being used:
        /// boosters and matrices hold an `Rc<Api>`.
        _lib: libloading::Library,
    }

    impl Api {
        /// Loads libxgboost.so from `path`.
        pub fn load(path: &Path) -> Result<Rc<Self>, String> {
            let err = |e: libloading::Error| format!("{}: {e}", path.display());
            // SAFETY: loading runs the library's initialisers; libxgboost.so (and the libgomp
            // it ships) are ordinary C++ shared libraries whose initialisers only set up
            // their own state. The library stays loaded as long as `Api` lives.
            let lib = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
            // SAFETY: each symbol is read with the type of its C declaration in XGBoost
            // 3.4.1's c_api.h (the aliases above) and copied out of its `Symbol`; the
            // pointers are kept beside the library and used only while it is loaded.
            let api = unsafe {
                let version: VersionFn = *lib.get::<VersionFn>(b"XGBoostVersion\0").map_err(err)?;
                let last_error: LastErrorFn =
                    *lib.get::<LastErrorFn>(b"XGBGetLastError\0").map_err(err)?;
                let booster_create: BoosterCreateFn = *lib
                    .get::<BoosterCreateFn>(b"XGBoosterCreate\0")
                    .map_err(err)?;
                let booster_load_model_from_buffer: LoadFromBufferFn = *lib
                    .get::<LoadFromBufferFn>(b"XGBoosterLoadModelFromBuffer\0")
                    .map_err(err)?;
                let booster_set_param: SetParamFn =
                    *lib.get::<SetParamFn>(b"XGBoosterSetParam\0").map_err(err)?;
                let booster_free: FreeFn = *lib.get::<FreeFn>(b"XGBoosterFree\0").map_err(err)?;
                let dmatrix_create_from_mat: FromMatFn = *lib
                    .get::<FromMatFn>(b"XGDMatrixCreateFromMat\0")
                    .map_err(err)?;
                let dmatrix_free: FreeFn = *lib.get::<FreeFn>(b"XGDMatrixFree\0").map_err(err)?;
                let booster_predict_from_dmatrix: PredictFn = *lib
                    .get::<PredictFn>(b"XGBoosterPredictFromDMatrix\0")
                    .map_err(err)?;
                Self {
                    version,
                    last_error,
                    booster_create,
                    booster_load_model_from_buffer,
                    booster_set_param,
                    booster_free,
                    dmatrix_create_from_mat,
                    dmatrix_free,
                    booster_predict_from_dmatrix,
                    _lib: lib,
                }
            };
            Ok(Rc::new(api))
        }

        /// The library's version, "major.minor.patch".
        pub fn version(&self) -> String {
            let (mut major, mut minor, mut patch): (c_int, c_int, c_int) = (0, 0, 0);
            // SAFETY: XGBoostVersion writes one int through each non-null pointer; the three
            // point to live locals.
            unsafe { (self.version)(&mut major, &mut minor, &mut patch) };
            format!("{major}.{minor}.{patch}")
        }

        /// `Ok` for a return code of 0, XGBoost's message otherwise.
        fn check(&self, rc: c_int, call: &str) -> Result<(), String> {
            if rc == 0 {
                return Ok(());
            }
            // SAFETY: XGBGetLastError returns a NUL-terminated string owned by the library
            // (thread-local), valid until the next failing call on this thread; it is copied
            // at once. Null is handled.
            let msg = unsafe {
                let p = (self.last_error)();
                if p.is_null() {
                    String::from("(no message)")
                } else {
                    CStr::from_ptr(p).to_string_lossy().into_owned()
                }
            };
            Err(format!("{call} failed: {msg}"))
        }
    }

    /// A booster holding one model, predicting on one thread.
    pub struct Booster {
        api: Rc<Api>,
        handle: Handle,
        config: CString,
    }

    impl Booster {
        /// A booster from the bytes of an XGBoost JSON model, set to one thread.
        pub fn from_json(api: &Rc<Api>, json: &[u8]) -> Result<Self, String> {
            let mut handle: Handle = std::ptr::null_mut();
            // SAFETY: no cache matrices (null pointer, length 0); `handle` is a live out
            // pointer.
            let rc = unsafe { (api.booster_create)(std::ptr::null(), 0, &mut handle) };
            api.check(rc, "XGBoosterCreate")?;
            // From here the handle is freed by Drop, whatever fails next.
            let booster = Self {
                api: Rc::clone(api),
                handle,
                config: CString::new(CONTRIBUTIONS).expect("no NUL in the configuration"),
            };
            // SAFETY: `json` is valid for `json.len()` bytes during the call; XGBoost parses
            // it into its own structures and keeps no pointer to it.
            let rc = unsafe {
                (api.booster_load_model_from_buffer)(
                    booster.handle,
                    json.as_ptr().cast(),
                    json.len() as BstUlong,
                )
            };
            api.check(rc, "XGBoosterLoadModelFromBuffer")?;
            // SAFETY: both strings are NUL-terminated literals; XGBoost copies them.
            let rc = unsafe {
                (api.booster_set_param)(booster.handle, c"nthread".as_ptr(), c"1".as_ptr())
            };
            api.check(rc, "XGBoosterSetParam(nthread)")?;
            Ok(booster)
        }

        /// The SHAP values of every row of `m`, row-major, each row its features' values and
        /// then the bias; and the number of columns (features + 1). The slice is XGBoost's
        /// own buffer, valid until the next prediction: the `&mut self` borrow enforces it.
        pub fn contributions(&mut self, m: &DMatrix) -> Result<(&[f32], usize), String> {
            let mut shape: *const BstUlong = std::ptr::null();
            let mut dim: BstUlong = 0;
            let mut out: *const f32 = std::ptr::null();
            // SAFETY: both handles are live (owned by `self` and `m`); the configuration is
            // NUL-terminated; the three out pointers point to live locals.
            let rc = unsafe {
                (self.api.booster_predict_from_dmatrix)(
                    self.handle,
                    m.handle,
                    self.config.as_ptr(),
                    &mut shape,
                    &mut dim,
                    &mut out,
                )
            };
            self.api.check(rc, "XGBoosterPredictFromDMatrix")?;
            if dim != 2 || shape.is_null() || out.is_null() {
                return Err(format!("contributions of {dim} dimensions, expected 2"));
            }
            // SAFETY: on success `shape` points to `dim` (= 2) integers and `out` to
            // rows × columns floats, in a thread-local buffer of this booster that lives
            // until its next prediction on this thread; `Booster` is neither Send nor Sync
            // (raw handle) and the returned borrow of `self` blocks another call.
            let (rows, cols, values) = unsafe {
                let rows = *shape as usize;
                let cols = *shape.add(1) as usize;
                (rows, cols, std::slice::from_raw_parts(out, rows * cols))
            };
            if rows != m.rows {
                return Err(format!("{rows} rows of contributions for {} rows", m.rows));
            }
            Ok((values, cols))
        }
    }

    impl Drop for Booster {
        fn drop(&mut self) {
            // SAFETY: the handle came from XGBoosterCreate and is freed once, here. Freeing
            // a live handle does not fail; there is nothing to do if it did.
            unsafe { (self.api.booster_free)(self.handle) };
        }
    }

    /// A dense matrix of rows in XGBoost (NaN = missing).
    pub struct DMatrix {
        api: Rc<Api>,
        handle: Handle,
        rows: usize,
    }

    impl DMatrix {
        /// The matrix of `values`, row-major, `cols` per row.
        pub fn dense(api: &Rc<Api>, values: &[f32], cols: usize) -> Result<Self, String> {
            assert!(cols > 0, "at least one column");
            let rows = values.len() / cols;
            assert_eq!(rows * cols, values.len(), "whole rows");
            let mut handle: Handle = std::ptr::null_mut();
            // SAFETY: `values` holds rows × cols floats for the call; XGBoost copies them into
            // its own matrix (SimpleDMatrix) and keeps no pointer; `handle` is a live out
            // pointer.
            let rc = unsafe {
                (api.dmatrix_create_from_mat)(
                    values.as_ptr(),
                    rows as BstUlong,
                    cols as BstUlong,
                    f32::NAN,
                    &mut handle,
                )
            };
            api.check(rc, "XGDMatrixCreateFromMat")?;
            Ok(Self {
                api: Rc::clone(api),
                handle,
                rows,
            })
        }
    }

    impl Drop for DMatrix {
        fn drop(&mut self) {
            // SAFETY: the handle came from XGDMatrixCreateFromMat and is freed once, here.
            // Freeing a live handle does not fail; there is nothing to do if it did.
            unsafe { (self.api.dmatrix_free)(self.handle) };
        }
    }
}

/// One model in both implementations, with the probe rows.
struct Case {
    name: String,
    model: GbtModel,
    booster: xgb::Booster,
    /// The probe rows for the Rust side.
    probes: Vec<FeatureVector>,
    /// The same rows as one XGBoost matrix.
    all_rows: xgb::DMatrix,
    /// The first `ROW_PROBES` rows, one XGBoost matrix each (built once, outside the timing).
    row_matrices: Vec<xgb::DMatrix>,
    /// Largest |Rust − XGBoost| over all contributions and biases.
    max_delta: f64,
    /// One untimed pass over all rows, seconds: (Rust, XGBoost); sizes the batch timing.
    once: (f64, f64),
}

/// The probe rows of a CSV file: a header line, then one row per line, an empty cell missing.
fn read_probes(path: &Path) -> (Vec<FeatureVector>, Vec<f32>, usize) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading the probes {}: {e}", path.display()));
    let mut lines = text.lines();
    let cols = lines.next().expect("a header line").split(',').count();
    let mut flat = Vec::new();
    let mut rows = Vec::new();
    for (i, line) in lines.filter(|l| !l.trim().is_empty()).enumerate() {
        let row: Vec<f32> = line
            .split(',')
            .map(|cell| {
                let cell = cell.trim();
                if cell.is_empty() {
                    f32::NAN
                } else {
                    cell.parse()
                        .unwrap_or_else(|e| panic!("probe row {}: '{cell}': {e}", i + 1))
                }
            })
            .collect();
        assert_eq!(
            row.len(),
            cols,
            "probe row {} has {} cells",
            i + 1,
            row.len()
        );
        flat.extend_from_slice(&row);
        rows.push(FeatureVector::new(row).expect("finite or missing values"));
    }
    (rows, flat, cols)
}

/// The model files and the probe file: from the environment, or trained for this run.
fn inputs(target: &Path) -> (Vec<PathBuf>, PathBuf) {
    let models: Vec<PathBuf> = match std::env::var("LENDSCOPE_BENCH_MODELS") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|p| PathBuf::from(p.trim()))
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        _ => {
            let dir = target.join("treeshap-bench");
            let script =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench-models.py");
            println!(
                "training the models with {} into {}",
                script.display(),
                dir.display()
            );
            let out = std::process::Command::new("python3")
                .arg(&script)
                .arg(&dir)
                .stderr(std::process::Stdio::inherit())
                .output()
                .expect("running python3 (scripts/bench-models.py needs xgboost and numpy)");
            assert!(
                out.status.success(),
                "scripts/bench-models.py failed ({}); `scripts/setup.sh --test` installs its \
                 Python packages",
                out.status
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            let last = stdout.lines().last().expect("the models' paths").to_owned();
            last.split(',').map(PathBuf::from).collect()
        }
    };
    assert!(!models.is_empty(), "no model files");
    let probes = std::env::var_os("LENDSCOPE_BENCH_PROBES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            models[0]
                .parent()
                .unwrap_or(Path::new("."))
                .join("probes.csv")
        });
    (models, probes)
}

fn case(api: &std::rc::Rc<xgb::Api>, path: &Path, probes_path: &Path) -> Case {
    let name = path
        .file_stem()
        .map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned());
    let json = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    // The same bytes for both.
    let model = GbtModel::from_json(&json)
        .unwrap_or_else(|e| panic!("{}: not a model for Lendscope: {e}", path.display()));
    let mut booster = xgb::Booster::from_json(api, &json)
        .unwrap_or_else(|e| panic!("{}: XGBoost: {e}", path.display()));
    let (probes, flat, cols) = read_probes(probes_path);
    let features = model.num_features();
    assert_eq!(cols, features, "probe columns against the model's features");
    assert!(
        probes.len() >= ROW_PROBES,
        "at least {ROW_PROBES} probe rows"
    );
    let all_rows = xgb::DMatrix::dense(api, &flat, cols).expect("the probe matrix");
    let row_matrices: Vec<xgb::DMatrix> = flat
        .chunks(cols)
        .take(ROW_PROBES)
        .map(|row| xgb::DMatrix::dense(api, row, cols).expect("a one-row matrix"))
        .collect();

    // Parity on every probe row, every contribution and the bias. This pass also gives the
    // untimed duration of one batch on each side.
    let started = Instant::now();
    let mut ours = vec![0.0f64; probes.len() * features];
    let mut biases = vec![0.0f64; probes.len()];
    for ((x, out), bias) in probes
        .iter()
        .zip(ours.chunks_mut(features))
        .zip(&mut biases)
    {
        *bias = model.explain_into(x, out).expect("explaining a probe");
    }
    let rust_rows_once = started.elapsed().as_secs_f64();
    // The batch kernel (rows as lanes) must give every row's own values.
    let started = Instant::now();
    let mut batch = vec![0.0f64; probes.len() * features];
    let batch_bias = model
        .explain_batch_into(&probes, &mut batch)
        .expect("explaining the probes in one batch");
    let rust_once = started.elapsed().as_secs_f64();
    let batch_delta = batch
        .iter()
        .zip(&ours)
        .map(|(a, b)| (a - b).abs())
        .fold((batch_bias - biases[0]).abs(), f64::max);
    assert!(
        batch_delta <= 1e-9,
        "{name}: the batch differs from single rows by {batch_delta:e}"
    );
    println!(
        "{name}: one untimed pass over {} rows: {:.0} µs per row one by one, {:.0} µs per row in batch",
        probes.len(),
        rust_rows_once * 1e6 / probes.len() as f64,
        rust_once * 1e6 / probes.len() as f64
    );
    let started = Instant::now();
    let (theirs, width) = booster
        .contributions(&all_rows)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let xgb_once = started.elapsed().as_secs_f64();
    assert_eq!(
        width,
        features + 1,
        "XGBoost's columns: features and the bias"
    );
    let mut max_delta = 0.0f64;
    let mut worst = (0, 0);
    for (r, (row, bias)) in ours.chunks(features).zip(&biases).enumerate() {
        let xgb_row = &theirs[r * width..(r + 1) * width];
        for (j, a) in row.iter().chain(std::iter::once(bias)).enumerate() {
            let d = (a - f64::from(xgb_row[j])).abs();
            // A NaN on either side must fail the check, not be skipped by the comparison.
            if d > max_delta || d.is_nan() {
                max_delta = d;
                worst = (r, j);
            }
        }
    }
    assert!(
        max_delta <= TOLERANCE,
        "{name}: TreeSHAP differs from XGBoost by {max_delta:e} (row {}, column {}{}), more \
         than {TOLERANCE:e}",
        worst.0,
        worst.1,
        if worst.1 == features {
            ", the bias"
        } else {
            ""
        }
    );
    // The one-row matrices give the rows of the batch: the single-row timing explains the
    // same rows the parity check covered.
    let batch_rows: Vec<f32> = theirs[..ROW_PROBES * width].to_vec();
    for (r, m) in row_matrices.iter().enumerate() {
        let (one, _) = booster
            .contributions(m)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = &batch_rows[r * width..(r + 1) * width];
        let d = one
            .iter()
            .zip(expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            d <= 1e-6,
            "{name}: row {r} alone differs from its batch row by {d}"
        );
    }
    println!(
        "{name}: {} trees, {features} features; parity on {} rows × {} values: \
         max |Δ| {max_delta:.2e} (limit {TOLERANCE:e})",
        model.num_trees(),
        probes.len(),
        width
    );
    Case {
        name,
        model,
        booster,
        probes,
        all_rows,
        row_matrices,
        max_delta,
        once: (rust_once, xgb_once),
    }
}

fn bench(c: &mut Criterion, cases: &mut [Case]) {
    for case in cases.iter_mut() {
        let features = case.model.num_features();
        // (a) One row. Rust explains a row it is handed; XGBoost explains a prebuilt one-row
        // matrix (contributions are recomputed on every call, never cached per matrix).
        let mut group = c.benchmark_group(format!("treeshap_{}", case.name));
        let mut i = 0usize;
        let mut out = vec![0.0f64; features];
        group.bench_function("rust_row", |b| {
            b.iter(|| {
                i = (i + 1) % ROW_PROBES;
                black_box(
                    case.model
                        .explain_into(black_box(&case.probes[i]), &mut out)
                        .expect("explaining a row"),
                )
            });
        });
        let booster = &mut case.booster;
        let row_matrices = &case.row_matrices;
        group.bench_function("xgboost_row", |b| {
            b.iter(|| {
                i = (i + 1) % ROW_PROBES;
                let (values, _) = booster
                    .contributions(black_box(&row_matrices[i]))
                    .expect("pred_contribs of a row");
                black_box(values.as_ptr())
            });
        });
        group.finish();

        // (b) Every probe row: a loop over the rows against one call on the whole matrix.
        // Ten samples of one pass each (seconds a pass for 300 × 6): the target time is set
        // from the untimed pass so that criterion's flat sampling gives each sample one pass.
        let mut group = c.benchmark_group(format!("treeshap_{}_batch", case.name));
        let ten_passes = |once: f64| Duration::from_secs_f64((once * 8.0).max(1.0));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(ten_passes(case.once.0));
        let mut out = vec![0.0f64; case.probes.len() * features];
        group.bench_function("rust_batch", |b| {
            b.iter(|| {
                let bias = case
                    .model
                    .explain_batch_into(black_box(&case.probes), &mut out)
                    .expect("explaining");
                black_box((bias, out.as_ptr()))
            });
        });
        let all_rows = &case.all_rows;
        group.measurement_time(ten_passes(case.once.1));
        group.bench_function("xgboost_batch", |b| {
            b.iter(|| {
                let (values, _) = booster
                    .contributions(black_box(all_rows))
                    .expect("pred_contribs of the batch");
                black_box(values.as_ptr())
            });
        });
        group.finish();
    }
}

/// Mean time per iteration in nanoseconds, as criterion estimated it.
fn estimate(dir: &Path, group: &str, bench: &str) -> Option<f64> {
    let text =
        std::fs::read_to_string(dir.join(group).join(bench).join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn main() {
    let Some(lib) = std::env::var_os("LENDSCOPE_LIBXGBOOST").filter(|v| !v.is_empty()) else {
        println!(
            "treeshap_vs_xgboost: LENDSCOPE_LIBXGBOOST is not set, nothing measured. Run \
             scripts/bench-treeshap.sh, or set it to the path that scripts/xgboost-capi.sh \
             prints (XGBoost 3.4.1's libxgboost.so)."
        );
        return;
    };
    // XGBoost's OpenMP pool: one thread, like the pure-Rust code (read when libgomp loads;
    // the booster's own `nthread` is set to 1 as well).
    std::env::set_var("OMP_NUM_THREADS", "1");
    let api = xgb::Api::load(Path::new(&lib)).unwrap_or_else(|e| panic!("loading XGBoost: {e}"));
    let version = api.version();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let out_dir = target.join("criterion");
    let (models, probes) = inputs(&target);
    println!(
        "XGBoost {version} from {}; probes {}",
        Path::new(&lib).display(),
        probes.display()
    );
    let mut cases: Vec<Case> = models.iter().map(|m| case(&api, m, &probes)).collect();

    let mut criterion = Criterion::default()
        .output_directory(&out_dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut criterion, &mut cases);
    criterion.final_summary();

    println!(
        "\nSummary: TreeSHAP, mean µs per row, one thread; Rust against XGBoost {version} \
         pred_contribs (C API); machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<10} {:>10} {:>12} {:>12} {:>8} {:>14} {:>14} {:>8}",
        "model", "max |Δ|", "rust row", "xgb row", "×", "rust batch", "xgb batch", "×"
    );
    for c in &cases {
        let get = |group: &str, b: &str| estimate(&out_dir, group, b);
        let row = format!("treeshap_{}", c.name);
        let batch = format!("treeshap_{}_batch", c.name);
        let n = c.probes.len() as f64;
        if let (Some(rr), Some(xr), Some(rb), Some(xb)) = (
            get(&row, "rust_row"),
            get(&row, "xgboost_row"),
            get(&batch, "rust_batch"),
            get(&batch, "xgboost_batch"),
        ) {
            println!(
                "{:<10} {:>10.1e} {:>9.2} µs {:>9.2} µs {:>7.1}× {:>11.2} µs {:>11.2} µs {:>7.1}×",
                c.name,
                c.max_delta,
                rr / 1e3,
                xr / 1e3,
                xr / rr,
                rb / 1e3 / n,
                xb / 1e3 / n,
                xb / rb
            );
        }
    }
    println!(
        "(row: one row, XGBoost on a prebuilt one-row DMatrix; batch: {} rows, per row, \
         explain_batch_into against one XGBoost call)",
        cases.first().map_or(0, |c| c.probes.len())
    );
}
