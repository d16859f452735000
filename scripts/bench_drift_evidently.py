"""The Evidently side of scripts/bench-drift.sh: loads the columns drift_bench wrote, runs
Evidently's DataDriftTable with its default tests and prints the seconds (loading excluded)
and whether its verdicts equal Lendscope's. Test and benchmark only, never product."""
import csv
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
from evidently.legacy.metrics import DataDriftTable  # noqa: E402
from evidently.legacy.pipeline.column_mapping import ColumnMapping  # noqa: E402
from evidently.legacy.report import Report  # noqa: E402

CATEGORIES = np.array(["salaried", "self_employed", "contract", "gig", "retired", "student"])
NAMES = {
    "K-S p_value": "K-S p-value",
    "chi-square p_value": "chi-square p-value",
    "Z-test p_value": "Z-test p-value",
}
folder = sys.argv[1]
manifest = list(csv.DictReader(open(f"{folder}/manifest.csv")))
frames = {}
for side in ("ref", "cur"):
    data = {}
    for row in manifest:
        name = row["name"]
        if row["kind"] == "numerical":
            data[name] = np.fromfile(f"{folder}/{side}_{name}.f64", dtype="<f8")
        else:
            data[name] = pd.Categorical.from_codes(
                np.fromfile(f"{folder}/{side}_{name}.u8", dtype=np.uint8), CATEGORIES
            ).astype(str)
    frames[side] = pd.DataFrame(data)
mapping = ColumnMapping(
    numerical_features=[r["name"] for r in manifest if r["kind"] == "numerical"],
    categorical_features=[r["name"] for r in manifest if r["kind"] == "categorical"],
    target=None,
    prediction=None,
)
report = Report(metrics=[DataDriftTable()])
started = time.perf_counter()
report.run(reference_data=frames["ref"], current_data=frames["cur"], column_mapping=mapping)
result = report.as_dict()["metrics"][0]["result"]
seconds = time.perf_counter() - started
ours = {r["name"]: r for r in csv.DictReader(open(f"{folder}/lendscope.csv"))}
worst, same = 0.0, True
for name, c in result["drift_by_columns"].items():
    mine = ours[name]
    worst = max(worst, abs(float(mine["statistic"]) - float(c["drift_score"])))
    same &= (mine["drift"] == "true") == bool(c["drift_detected"])
print(f"evidently: {result['number_of_drifted_columns']} drifted, dataset drift {result['dataset_drift']}")
print(f"agreement: largest statistic difference {worst:.2e}, identical verdicts {same}")
print(f"EVIDENTLY_SECONDS={seconds:.4f}")
