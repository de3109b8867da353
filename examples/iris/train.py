"""Step 2: train a random forest on the training split."""

import argparse
import pickle
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from pipelines.sdk import Run

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True, help="folder with train.npz")
parser.add_argument("--n_estimators", type=int, default=50)
parser.add_argument("--model", required=True, help="folder for model.pkl")
args = parser.parse_args()

train = np.load(Path(args.data) / "train.npz")
model = RandomForestClassifier(n_estimators=args.n_estimators, random_state=42)
model.fit(train["x"], train["y"])
with (Path(args.model) / "model.pkl").open("wb") as handle:
    pickle.dump(model, handle)

run = Run.get_context()
run.log("n_estimators", args.n_estimators)
run.log("train_accuracy", float(model.score(train["x"], train["y"])))
print(f"trained a random forest of {args.n_estimators} trees")
