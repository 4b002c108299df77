#!/usr/bin/env python3
"""Export the paper's ImageNet models to ONNX with a model card, for configs/paper.json.

For each configured model: load it (timm pretrained weights, or a checkpoint of your own, or a
torchvision architecture with random weights for testing), export ONNX (opset 17, dynamic batch,
input `input`, output `logits`, the last block's output kept as a named intermediate tensor
`last_block` for the activation figure), write the card JSON beside it, and check onnxruntime's
logits against torch's (when onnxruntime is importable here; otherwise it prints how to check from
Deno and can write a reference input/output pair with --reference-dir).

Everything timm-specific is in `load_timm`. See tools/export/README.md.
"""
import argparse
import hashlib
import json
import math
import os
import sys

import torch

OPSET = 17
LAST_BLOCK = "last_block"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
# Attribute names under which timm/torchvision models keep their sequence of blocks, in order of
# preference; the last element of the first one found is "the last block" (Fig. 5).
BLOCK_CONTAINERS = ["stages", "levels", "layers", "transformers", "blocks", "layer4", "features"]


class Loaded:
    """A model ready to export: the network, its data config and where it came from."""

    def __init__(self, net, data, source, versions):
        self.net = net
        self.data = data  # input_size (C, H, W), crop_pct, interpolation, mean, std
        self.source = source
        self.versions = versions


def load_timm(timm_id, checkpoint=None):
    """The only timm-specific code: check the identifier, load weights, resolve the data config."""
    import timm  # noqa: imported here so --torchvision works without timm
    import timm.data

    known = set(timm.list_models(pretrained=True))
    if timm_id not in known:
        base = timm_id.split(".")[0]
        near = sorted(k for k in known if k.split(".")[0] == base)[:8]
        raise SystemExit(
            f"timm has no pretrained model {timm_id!r}"
            + (f"; tags of {base}: {', '.join(near)}" if near else "")
        )
    net = timm.create_model(timm_id, pretrained=checkpoint is None)
    source = f"timm {timm_id} pretrained"
    if checkpoint:
        state = torch.load(checkpoint, map_location="cpu")
        state = state.get("state_dict", state.get("model", state)) if isinstance(state, dict) else state
        net.load_state_dict(state)
        source = f"timm {timm_id} architecture, weights from {checkpoint}"
    cfg = timm.data.resolve_data_config({}, model=net)
    data = {k: cfg[k] for k in ("input_size", "crop_pct", "interpolation", "mean", "std")}
    return Loaded(net, data, source, {"timm": timm.__version__})


def load_torchvision(arch, seed=0):
    """A torchvision architecture with random (seeded) weights: tests the export path offline."""
    import torchvision

    torch.manual_seed(seed)
    net = getattr(torchvision.models, arch)(weights=None)
    data = {"input_size": (3, 224, 224), "crop_pct": 0.875, "interpolation": "bilinear",
            "mean": IMAGENET_MEAN, "std": IMAGENET_STD}
    return Loaded(net, data, f"torchvision {arch}, random weights (seed {seed}): test only",
                  {"torchvision": torchvision.__version__})


def last_block(net):
    """(dotted name, module) of the last block of the network's main sequence of blocks."""
    for attr in BLOCK_CONTAINERS:
        m = getattr(net, attr, None)
        if m is None:
            continue
        if isinstance(m, (torch.nn.Sequential, torch.nn.ModuleList)) and len(m) > 0:
            return f"{attr}.{len(m) - 1}", m[-1]
        return attr, m
    raise SystemExit(f"{type(net).__name__}: no block container among {BLOCK_CONTAINERS}")


class WithLastBlock(torch.nn.Module):
    """Returns (logits, last block output) so both become named ONNX tensors."""

    def __init__(self, net, block):
        super().__init__()
        self.net = net
        self._out = None
        block.register_forward_hook(self._keep)

    def _keep(self, _module, _inputs, output):
        self._out = output[0] if isinstance(output, (tuple, list)) else output

    def forward(self, x):
        logits = self.net(x)
        return logits, self._out


def norm_kind(net):
    """The normalisation the network mostly uses: bn, ln, gn or none."""
    counts = {"bn": 0, "ln": 0, "gn": 0}
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            counts["bn"] += 1
        elif isinstance(m, torch.nn.LayerNorm):
            counts["ln"] += 1
        elif isinstance(m, torch.nn.GroupNorm):
            counts["gn"] += 1
        elif type(m).__name__.startswith("LayerNorm"):  # timm's LayerNorm2d and friends
            counts["ln"] += 1
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else "none"


def preprocess_of(data):
    """The xcompare card's preprocess block from a timm-style data config."""
    _, h, w = data["input_size"]
    return {
        "channels": 3,
        "resize_short_side": int(math.floor(h / data["crop_pct"])),
        "center_crop": h,
        "interpolation": data["interpolation"],
        "scale": "1/255",
        "mean": [round(float(v), 6) for v in data["mean"]],
        "std": [round(float(v), 6) for v in data["std"]],
    }


def preprocess_mismatch(configured, resolved):
    """Keys where the config's preprocess disagrees with the resolved one (floats to 1e-4)."""
    bad = []
    for k, v in configured.items():
        if k not in resolved:
            continue
        r = resolved[k]
        if isinstance(v, list):
            same = len(v) == len(r) and all(abs(a - b) < 1e-4 for a, b in zip(v, r))
        else:
            same = v == r
        if not same:
            bad.append(f"{k}: config {v!r}, model {r!r}")
    return bad


def export_onnx(wrapped, size, path):
    """ONNX with input `input`, output `logits`, `last_block` left as a named intermediate."""
    import onnx

    wrapped.eval()
    dummy = torch.zeros(2, *size)
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(
            wrapped, dummy, tmp, opset_version=OPSET, input_names=["input"],
            output_names=["logits", LAST_BLOCK], do_constant_folding=True,
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, LAST_BLOCK: {0: "batch"}},
        )
    m = onnx.load(tmp)
    keep = [o for o in m.graph.output if o.name == "logits"]
    if len(keep) != 1:
        raise SystemExit(f"{path}: unexpected outputs {[o.name for o in m.graph.output]}")
    del m.graph.output[:]
    m.graph.output.extend(keep)
    produced = {o for n in m.graph.node for o in n.output}
    consumed = {i for n in m.graph.node for i in n.input}
    if LAST_BLOCK not in produced or LAST_BLOCK not in consumed:
        raise SystemExit(f"{path}: tensor {LAST_BLOCK!r} is not an intermediate of the graph")
    m.producer_name = "xcompare-export"
    onnx.checker.check_model(m)
    onnx.save(m, path)
    os.remove(tmp)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def reference_pair(net, size, seed=0):
    """A fixed input batch (3 images, N(0,1) in normalised space) and torch's logits for it."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, *size, generator=g)
    with torch.no_grad():
        y = net(x)
    return x, y


def check_ort(path, x, y):
    """Max |logit difference| between onnxruntime and torch, or None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = s.run(["logits"], {"input": x.numpy()})[0]
    return float(abs(out - y.numpy()).max())


def export_one(model_id, loaded, entry, out_path, args):
    net = loaded.net.eval()
    block_name, block = last_block(net)
    wrapped = WithLastBlock(net, block)
    size = tuple(loaded.data["input_size"])
    with torch.no_grad():
        _, block_out = wrapped(torch.zeros(1, *size))
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    export_onnx(wrapped, size, out_path)
    pre = preprocess_of(loaded.data)
    mismatch = preprocess_mismatch(entry.get("preprocess", {}), pre)
    x, y = reference_pair(net, size)
    diff = check_ort(out_path, x, y)
    card = {
        "id": model_id,
        "name": entry.get("name", model_id),
        "source": loaded.source,
        "architecture": type(net).__name__,
        "norm": norm_kind(net),
        "group": entry.get("group"),
        "params": int(sum(p.numel() for p in net.parameters())),
        "input": {"name": "input", "shape": ["batch", *size], "dtype": "float32",
                  "layout": "NCHW"},
        "output": {"name": "logits", "classes": int(y.shape[1]),
                   "meaning": "logits, standard ImageNet-1k class order"},
        "preprocess": pre,
        "data_config": {k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in loaded.data.items()},
        "last_block_tensor": LAST_BLOCK,
        "last_block_module": block_name,
        "last_block_layout": f"{'NCHW' if block_out.dim() == 4 else 'NTD'} "
                             f"[N,{','.join(str(d) for d in block_out.shape[1:])}]",
        "opset": OPSET,
        "sha256": sha256(out_path),
        "versions": {"torch": torch.__version__, **loaded.versions},
        "check": {"onnxruntime_max_abs_diff": diff} if diff is not None else None,
    }
    card_path = os.path.splitext(out_path)[0] + ".json"
    with open(card_path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    if args.reference_dir:
        import numpy as np

        d = os.path.join(args.reference_dir, model_id)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "input.npy"), x.numpy().astype("float32"))
        np.save(os.path.join(d, "logits.npy"), y.numpy().astype("float32"))
    print(f"{model_id}: {out_path} ({card['params']:,} params, norm {card['norm']}, "
          f"last block {block_name} {card['last_block_layout']}), card {card_path}")
    if diff is None:
        print(f"  onnxruntime is not importable here; check the export from Deno with\n"
              f"  deno task xcompare evaluate --model {out_path} --images <imagenet folder> "
              f"--labels <labels> --limit 200")
    else:
        scale = float(y.abs().max())
        print(f"  onnxruntime vs torch: max |logit diff| {diff:.2e} (logits up to {scale:.1f})")
        if diff > 1e-3 * max(1.0, scale):
            raise SystemExit(f"{model_id}: onnxruntime disagrees with torch ({diff:.2e})")
    if mismatch:
        msg = f"{model_id}: configured preprocess differs from the model's: " + "; ".join(mismatch)
        if not args.allow_mismatch:
            raise SystemExit(msg + " (fix the config, or pass --allow-mismatch)")
        print("  WARNING " + msg)
    return card


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=os.path.join(ROOT, "configs", "paper.json"))
    p.add_argument("--only", action="append", default=[], help="model id (repeatable)")
    p.add_argument("--checkpoint", action="append", default=[], metavar="ID=FILE.pth",
                   help="your own weights for a model (e.g. the Table 2 variants)")
    p.add_argument("--arch", action="append", default=[], metavar="ID=TIMM_ID",
                   help="timm architecture of a model without notes.timm (with --checkpoint)")
    p.add_argument("--torchvision", action="append", default=[], metavar="ARCH",
                   help="export a torchvision architecture with random weights (testing)")
    p.add_argument("--out-dir", help="write here instead of the config's onnx paths")
    p.add_argument("--reference-dir", help="also write <dir>/<id>/{input,logits}.npy from torch")
    p.add_argument("--allow-mismatch", action="store_true",
                   help="warn (not fail) when the config's preprocess differs from timm's")
    args = p.parse_args(argv)

    if args.torchvision:
        out_dir = args.out_dir or "."
        for arch in args.torchvision:
            export_one(arch, load_torchvision(arch), {"group": "test"},
                       os.path.join(out_dir, f"{arch}.onnx"), args)
        return 0

    with open(args.config) as f:
        config = json.load(f)
    timm_ids = dict((config.get("notes") or {}).get("timm", {}))
    timm_ids.update(dict(a.split("=", 1) for a in args.arch))
    checkpoints = dict(c.split("=", 1) for c in args.checkpoint)
    done = 0
    for entry in config["models"]:
        mid = entry["id"]
        if args.only and mid not in args.only:
            continue
        if mid not in timm_ids:
            print(f"{mid}: skipped (no timm identifier in notes.timm; for your own weights pass "
                  f"--arch {mid}=<timm architecture> --checkpoint {mid}=<file.pth>)")
            continue
        out = (os.path.join(args.out_dir, os.path.basename(entry["onnx"])) if args.out_dir
               else os.path.join(ROOT, entry["onnx"]))
        export_one(mid, load_timm(timm_ids[mid], checkpoints.get(mid)), entry, out, args)
        done += 1
    print(f"exported {done} model(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
