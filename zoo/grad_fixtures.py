"""Gradient fixtures for every zoo model, from the zoo's own PyTorch code and trained weights
(zoo/.work/ckpt/<id>/final.pt), so runtime gradient code can be checked against autograd.

Writes tests/fixtures/grad/<id>/{x,cls,prob,grad_prob,grad_logit}.npy:
  x          float32 [2,1,28,28]  normalised sample images (data/fashion-sample, SAMPLE_FILES)
  cls        int64   [2]          the images' true labels
  prob       float32 [2]          softmax(logits)[i, cls[i]]
  grad_prob  float32 [2,1,28,28]  d prob[i] / d x[i]
  grad_logit float32 [2,1,28,28]  d logits[i, cls[i]] / d x[i]
Eval mode (BatchNorm uses running statistics), matching the ONNX export.

Usage: /usr/bin/python3 zoo/grad_fixtures.py [model-id ...]
"""
import sys

sys.dont_write_bytecode = True  # keep zoo/ free of __pycache__ (not git-ignored)

import csv
import os

import numpy as np
import torch
from PIL import Image

import data
import models
import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "grad")
SAMPLE = os.path.join(ROOT, "data", "fashion-sample")
SAMPLE_FILES = ["0000_tshirt_top.png", "0257_sneaker.png"]


def inputs():
    with open(os.path.join(SAMPLE, "labels.csv")) as f:
        labels = {r["file"]: int(r["label"]) for r in csv.DictReader(f)}
    imgs = [np.asarray(Image.open(os.path.join(SAMPLE, n)), dtype=np.uint8) for n in SAMPLE_FILES]
    x = data.normalise(torch.from_numpy(np.stack(imgs))).contiguous()
    return x, torch.tensor([labels[n] for n in SAMPLE_FILES], dtype=torch.int64)


def fixtures(net, x, cls):
    net.eval()
    xg = x.clone().requires_grad_(True)
    logits = models.forward_logits(net, xg)
    rows = torch.arange(len(cls))
    logit = logits[rows, cls]
    prob = torch.softmax(logits, dim=1)[rows, cls]
    # Images are independent in eval mode, so the gradient of the sum is each image's own gradient.
    g_logit, = torch.autograd.grad(logit.sum(), xg, retain_graph=True)
    g_prob, = torch.autograd.grad(prob.sum(), xg)
    return {"x": x.numpy().astype(np.float32), "cls": cls.numpy().astype(np.int64),
            "prob": prob.detach().numpy().astype(np.float32),
            "grad_prob": g_prob.numpy().astype(np.float32),
            "grad_logit": g_logit.numpy().astype(np.float32)}


def main(ids):
    torch.set_num_threads(train.THREADS)
    x, cls = inputs()
    for s in [models.spec(i) for i in ids] if ids else models.ZOO:
        net, _ = train.load_final(s["id"])
        d = os.path.join(OUT, s["id"])
        os.makedirs(d, exist_ok=True)
        for name, arr in fixtures(net, x, cls).items():
            np.save(os.path.join(d, f"{name}.npy"), arr)
        print(f"{s['id']}: fixtures in {d}")


if __name__ == "__main__":
    main(sys.argv[1:])
