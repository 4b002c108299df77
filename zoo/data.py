"""Fashion-MNIST from the Debian package, kept as uint8 tensors in memory.

Augmentations work on whole batches (index arithmetic, no per-image Python loop) because the
zoo trains on two shared CPU cores and a per-image loader would cost more than the models.
"""
import gzip
import os

import numpy as np
import torch

DATA_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# File-name-safe class names for data/fashion-sample.
CLASS_SLUGS = [
    "tshirt_top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle_boot",
]
# Mean/std of the 60k training pixels scaled to [0,1] (computed by `python3 zoo/data.py`).
MEAN = 0.2860
STD = 0.3530


def _read_idx(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: missing (apt-get install dataset-fashion-mnist)")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    """Returns (images uint8 [N,28,28], labels int64 [N]) for split 'train' or 't10k'."""
    x = _read_idx(os.path.join(DATA_DIR, f"{split}-images-idx3-ubyte.gz"))
    y = _read_idx(os.path.join(DATA_DIR, f"{split}-labels-idx1-ubyte.gz"))
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def normalise(x_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], scaled 1/255 then (x-mean)/std."""
    return ((x_u8.float() / 255.0) - MEAN).div(STD).unsqueeze(1)


def random_crop_flip(x, gen, pad=2, flip=True):
    """Random translation by up to `pad` pixels (zero = background padding) and horizontal flip."""
    n, _, h, w = x.shape
    bg = (0.0 - MEAN) / STD
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad), value=bg)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = dy[:, None] + torch.arange(h)[None, :]
    cols = dx[:, None] + torch.arange(w)[None, :]
    out = xp[torch.arange(n)[:, None, None], 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)
    if flip:
        f = torch.rand(n, generator=gen) < 0.5
        out = torch.where(f[:, None, None, None], out.flip(-1), out)
    return out


def random_erasing(x, gen, p=0.5, area=(0.02, 0.25), ratio=(0.3, 3.3)):
    """Random erasing (Zhong et al.): one rectangle per image filled with noise, with probability p."""
    n, _, h, w = x.shape
    a = torch.empty(n).uniform_(*area, generator=gen) * h * w
    logr = torch.empty(n).uniform_(float(np.log(ratio[0])), float(np.log(ratio[1])), generator=gen)
    r = torch.exp(logr)
    eh = torch.sqrt(a * r).round().clamp(1, h).long()
    ew = torch.sqrt(a / r).round().clamp(1, w).long()
    y0 = (torch.rand(n, generator=gen) * (h - eh + 1).float()).long()
    x0 = (torch.rand(n, generator=gen) * (w - ew + 1).float()).long()
    ys = torch.arange(h)[None, :]
    xs = torch.arange(w)[None, :]
    my = (ys >= y0[:, None]) & (ys < (y0 + eh)[:, None])
    mx = (xs >= x0[:, None]) & (xs < (x0 + ew)[:, None])
    m = (my[:, :, None] & mx[:, None, :]) & (torch.rand(n, generator=gen) < p)[:, None, None]
    noise = torch.randn(x.shape, generator=gen)
    return torch.where(m[:, None], noise, x)


def cutmix(x, y, gen, alpha=1.0):
    """CutMix (Yun et al.): returns mixed x, (y_a, y_b, lam) with lam the kept area fraction."""
    n, _, h, w = x.shape
    lam = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen))).beta(alpha, alpha))
    perm = torch.randperm(n, generator=gen)
    ch, cw = int(h * np.sqrt(1 - lam)), int(w * np.sqrt(1 - lam))
    cy = int(torch.randint(0, h, (1,), generator=gen))
    cx = int(torch.randint(0, w, (1,), generator=gen))
    y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    out = x.clone()
    out[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
    lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    return out, (y, y[perm], lam)


if __name__ == "__main__":
    xtr, _ = load("train")
    v = xtr.double() / 255.0
    print(f"mean {v.mean().item():.4f} std {v.std().item():.4f}")
