"""Trains, exports and cards every zoo model; resumable.

Usage: /usr/bin/python3 zoo/train.py [model-id ...]

A model whose zoo/models/<id>.onnx and .json both exist is skipped when its card's schedule is
the spec's; when the spec adds cooldown rounds, the committed export's weights are recovered
(recover.py) and only the new rounds run. Training checkpoints every
epoch to zoo/.work/ckpt/<id>/ and resumes from the last one; the finished weights are
zoo/.work/ckpt/<id>/final.pt (used by grad_fixtures.py and as the distillation teacher).
Each epoch reseeds its own shuffling and augmentation generators, so a resumed run follows the
same path as an uninterrupted one.
"""
import sys

sys.dont_write_bytecode = True  # keep zoo/ free of __pycache__ (not git-ignored)

import json
import os
import time

import torch
import torch.nn.functional as F

import data
import export
import models
import recover
import sample

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "zoo", ".work", "ckpt")
BATCH = 128
THREADS = 2

AUG_TEXT = {
    "light": "random translation +-2 px, horizontal flip",
    "flip": "horizontal flip",
    "strong": "random translation +-2 px, horizontal flip, random erasing (p=0.5), CutMix (p=0.5, alpha=1)",
}
DISTILL_TEXT = ("DeiT hard-label distillation objective: 0.5*CE(logits, label) + "
                "0.5*CE(logits, argmax teacher(augmented x)); no distillation token (keeps the "
                "49-token grid and the vit-ln architecture)")


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def augment(kind, x, y, gen):
    """Returns (x, targets) with targets (y_a, y_b, lam) for a mixed batch or y."""
    if kind == "flip":
        f = torch.rand(x.shape[0], generator=gen) < 0.5
        return torch.where(f[:, None, None, None], x.flip(-1), x), y
    x = data.random_crop_flip(x, gen)
    if kind == "light":
        return x, y
    if kind == "strong":
        x = data.random_erasing(x, gen)
        if torch.rand(1, generator=gen).item() < 0.5:
            return data.cutmix(x, y, gen)
        return x, y
    raise ValueError(f"unknown augmentation {kind!r}")


def loss_fn(logits, target):
    if isinstance(target, tuple):
        ya, yb, lam = target
        return lam * F.cross_entropy(logits, ya) + (1 - lam) * F.cross_entropy(logits, yb)
    return F.cross_entropy(logits, target)


def load_final(model_id):
    """The finished network of a zoo model: final.pt, or else its weights recovered from the
    committed ONNX (recover.py), so a teacher need not be retrained in a new checkout."""
    path = os.path.join(WORK, model_id, "final.pt")
    if not os.path.exists(path):
        if os.path.exists(export.paths(model_id)[0]):
            return recover.rebuild(model_id)[0], None
        raise FileNotFoundError(f"{path}: missing; run /usr/bin/python3 zoo/train.py {model_id}")
    ck = torch.load(path)
    net = models.build(models.spec(model_id))
    net.load_state_dict(ck["model"])
    net.eval()
    return net, ck


def run_epoch(s, net, opt, sched, xtr, ytr, teacher, seed_epoch):
    """One pass over the training set; returns the mean loss. Reseeded per epoch for resumption."""
    gen = torch.Generator().manual_seed(1000 * s["seed"] + seed_epoch)
    perm = torch.randperm(len(xtr), generator=gen)
    net.train()
    steps_per_epoch = len(xtr) // BATCH
    total = 0.0
    for b in range(steps_per_epoch):
        idx = perm[b * BATCH:(b + 1) * BATCH]
        x, target = augment(s["aug"], data.normalise(xtr[idx]), ytr[idx], gen)
        logits = models.forward_logits(net, x)
        if teacher is not None:
            with torch.no_grad():
                hard = models.forward_logits(teacher, x).argmax(1)
            loss = 0.5 * loss_fn(logits, target) + 0.5 * F.cross_entropy(logits, hard)
        else:
            loss = loss_fn(logits, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
    return total / steps_per_epoch


def resume(s, d, prefix, n, net, opt, sched, seconds):
    """Loads the latest `<prefix><k>.pt` of d (k <= n) into net/opt/sched; returns (k, seconds)."""
    for e in range(n, 0, -1):
        p = os.path.join(d, f"{prefix}{e}.pt")
        if os.path.exists(p):
            ck = torch.load(p)
            net.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            sched.load_state_dict(ck["sched"])
            log(f"{s['id']}: resumed after {prefix} {e}")
            return e, ck["seconds"]
    return 0, seconds


def run_phase(s, d, prefix, n, seed_offset, net, opt, sched, xtr, ytr, xte, yte, teacher, seconds):
    """Epochs 1..n of one schedule, checkpointed as `<prefix><k>.pt` and resumed from the latest."""
    start, seconds = resume(s, d, prefix, n, net, opt, sched, seconds)
    for e in range(start, n):
        t0 = time.time()
        loss = run_epoch(s, net, opt, sched, xtr, ytr, teacher, seed_offset + e)
        seconds += time.time() - t0
        log(f"{s['id']}: {prefix} {e + 1}/{n} loss {loss:.4f} test {models.accuracy(net, xte, yte):.2f}% "
            f"({seconds:.0f}s)")
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "seconds": seconds}, os.path.join(d, f"{prefix}{e + 1}.pt"))
    return seconds


def cooldown_prefix(r):
    return "cooldown" if r == 1 else f"cooldown{r}-"


def cooldown(s, r, net, xtr, ytr, xte, yte, teacher, d, seconds):
    """Cooldown round r: a short cosine schedule from `cooldown_lr` to 0 with a fresh AdamW after
    the one-cycle run (or the previous round): the small ViTs are still underfit after their main
    schedule and gain most per CPU-minute here."""
    n = s["cooldown_epochs"]
    steps = n * (len(xtr) // BATCH)
    opt = torch.optim.AdamW(net.parameters(), lr=s["cooldown_lr"], weight_decay=s["wd"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    return run_phase(s, d, cooldown_prefix(r), n, s["epochs"] + (r - 1) * n, net, opt, sched,
                     xtr, ytr, xte, yte, teacher, seconds)


def rounds(s):
    return export.recipe(s)[2]


def recovered_start(s, d, net):
    """(rounds done, seconds) when recover.py rebuilt this model from an export that ran fewer
    cooldown rounds than its spec now asks for; None when there is nothing to continue."""
    p = os.path.join(d, "recovered.pt")
    if not os.path.exists(p):
        return None
    ck = torch.load(p)
    card = ck["card"]
    epochs, n, done = export.recipe(card)
    if (epochs, n) != export.recipe(s)[:2] or done >= rounds(s):
        return None
    net.load_state_dict(ck["model"])
    log(f"{s['id']}: continuing the committed export (test {card['test_accuracy']}%) after "
        f"cooldown round {done}")
    return done, card["train_seconds"]


def train(s, xtr, ytr, xte, yte):
    d = os.path.join(WORK, s["id"])
    os.makedirs(d, exist_ok=True)
    final = os.path.join(d, "final.pt")
    if os.path.exists(final):
        meta = torch.load(final)
        if meta.get("cooldown_rounds", 1 if rounds(s) else 0) == rounds(s):
            return meta
        log(f"{s['id']}: {final} ran another number of cooldown rounds; training on")
    torch.manual_seed(s["seed"])
    net = models.build(s)
    steps_per_epoch = len(xtr) // BATCH
    opt = torch.optim.AdamW(net.parameters(), lr=s["lr"], weight_decay=s["wd"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=s["lr"], total_steps=s["epochs"] * steps_per_epoch, pct_start=0.15)
    teacher = load_final(s["distilled_from"])[0] if s["distilled_from"] else None
    start = recovered_start(s, d, net)
    if start is None:
        done, seconds = 0, run_phase(s, d, "epoch", s["epochs"], 0, net, opt, sched, xtr, ytr,
                                     xte, yte, teacher, 0.0)
    else:
        done, seconds = start
    for r in range(done + 1, rounds(s) + 1):
        seconds = cooldown(s, r, net, xtr, ytr, xte, yte, teacher, d, seconds)
    net.eval()
    idx = torch.from_numpy(sample.sample_indices(yte.numpy()))
    meta = {"model": net.state_dict(), "test_accuracy": models.accuracy(net, xte, yte),
            "sample_accuracy": models.accuracy(net, xte[idx], yte[idx]), "train_seconds": seconds,
            "augmentation": AUG_TEXT[s["aug"]],
            "distillation": DISTILL_TEXT if s["distilled_from"] else None,
            "cooldown_rounds": rounds(s)}
    torch.save(meta, final)
    return meta


def main(ids):
    torch.set_num_threads(THREADS)
    specs = [models.spec(i) for i in ids] if ids else models.ZOO
    xtr, ytr = data.load("train")
    xte_u8, yte = data.load("t10k")
    xte = data.normalise(xte_u8)
    t_all = time.time()
    for s in specs:
        onnx_path, card_path = export.paths(s["id"])
        if os.path.exists(onnx_path) and os.path.exists(card_path):
            with open(card_path) as f:
                card = json.load(f)
            if export.recipe(card) == export.recipe(s):
                log(f"{s['id']}: exported already, skipped")
                continue
            if not os.path.exists(os.path.join(WORK, s["id"], "recovered.pt")):
                recover.recover(s["id"])
        meta = train(s, xtr, ytr, xte, yte)
        net = models.build(s)
        net.load_state_dict(meta["model"])
        card = export.export(s, net, meta)
        log(f"{s['id']}: {card['params']} params, test {card['test_accuracy']}%, "
            f"sample {card['sample_accuracy']}%, {card['train_seconds']}s -> {onnx_path}")
    export.update_readme()
    log(f"done in {time.time() - t_all:.0f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
