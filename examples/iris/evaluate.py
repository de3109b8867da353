"""Step 3: score the model on the test split, log the accuracy and write a report."""

import argparse
import json
import pickle
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

from pipelines.sdk import Run

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True, help="folder with test.npz")
parser.add_argument("--model", required=True, help="folder with model.pkl")
parser.add_argument("--report", required=True, help="folder for report.json and report.txt")
args = parser.parse_args()

test = np.load(Path(args.data) / "test.npz")
with (Path(args.model) / "model.pkl").open("rb") as handle:
    model = pickle.load(handle)  # noqa: S301 - written by the train step of this run
predicted = model.predict(test["x"])
accuracy = float(accuracy_score(test["y"], predicted))
names = list(load_iris().target_names)
text = classification_report(test["y"], predicted, target_names=names)

report = Path(args.report)
(report / "report.txt").write_text(f"accuracy: {accuracy:.4f}\n\n{text}")
(report / "report.json").write_text(
    json.dumps(
        {
            "accuracy": accuracy,
            "confusion_matrix": confusion_matrix(test["y"], predicted).tolist(),
            "classes": names,
        },
        indent=2,
    )
)

run = Run.get_context()
run.log("accuracy", accuracy)
for name, row in zip(names, confusion_matrix(test["y"], predicted).tolist(), strict=True):
    run.log_row("confusion_matrix", true_class=name, **dict(zip(names, row, strict=True)))
run.tag("dataset", "iris")
print(text)
print(f"accuracy: {accuracy:.4f}")
