"""The reference of `lendscope estimate` (server/tests/cli.rs): nannyml 0.13's CBPE, binary
classification, ROC AUC, on the same two CSV files and chunk size. Prints JSON: whether nannyml
calibrated, its thresholds and, per chunk of either period, the estimate, its sampling error,
band, realized value and alert. Runs in nannyml's own virtual environment (scripts/setup.sh)."""
import json
import sys
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
import nannyml as nml  # noqa: E402


def main(reference_csv, analysis_csv, chunk_size):
    reference = pd.read_csv(reference_csv)
    analysis = pd.read_csv(analysis_csv)
    estimator = nml.CBPE(
        y_pred_proba="probability_of_default",
        y_true="defaulted",
        problem_type="classification_binary",
        metrics=["roc_auc"],
        chunk_size=int(chunk_size),
    )
    estimator.fit(reference)
    result = estimator.estimate(analysis).to_df()
    num = lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)
    chunks = []
    for _, row in result.iterrows():
        chunks.append(
            {
                "period": row[("chunk", "period")],
                "start": int(row[("chunk", "start_index")]),
                "end": int(row[("chunk", "end_index")]),
                "value": num(row[("roc_auc", "value")]),
                "sampling_error": num(row[("roc_auc", "sampling_error")]),
                "realized": num(row[("roc_auc", "realized")]),
                "upper_band": num(row[("roc_auc", "upper_confidence_boundary")]),
                "lower_band": num(row[("roc_auc", "lower_confidence_boundary")]),
                "upper_threshold": num(row[("roc_auc", "upper_threshold")]),
                "lower_threshold": num(row[("roc_auc", "lower_threshold")]),
                "alert": bool(row[("roc_auc", "alert")]),
            }
        )
    print(json.dumps({"calibrated": bool(estimator.needs_calibration), "chunks": chunks}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
