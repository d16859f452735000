"""Reference values from the Python `xgboost` package, for Lendscope's parity tests.

  predict --model model.json --matrix X.csv --out ref.csv
      writes, per row of X.csv, XGBoost's probability and pred_contribs (features..., bias)
  train --matrix X.csv --labels y.csv --out model.json [--depth D] [--rounds N]
      trains a binary:logistic model with the matrix's header as feature names

Empty cells in X.csv are missing values (NaN).
"""
import argparse
import csv
import sys

import numpy as np
import xgboost as xgb


def read_matrix(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    x = np.array([[float(v) if v != "" else np.nan for v in r] for r in body], dtype=np.float32)
    return header, x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["predict", "train"])
    p.add_argument("--model")
    p.add_argument("--matrix", required=True)
    p.add_argument("--labels")
    p.add_argument("--out", required=True)
    p.add_argument("--depth", type=int, default=5)
    p.add_argument("--rounds", type=int, default=60)
    a = p.parse_args()
    header, x = read_matrix(a.matrix)
    print(f"xgboost {xgb.__version__}", file=sys.stderr)
    if a.mode == "predict":
        booster = xgb.Booster()
        booster.load_model(a.model)
        booster.set_param({"nthread": 1})
        names = header if booster.feature_names else None
        d = xgb.DMatrix(x, missing=np.nan, feature_names=names)
        prob = booster.predict(d)
        contribs = booster.predict(d, pred_contribs=True)
        with open(a.out, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["probability"] + header + ["bias"])
            for pr, c in zip(prob, contribs):
                w.writerow([repr(float(pr))] + [repr(float(v)) for v in c])
    else:
        with open(a.labels) as f:
            y = np.array([float(line) for line in f.read().split()], dtype=np.float32)
        d = xgb.DMatrix(x, label=y, missing=np.nan, feature_names=header)
        params = {"objective": "binary:logistic", "max_depth": a.depth, "eta": 0.15,
                  "subsample": 0.9, "seed": 3, "tree_method": "hist", "nthread": 2}
        booster = xgb.train(params, d, a.rounds)
        booster.save_model(a.out)


if __name__ == "__main__":
    main()
