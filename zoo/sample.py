"""Writes data/fashion-sample: the first 50 test images of each class (test-set order) as 8-bit
greyscale PNGs, with labels.csv, classes.tsv and the Fashion-MNIST licence.

The files interleave the classes (0000 is class 0's first image, 0001 class 1's first, ..., 0010
class 0's second), so any prefix that a config's `images: N` takes is class-balanced.

Usage: /usr/bin/python3 zoo/sample.py
"""
import sys

sys.dont_write_bytecode = True  # keep zoo/ free of __pycache__ (not git-ignored)

import os

import numpy as np
from PIL import Image

import data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "data", "fashion-sample")
PER_CLASS = 50

LICENSE = """Fashion-MNIST sample images (500 images of the test set, 50 per class)
Source: https://github.com/zalandoresearch/fashion-mnist (Debian package dataset-fashion-mnist)

The MIT License (MIT) Copyright © 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def sample_indices(labels, per_class=PER_CLASS):
    """Test-set indices of the sample: rank within class, then class (classes interleaved)."""
    y = np.asarray(labels)
    per = np.stack([np.nonzero(y == c)[0][:per_class] for c in range(10)])  # [class, rank]
    return per.T.reshape(-1)


def file_name(i, cls):
    return f"{i:04d}_{data.CLASS_SLUGS[cls]}.png"


def main():
    x, y = data.load("t10k")
    idx = sample_indices(y.numpy())
    os.makedirs(OUT, exist_ok=True)
    rows = ["file,label,class_name"]
    for i, t in enumerate(idx):
        cls = int(y[t])
        name = file_name(i, cls)
        Image.fromarray(x[t].numpy(), mode="L").save(os.path.join(OUT, name), optimize=True)
        rows.append(f'{name},{cls},"{data.CLASSES[cls]}"')
    with open(os.path.join(OUT, "labels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(OUT, "classes.tsv"), "w") as f:
        f.write("index\tname\n" + "".join(f"{i}\t{n}\n" for i, n in enumerate(data.CLASSES)))
    with open(os.path.join(OUT, "LICENSE.txt"), "w") as f:
        f.write(LICENSE)
    print(f"wrote {len(idx)} images to {OUT}")


if __name__ == "__main__":
    main()
