#!/usr/bin/env python3
"""Load an xcompare run into numpy and pandas: Table 1 from results.json, and one iGOS++ heatmap
from the content-addressed store, found through the run's lockfile.

    /usr/bin/python3 tools/examples/load_results.py [REPORT_DIR] [STORE_DIR]

REPORT_DIR defaults to reports/latest (it holds results.json and xcompare.lock.json), STORE_DIR to
artifacts. REPORT_DIR may also be a committed expectation, reports/expected/<name>.json (its
"results" is a results.json): Table 1 only, since it has no lockfile to find the store's units by. Needs only numpy and pandas (Debian: python3-numpy python3-pandas). docs/schemas/
describes results.json and each unit's manifest.json.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

report = Path(sys.argv[1] if len(sys.argv) > 1 else "reports/latest")
store = Path(sys.argv[2] if len(sys.argv) > 2 else "artifacts")

expectation = report.suffix == ".json"
results = json.loads((report if expectation else report / "results.json").read_text())
if expectation:
    results = results["results"]
assert results["schema"] == "xcompare-report-results/1", results["schema"]
inp = results["input"]

# Table 1: one row per model, each cell a mean with its 95% bootstrap interval over images.
rows = []
for r in inp["table1"]:
    row = {"model": r["model"], "images": r["images"]}
    for col in ("mse_count", "mse_size"):
        row[col] = r[col]["mean"]
        row[col + "_lo"], row[col + "_hi"] = r[col]["lo"], r[col]["hi"]
    for threshold, iv in r["tree"].items():
        row["sub>=" + threshold] = iv["mean"]
    rows.append(row)
table1 = pd.DataFrame(rows).set_index("model")
groups = {m["id"]: m["group"] for m in inp["provenance"]["models"]}
table1.insert(0, "group", table1.index.map(groups))
with pd.option_context("display.width", 200, "display.max_columns", 20):
    print("Table 1 (means; *_lo/*_hi: 95% bootstrap interval over images)")
    print(table1.round(2).to_string())

# Per-image values behind a row, as a long table: one line per (model, image).
per_image = pd.concat(
    [
        pd.DataFrame(
            {
                "model": r["model"],
                "image": r["per_image"].get("image_ids"),
                "mse_count": r["per_image"]["mse_count"],
                "sub>=0.5": r["per_image"]["tree"].get("0.5"),
            }
        )
        for r in inp["table1"]
        if "per_image" in r
    ],
    ignore_index=True,
)
print(f"\nper-image rows: {len(per_image)}; mean MSE count over them: "
      f"{per_image['mse_count'].mean():.3f}")

# One heatmap from the store: the lockfile names the unit's key, the key names its folder.
if expectation:
    sys.exit(0)  # an expectation has no lockfile, so no store units to read
lock_file = report / "xcompare.lock.json"
if not lock_file.is_file():
    sys.exit(f"{lock_file}: no lockfile, so the store's heatmaps cannot be found "
             "(REPORT_DIR is a run's folder under reports/)")
lock = json.loads(lock_file.read_text())
heat_units = lock["stages"].get("igos-heatmaps", {})
if not heat_units:
    sys.exit("this run has no igos-heatmaps units")
unit, entry = sorted(heat_units.items())[0]
folder = store / "igos-heatmaps" / entry["key"]
manifest = json.loads((folder / "manifest.json").read_text())
heatmaps = np.load(folder / "heatmaps.npy")  # [images, size, size], float32, high = salient
meta = json.loads((folder / "meta.json").read_text())
first = heatmaps[0]
row, col = np.unravel_index(int(np.argmax(first)), first.shape)
print(f"\nheatmaps of {unit} ({manifest['stage']} unit, {meta['method']}): shape {heatmaps.shape}, "
      f"dtype {heatmaps.dtype}")
print(f"image {meta['items'][0]['id']}: most salient cell ({row}, {col}), "
      f"saliency {first.min():.3f}..{first.max():.3f}")
