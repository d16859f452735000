"""Models and probe rows for the TreeSHAP benchmark (model/benches/treeshap_vs_xgboost.rs).

Usage: python3 scripts/bench-models.py DIR

Writes into DIR (created if needed):
  m100x4.json  100 trees of depth 4, binary:logistic, XGBoost JSON
  m300x6.json  300 trees of depth 6, likewise
  probes.csv   10,000 rows x 30 features, header f0..f29, a missing value as an empty cell
and prints the models' paths, comma-separated, on its last line (LENDSCOPE_BENCH_MODELS).

The data are those of trainer/benches/inference.rs in kind: 30 features uniform on [-2, 2)
with 5 % missing, a non-linear outcome; the parameters are the trainer's defaults (hist,
eta 0.1, subsample and colsample_bytree 0.8, seed 42) on one thread. Seeded: the same
xgboost and numpy give the same files. Needs the xgboost of scripts/requirements-test.txt.
"""

import os
import sys

import numpy as np
import xgboost as xgb

FEATURES = 30
TRAIN_ROWS = 20_000
PROBE_ROWS = 10_000
MODELS = (("m100x4", 100, 4), ("m300x6", 300, 6))


def data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows with 5 % missing values (NaN) and labels drawn from a non-linear logit."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, FEATURES)).astype(np.float32)
    x[rng.random((n, FEATURES)) < 0.05] = np.nan
    v = np.nan_to_num(x.astype(np.float64), nan=0.0)
    logit = (
        0.8 * v[:, 0]
        - 0.6 * v[:, 1] * v[:, 2]
        + 0.5 * np.abs(v[:, 3])
        - 0.4 * v[:, 4]
        + 0.3 * np.sin(2.0 * v[:, 5])
        - 1.0
    )
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
    return x, y


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python3 scripts/bench-models.py DIR")
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    x, y = data(7, TRAIN_ROWS)
    dtrain = xgb.DMatrix(x, label=y, missing=np.nan)
    paths = []
    for name, trees, depth in MODELS:
        params = {
            "objective": "binary:logistic",
            "tree_method": "hist",
            "max_depth": depth,
            "eta": 0.1,
            "seed": 42,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "min_child_weight": 1.0,
            "lambda": 1.0,
            "nthread": 1,
            "verbosity": 0,
        }
        booster = xgb.train(params, dtrain, num_boost_round=trees)
        path = os.path.join(out, f"{name}.json")
        booster.save_model(path)
        paths.append(path)
        print(f"{name}: {trees} trees x depth {depth} -> {path}", file=sys.stderr)
    probes, _ = data(99, PROBE_ROWS)
    probe_path = os.path.join(out, "probes.csv")
    with open(probe_path, "w", encoding="ascii") as f:
        f.write(",".join(f"f{i}" for i in range(FEATURES)) + "\n")
        for row in probes:
            # str of a numpy float32: the shortest text that reads back as the same f32.
            f.write(",".join("" if np.isnan(v) else str(v) for v in row) + "\n")
    print(f"probes: {PROBE_ROWS} rows -> {probe_path}", file=sys.stderr)
    print(",".join(paths))


if __name__ == "__main__":
    main()
