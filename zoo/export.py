"""ONNX export and model card for one trained zoo model.

The network returns (logits, last_block); both are exported as graph outputs named `logits` and
`last_block`, then `last_block` is removed from the outputs so it stays a named intermediate
tensor that explanation stages can expose again.
"""
import hashlib
import json
import os

import onnx
import torch

import data
import models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(ROOT, "zoo", "models")
OPSET = 17
LAST_BLOCK = "last_block"


def paths(model_id):
    return (os.path.join(MODELS_DIR, f"{model_id}.onnx"), os.path.join(MODELS_DIR, f"{model_id}.json"))


def export_onnx(net, path):
    net.eval()
    dummy = torch.zeros(2, 1, 28, 28)
    tmp = path + ".tmp"
    torch.onnx.export(
        net, dummy, tmp, opset_version=OPSET, input_names=["input"],
        output_names=["logits", LAST_BLOCK], do_constant_folding=True,
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, LAST_BLOCK: {0: "batch"}},
    )
    m = onnx.load(tmp)
    keep = [o for o in m.graph.output if o.name != LAST_BLOCK]
    if len(keep) != 1 or keep[0].name != "logits":
        raise RuntimeError(f"{path}: unexpected outputs {[o.name for o in m.graph.output]}")
    del m.graph.output[:]
    m.graph.output.extend(keep)
    produced = {o for n in m.graph.node for o in n.output}
    consumed = {i for n in m.graph.node for i in n.input}
    if LAST_BLOCK not in produced or LAST_BLOCK not in consumed:
        raise RuntimeError(f"{path}: tensor {LAST_BLOCK!r} is not an intermediate of the graph")
    m.producer_name = "xcompare-zoo"
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    os.remove(tmp)
    return m


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def schedule_text(s):
    text = f"AdamW, one-cycle to lr {s['lr']} over {s['epochs']} epochs"
    if not s.get("cooldown_epochs"):
        return text
    text += f", then cosine from lr {s['cooldown_lr']} to 0 over {s['cooldown_epochs']} epochs"
    r = s.get("cooldown_rounds", 1)
    return text + (f", {r} times (a fresh AdamW each round)" if r > 1 else "")


def recipe(c):
    """(epochs, cooldown epochs, cooldown rounds) of a spec or a card; older cards lack rounds."""
    n = c.get("cooldown_epochs", 0)
    return c["epochs"], n, c.get("cooldown_rounds", 1) if n else 0


def epochs_text(c):
    """8, or 8+3 (one cooldown round), or 8+3+3 (two)."""
    epochs, n, r = recipe(c)
    return str(epochs) + f"+{n}" * r


def write_card(s, net, meta, onnx_path, card_path):
    card = {
        "id": s["id"],
        "architecture": s["architecture"],
        "norm": s["norm"],
        "group": s["group"],
        "params": models.count_params(net),
        "test_accuracy": round(meta["test_accuracy"], 2),
        "sample_accuracy": round(meta["sample_accuracy"], 2),
        "seed": s["seed"],
        "train_seconds": round(meta["train_seconds"], 1),
        "epochs": s["epochs"],
        "cooldown_epochs": s.get("cooldown_epochs", 0),
        "cooldown_rounds": recipe(s)[2],
        "schedule": schedule_text(s),
        "augmentation": meta["augmentation"],
        "torch_version": torch.__version__ + " (Debian python3-torch)",
        "distilled_from": s["distilled_from"],
        "distillation": meta.get("distillation"),
        "dataset": "Fashion-MNIST (Zalando SE, MIT), Debian dataset-fashion-mnist; test = 10k t10k set",
        "input": {"name": "input", "shape": ["batch", 1, 28, 28], "range": [0, 1],
                  "mean": [data.MEAN], "std": [data.STD]},
        "output": {"name": "logits", "classes": 10},
        "classes": data.CLASSES,
        "preprocess": {"channels": 1, "resize_short_side": 28, "center_crop": 28,
                       "interpolation": "bilinear", "scale": "1/255",
                       "mean": [data.MEAN], "std": [data.STD]},
        "last_block_tensor": LAST_BLOCK,
        # Fig. 5 reads the layout (docs/METHODS.md §6); ViT tokens are the 7x7 grid, row-major.
        "last_block_layout": "NTD" if s["family"] == "vit" else "NCHW",
        "last_block_shape": ["batch", 49, 48] if s["family"] == "vit" else ["batch", 48, 7, 7],
        "opset": OPSET,
        "sha256": sha256(onnx_path),
    }
    tmp = card_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    os.replace(tmp, card_path)
    return card


def export(s, net, meta):
    os.makedirs(MODELS_DIR, exist_ok=True)
    onnx_path, card_path = paths(s["id"])
    export_onnx(net, onnx_path)
    return write_card(s, net, meta, onnx_path, card_path)


README = os.path.join(ROOT, "zoo", "README.md")
BEGIN, END = "<!-- cards:begin -->", "<!-- cards:end -->"


def card_table():
    """The README's card table, from the cards on disk (zoo order)."""
    rows = ["| model | norm | group | params | test acc. % | sample acc. % | epochs | train s |",
            "|---|---|---|---:|---:|---:|---:|---:|"]
    for s in models.ZOO:
        p = paths(s["id"])[1]
        if not os.path.exists(p):
            continue
        with open(p) as f:
            c = json.load(f)
        rows.append(f"| {c['id']} | {c['norm']} | {c['group']} | {c['params']:,} | "
                    f"{c['test_accuracy']:.2f} | {c['sample_accuracy']:.1f} | {epochs_text(c)} | "
                    f"{c['train_seconds']:.0f} |")
    return "\n".join(rows)


def update_readme():
    if not os.path.exists(README):
        return
    with open(README) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        return
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(README, "w") as f:
        f.write(f"{head}{BEGIN}\n{card_table()}\n{END}{tail}")
