"""Evidently's verdicts for two CSV files: the reference the drift engine is checked against
(server/tests/cli.rs) and timed against (scripts/bench-drift.sh). Test only, never product.

usage: evidently_drift.py REF.csv CUR.csv --numerical a,b --categorical c,d [--stattest psi]
prints JSON: per column the test, score, threshold and verdict; the dataset verdict; the
seconds Evidently's report took (CSV reading excluded).
"""
import argparse
import json
import time
import warnings

import pandas as pd

warnings.filterwarnings("ignore")
from evidently.legacy.metrics import DataDriftTable  # noqa: E402
from evidently.legacy.pipeline.column_mapping import ColumnMapping  # noqa: E402
from evidently.legacy.report import Report  # noqa: E402

NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}

parser = argparse.ArgumentParser()
parser.add_argument("reference")
parser.add_argument("current")
parser.add_argument("--numerical", default="")
parser.add_argument("--categorical", default="")
parser.add_argument("--stattest", default=None)
args = parser.parse_args()
numerical = [c for c in args.numerical.split(",") if c]
categorical = [c for c in args.categorical.split(",") if c]
dtypes = {c: str for c in categorical}
read = dict(dtype=dtypes, float_precision="round_trip", keep_default_na=True)
reference = pd.read_csv(args.reference, **read)
current = pd.read_csv(args.current, **read)
mapping = ColumnMapping(
    numerical_features=numerical, categorical_features=categorical, target=None, prediction=None
)
metric = DataDriftTable(stattest=args.stattest) if args.stattest else DataDriftTable()
report = Report(metrics=[metric])
started = time.perf_counter()
report.run(reference_data=reference, current_data=current, column_mapping=mapping)
result = report.as_dict()["metrics"][0]["result"]
seconds = time.perf_counter() - started
columns = {
    name: {
        "test": NAMES.get(c["stattest_name"], c["stattest_name"]),
        "score": float(c["drift_score"]),
        "threshold": float(c["stattest_threshold"]),
        "drift": bool(c["drift_detected"]),
    }
    for name, c in result["drift_by_columns"].items()
}
print(
    json.dumps(
        {
            "columns": columns,
            "dataset_drift": bool(result["dataset_drift"]),
            "share": float(result["share_of_drifted_columns"]),
            "seconds": seconds,
        }
    )
)
