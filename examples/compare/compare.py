"""The README's one-step example: compare --param1 with a threshold, write the verdict to the
--out folder and log both numbers as metrics."""

import argparse
import json
from pathlib import Path

from pipelines.sdk import Run

parser = argparse.ArgumentParser()
parser.add_argument("--param1", type=int, required=True)
parser.add_argument("--threshold", type=int, default=15)
parser.add_argument("--out", required=True, help="folder for verdict.json")
args = parser.parse_args()

verdict = "above" if args.param1 > args.threshold else "not above"
print(f"{args.param1} is {verdict} the threshold {args.threshold}")
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
(out / "verdict.json").write_text(json.dumps({"param1": args.param1, "verdict": verdict}))

run = Run.get_context()
run.log("param1", args.param1)
run.log("threshold", args.threshold)
