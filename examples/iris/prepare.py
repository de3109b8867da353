"""Step 1: split scikit-learn's bundled iris data set into train and test sets."""

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

from pipelines.sdk import Run

parser = argparse.ArgumentParser()
parser.add_argument("--test_size", type=float, default=0.25)
parser.add_argument("--out", required=True, help="folder for train.npz and test.npz")
args = parser.parse_args()

features, labels = load_iris(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(
    features, labels, test_size=args.test_size, random_state=42, stratify=labels
)
out = Path(args.out)
np.savez(out / "train.npz", x=x_train, y=y_train)
np.savez(out / "test.npz", x=x_test, y=y_test)

run = Run.get_context()
run.log("train_rows", len(y_train))
run.log("test_rows", len(y_test))
print(f"split {len(labels)} rows: {len(y_train)} to train, {len(y_test)} to test")
