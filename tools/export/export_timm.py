#!/usr/bin/env python3
"""Export the paper's ImageNet models to ONNX with a model card, for configs/paper.json.

For each configured model: load it (timm pretrained weights; or a timm architecture built with
--model-kwargs and loaded from --weights, for Table 2's variants; or a torchvision architecture,
for testing), export ONNX with torch's TorchScript exporter (opset 17, dynamic batch, input
`input`, output `logits`, the last block's output kept as a named intermediate tensor `last_block`
for the activation figure, with its layout NCHW/NHWC/NTD/NC in the card), write the card JSON
beside it, and check onnxruntime's logits against torch's (when onnxruntime is importable here;
otherwise it prints how to check from Deno and can write a reference input/output pair with
--reference-dir).

Everything timm-specific is in `load_timm`. See tools/export/README.md.
"""
import argparse
import hashlib
import inspect
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

    def __init__(self, net, data, source, versions, spec, weights):
        self.net = net
        self.data = data  # input_size (C, H, W), crop_pct, interpolation, mean, std
        self.source = source
        self.versions = versions
        self.spec = spec
        self.weights = weights  # {file, sha256} of --weights, or None


def parse_model_kwargs(text):
    """--model-kwargs: a JSON object of keyword arguments for the model's constructor."""
    if text is None:
        return {}
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as e:
        raise SystemExit(f"--model-kwargs: not valid JSON ({e.msg} at character {e.pos})")
    if not isinstance(kwargs, dict):
        raise SystemExit(f"--model-kwargs: expected a JSON object, got {type(kwargs).__name__}")
    return kwargs


def load_weights(net, path):
    """Loads a state dict saved by torch.save into `net` (strict) and returns the file's sha256.

    Accepts the dict itself or a training checkpoint holding it under `state_dict`, `model` or
    `model_ema`, with DistributedDataParallel's `module.` prefix or not. Only tensors are
    unpickled where torch can restrict loading to them (weights_only, torch 1.13 on)."""
    if not os.path.isfile(path):
        raise SystemExit(f"--weights {path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001: any unpickling failure gets the same advice
        raise SystemExit(f"--weights {path}: cannot load it as a state dict of tensors "
                         f"({type(e).__name__}); save just the model's state_dict() from a "
                         f"session you trust and pass that file")
    for key in ("state_dict", "model", "model_ema"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not state:
        raise SystemExit(f"--weights {path}: holds no state dict")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise SystemExit(f"--weights {path}: does not fit the architecture built with these "
                         f"--model-kwargs: {' '.join(first[:4])[:600]}")
    return sha256(path)


def weights_and_source(net, spec, built, otherwise):
    """Loads --weights into `net` when given; the card's `source` line and `weights` entry."""
    source = built + (f" {json.dumps(spec.kwargs)}" if spec.kwargs else "")
    if not spec.weights:
        return f"{source}, {otherwise}", None
    weights = {"file": os.path.basename(spec.weights), "sha256": load_weights(net, spec.weights)}
    return f"{source}, weights from {weights['file']}", weights


class Spec:
    """What to build: an architecture (`timm_id`, or `torchvision:<name>`), constructor kwargs,
    a weights file (None: the library's pretrained weights, or seeded random ones for
    torchvision), and the last block's layout when the shape alone cannot tell it."""

    def __init__(self, arch, kwargs=None, weights=None, layout=None):
        self.arch = arch
        self.kwargs = kwargs or {}
        self.weights = weights
        self.layout = layout


def load_timm(spec):
    """The only timm-specific code: check the identifier, build, load weights, data config."""
    import timm  # noqa: imported here so torchvision models work without timm
    import timm.data

    timm_id = spec.arch
    base = timm_id.split(".")[0]
    if spec.weights is None:
        known = set(timm.list_models(pretrained=True))
        if timm_id not in known:
            near = sorted(k for k in known if k.split(".")[0] == base)[:8]
            raise SystemExit(
                f"timm has no pretrained model {timm_id!r}"
                + (f"; tags of {base}: {', '.join(near)}" if near else "")
                + "; for your own weights pass --weights FILE.pth"
            )
    elif base not in set(timm.list_models()):
        raise SystemExit(f"timm has no architecture {base!r} (--arch)")
    try:
        net = timm.create_model(timm_id, pretrained=spec.weights is None, **spec.kwargs)
    except TypeError as e:
        raise SystemExit(f"timm {timm_id} with --model-kwargs {json.dumps(spec.kwargs)}: {e}")
    source, weights = weights_and_source(net, spec, f"timm {timm_id}", "pretrained")
    cfg = timm.data.resolve_data_config({}, model=net)
    data = {k: cfg[k] for k in ("input_size", "crop_pct", "interpolation", "mean", "std")}
    return Loaded(net, data, source, {"timm": timm.__version__}, spec, weights)


def load_torchvision(spec, seed=0):
    """A torchvision architecture, seeded random weights unless --weights: tests the export path
    offline (timm is not installable everywhere), with the same kwargs and weights handling."""
    import torchvision

    arch = spec.arch.split(":", 1)[1] if spec.arch.startswith("torchvision:") else spec.arch
    build = getattr(torchvision.models, arch, None)
    if not callable(build):
        raise SystemExit(f"torchvision has no model {arch!r}")
    torch.manual_seed(seed)
    try:
        net = build(weights=None, **spec.kwargs)
    except TypeError as e:
        raise SystemExit(f"torchvision {arch} with --model-kwargs {json.dumps(spec.kwargs)}: {e}")
    source, weights = weights_and_source(net, spec, f"torchvision {arch}",
                                         f"random weights (seed {seed}): test only")
    data = {"input_size": (3, 224, 224), "crop_pct": 0.875, "interpolation": "bilinear",
            "mean": IMAGENET_MEAN, "std": IMAGENET_STD}
    return Loaded(net, data, source, {"torchvision": torchvision.__version__}, spec, weights)


def load(spec):
    """`torchvision:<name>` builds from torchvision; anything else is a timm identifier."""
    return load_torchvision(spec) if spec.arch.startswith("torchvision:") else load_timm(spec)


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


LAYOUTS = {"NCHW": 4, "NHWC": 4, "NTD": 3, "NC": 2}  # layout: rank of the tensor
CHANNEL_AXIS = {"NCHW": 1, "NHWC": 3, "NTD": 2, "NC": 1}


def block_layout(shape, input_hw, declared=None):
    """The last block's layout (docs/METHODS.md §6): NTD for token sequences [N, T, D], NC for
    [N, C], and for rank 4 the one of NCHW / NHWC whose spatial dimensions have the input's
    aspect ratio (channels-last Swin gives [N,7,7,768]). `declared` (--layout) settles a shape
    that fits both or neither, and must agree with the rank."""
    rank = len(shape)
    if declared:
        if LAYOUTS.get(declared) != rank:
            raise SystemExit(f"--layout {declared}: the last block's output has rank {rank} "
                             f"{list(shape)}; layouts of that rank: "
                             f"{[k for k, r in LAYOUTS.items() if r == rank]}")
        return declared
    if rank != 4:
        if rank not in (2, 3):
            raise SystemExit(f"last block output of rank {rank} {list(shape)}: expected 2 to 4")
        return "NTD" if rank == 3 else "NC"
    h, w = input_hw
    fits = [name for name, (a, b) in (("NCHW", (2, 3)), ("NHWC", (1, 2)))
            if shape[a] * w == shape[b] * h]
    if len(fits) != 1:
        raise SystemExit(f"last block output {list(shape[1:])} for a {h}x{w} input: cannot tell "
                         f"NCHW from NHWC by its shape; pass --layout NCHW or --layout NHWC")
    return fits[0]


def channel_maxima(block_out, layout):
    """Per image, each channel's maximum over positions: what Fig. 5 computes from the card."""
    if layout == "NC":
        return block_out
    return block_out.movedim(CHANNEL_AXIS[layout], 1).flatten(2).amax(2)


def exporter_kwargs(export=None):
    """Keyword arguments that select torch's TorchScript exporter, the one this script checks.

    torch 2.9 made the dynamo exporter the default (it needs onnxscript); `dynamo` exists as a
    keyword since torch 2.5, so it is passed (as False) only where the signature has it. Older
    torch, Debian's 1.13 among them, has only the TorchScript exporter and no such keyword. The
    card records torch's version and this choice either way."""
    try:
        params = inspect.signature(export or torch.onnx.export).parameters
    except (TypeError, ValueError):
        return {}
    return {"dynamo": False} if "dynamo" in params else {}


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
            **exporter_kwargs(),
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


def reference_pair(wrapped, size, seed=0):
    """A fixed input batch (3 images, N(0,1) in normalised space), torch's logits for it and its
    last block's output."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, *size, generator=g)
    with torch.no_grad():
        y, block_out = wrapped(x)
    return x, y, block_out


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
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    export_onnx(wrapped, size, out_path)
    pre = preprocess_of(loaded.data)
    mismatch = preprocess_mismatch(entry.get("preprocess", {}), pre)
    x, y, block_out = reference_pair(wrapped, size)
    layout = block_layout(tuple(block_out.shape), size[1:], loaded.spec.layout)
    diff = check_ort(out_path, x, y)
    dynamo = exporter_kwargs()
    card = {
        "id": model_id,
        "name": entry.get("name", model_id),
        "source": loaded.source,
        "architecture": type(net).__name__,
        "model_kwargs": loaded.spec.kwargs,
        "weights": loaded.weights,
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
        "last_block_layout": layout,
        "last_block_shape": ["batch", *(int(d) for d in block_out.shape[1:])],
        "opset": OPSET,
        "exporter": "torch.onnx.export, TorchScript"
                    + (" (dynamo=False)" if dynamo else " (this torch has no dynamo exporter)"),
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
        np.save(os.path.join(d, "channel_max.npy"),
                channel_maxima(block_out, layout).numpy().astype("float32"))
    print(f"{model_id}: {out_path} ({card['params']:,} params, norm {card['norm']}, "
          f"last block {block_name} {layout} {card['last_block_shape']}), card {card_path}")
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


def single(args, count):
    """--model-kwargs, --weights and --layout describe one model: refuse them for several."""
    given = [f for f, v in (("--model-kwargs", args.model_kwargs), ("--weights", args.weights),
                            ("--layout", args.layout)) if v is not None]
    if given and count != 1:
        raise SystemExit(f"{', '.join(given)}: for one model only, but this run would export "
                         f"{count}; select one with --only ID (or one --arch / --torchvision)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=os.path.join(ROOT, "configs", "paper.json"))
    p.add_argument("--only", action="append", default=[], help="model id (repeatable)")
    p.add_argument("--arch", action="append", default=[], metavar="ID=ARCH",
                   help="architecture of a config model: a timm identifier (need not have "
                        "pretrained weights when --weights is given) or torchvision:<name>; "
                        "without --only, exports just the --arch models")
    p.add_argument("--model-kwargs", metavar="JSON",
                   help="keyword arguments for the architecture's constructor, as a JSON object "
                        "(e.g. '{\"kernel_sizes\": 3}'); one model")
    p.add_argument("--weights", metavar="FILE.pth",
                   help="a state dict (or a checkpoint holding one) to load instead of the "
                        "pretrained weights, e.g. the authors' Table 2 variants; one model")
    p.add_argument("--layout", choices=["NCHW", "NHWC"],
                   help="the last block's layout when its shape cannot tell; one model")
    p.add_argument("--torchvision", action="append", default=[], metavar="ARCH",
                   help="export a torchvision architecture without a config (testing; random "
                        "weights unless --weights)")
    p.add_argument("--out-dir", help="write here instead of the config's onnx paths")
    p.add_argument("--reference-dir",
                   help="also write <dir>/<id>/{input,logits,channel_max}.npy from torch")
    p.add_argument("--allow-mismatch", action="store_true",
                   help="warn (not fail) when the config's preprocess differs from timm's")
    args = p.parse_args(argv)
    kwargs = parse_model_kwargs(args.model_kwargs)

    def spec(arch):
        return Spec(arch, kwargs, args.weights, args.layout)

    if args.torchvision:
        single(args, len(args.torchvision))
        out_dir = args.out_dir or "."
        for arch in args.torchvision:
            export_one(arch, load(spec(f"torchvision:{arch}")), {"group": "test"},
                       os.path.join(out_dir, f"{arch}.onnx"), args)
        return 0

    with open(args.config) as f:
        config = json.load(f)
    archs = dict((config.get("notes") or {}).get("timm", {}))
    given = {}
    for a in args.arch:
        if "=" not in a:
            raise SystemExit(f"--arch {a}: expected ID=ARCH")
        mid, arch = a.split("=", 1)
        given[mid] = arch
    ids = [m["id"] for m in config["models"]]
    unknown = [mid for mid in list(given) + args.only if mid not in ids]
    if unknown:
        raise SystemExit(f"{args.config}: no model {', '.join(unknown)} (models: {', '.join(ids)})")
    archs.update(given)
    wanted = set(args.only or given or ids)
    selected = [e for e in config["models"] if e["id"] in wanted and e["id"] in archs]
    single(args, len(selected))
    for entry in config["models"]:
        mid = entry["id"]
        if mid in wanted and mid not in archs:
            print(f"{mid}: skipped (no timm identifier in notes.timm; for your own weights pass "
                  f"--arch {mid}=<timm architecture> --model-kwargs <JSON> --weights <file.pth>)")
    for entry in selected:
        out = (os.path.join(args.out_dir, os.path.basename(entry["onnx"])) if args.out_dir
               else os.path.join(ROOT, entry["onnx"]))
        export_one(entry["id"], load(spec(archs[entry["id"]])), entry, out, args)
    print(f"exported {len(selected)} model(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
