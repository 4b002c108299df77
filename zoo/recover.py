"""Rebuilds a zoo model's PyTorch weights from its committed ONNX file.

Training checkpoints live in the git-ignored zoo/.work/ and are lost with a checkout, but the
ONNX export holds every trained weight. Recovery lets a later schedule round (see train.py's
cooldown rounds) continue from the committed model instead of retraining it from scratch, and lets
the distillation teacher be exactly the committed `cnn-bn`.

Mapping: named initializers are the state_dict entries themselves; a Linear layer exported as
MatMul carries an anonymous transposed weight, found through the Add that applies its named bias;
for the CNN, the export fused each BatchNorm into the preceding Conv, so recovery loads the fused
conv weight and sets the BatchNorm to an identity plus the fused bias (eval mode only: such a
network serves as a teacher, it is not trained further).

Every recovery is checked: the rebuilt network's test accuracy must equal the card's.

Usage: /usr/bin/python3 zoo/recover.py model-id ...   (writes zoo/.work/ckpt/<id>/recovered.pt)
"""
import sys

sys.dont_write_bytecode = True  # keep zoo/ free of __pycache__ (not git-ignored)

import json
import os

import onnx
import torch
from onnx import numpy_helper

import data
import export
import models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "zoo", ".work", "ckpt")


def _weights(graph):
    return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}


def _matmul_weights(graph, inits):
    """state_dict name of each Linear weight exported as MatMul(x, W^T) + named bias."""
    by_input = {}
    for n in graph.node:
        for i in n.input:
            by_input.setdefault(i, []).append(n)
    out = {}
    for n in graph.node:
        if n.op_type != "MatMul" or n.input[1] not in inits or n.input[1].endswith(".weight"):
            continue
        adds = [a for a in by_input.get(n.output[0], []) if a.op_type == "Add"]
        bias = [i for a in adds for i in a.input if i.endswith(".bias") and i in inits]
        if len(bias) != 1:
            raise ValueError(f"MatMul node {n.name!r}: no unique named bias to name its weight")
        out[bias[0][:-len(".bias")] + ".weight"] = inits[n.input[1]].t().contiguous()
    return out


def _group_norm_weights(net, graph, inits):
    """GroupNorm exports as InstanceNormalization, Reshape, Mul(weight), Add(bias) with anonymous
    [C,1] initializers; the Mul/Add pairs run in the order the GroupNorm modules are defined."""
    names = [n for n, m in net.named_modules() if isinstance(m, torch.nn.GroupNorm)]
    by_input = {}
    for n in graph.node:
        for i in n.input:
            by_input.setdefault(i, []).append(n)
    pairs = []
    for n in graph.node:
        if n.op_type != "InstanceNormalization":
            continue
        (reshape,) = by_input[n.output[0]]
        (mul,) = by_input[reshape.output[0]]
        (add,) = by_input[mul.output[0]]
        w = [inits[i] for i in mul.input if i in inits]
        b = [inits[i] for i in add.input if i in inits]
        if mul.op_type != "Mul" or add.op_type != "Add" or len(w) != 1 or len(b) != 1:
            raise ValueError(f"InstanceNormalization {n.name!r}: not followed by Reshape, Mul, Add")
        pairs.append((w[0].flatten(), b[0].flatten()))
    if len(pairs) != len(names):
        raise ValueError(f"{len(names)} GroupNorm modules but {len(pairs)} exported GroupNorms")
    out = {}
    for name, (w, b) in zip(names, pairs):
        out[name + ".weight"], out[name + ".bias"] = w, b
    return out


def _cnn_state(net, graph, inits):
    """Fused conv weights and biases in execution order; BatchNorms become identity + bias."""
    convs = [n for n in graph.node if n.op_type == "Conv"]
    # ResNetBN runs the projection shortcut before conv1 of the downsampling block.
    names = ["stem.0", "blocks.0.conv1", "blocks.0.conv2", "blocks.1.short.0", "blocks.1.conv1",
             "blocks.1.conv2"]
    bns = {"stem.0": "stem.1", "blocks.0.conv1": "blocks.0.bn1", "blocks.0.conv2": "blocks.0.bn2",
           "blocks.1.short.0": "blocks.1.short.1", "blocks.1.conv1": "blocks.1.bn1",
           "blocks.1.conv2": "blocks.1.bn2"}
    if len(convs) != len(names):
        raise ValueError(f"expected {len(names)} Conv nodes, found {len(convs)}")
    state = {k: v.clone() for k, v in net.state_dict().items()}
    for name, node in zip(names, convs):
        w = inits[node.input[1]]
        if tuple(w.shape) != tuple(state[name + ".weight"].shape):
            raise ValueError(f"{name}: ONNX weight {tuple(w.shape)} != {tuple(state[name + '.weight'].shape)}")
        state[name + ".weight"] = w
        bn = bns[name]
        c = w.shape[0]
        eps = net.get_submodule(bn).eps
        state[bn + ".weight"] = torch.ones(c)
        state[bn + ".bias"] = inits[node.input[2]]
        state[bn + ".running_mean"] = torch.zeros(c)
        state[bn + ".running_var"] = torch.full((c,), 1.0 - eps)
    state["head.weight"] = inits["head.weight"]
    state["head.bias"] = inits["head.bias"]
    return state


def rebuild(model_id):
    """The network of a committed zoo model, weights from its ONNX file, in eval mode."""
    s = models.spec(model_id)
    onnx_path, card_path = export.paths(model_id)
    graph = onnx.load(onnx_path).graph
    inits = _weights(graph)
    net = models.build(s)
    if s["family"] == "cnn":
        state = _cnn_state(net, graph, inits)
    else:
        state = {k: v for k, v in inits.items() if k in net.state_dict()}
        state.update(_matmul_weights(graph, inits))
        state.update(_group_norm_weights(net, graph, inits))
        for k, v in net.state_dict().items():
            if k.endswith("num_batches_tracked"):
                state.setdefault(k, v)
    missing = sorted(set(net.state_dict()) - set(state))
    if missing:
        raise ValueError(f"{onnx_path}: no weight for {', '.join(missing)}")
    net.load_state_dict(state)
    net.eval()
    with open(card_path) as f:
        card = json.load(f)
    return net, card


def recover(model_id):
    """Writes zoo/.work/ckpt/<id>/recovered.pt after checking the rebuilt accuracy against the card."""
    net, card = rebuild(model_id)
    x, y = data.load("t10k")
    acc = models.accuracy(net, data.normalise(x), y)
    if round(acc, 2) != card["test_accuracy"]:
        raise ValueError(f"{model_id}: rebuilt network scores {acc:.2f}%, card says "
                         f"{card['test_accuracy']}%")
    d = os.path.join(WORK, model_id)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "recovered.pt")
    torch.save({"model": net.state_dict(), "card": card, "test_accuracy": acc}, path + ".tmp")
    os.replace(path + ".tmp", path)
    print(f"{model_id}: rebuilt from {os.path.relpath(export.paths(model_id)[0], ROOT)}, test "
          f"{acc:.2f}% (card {card['test_accuracy']}%) -> {os.path.relpath(path, ROOT)}", flush=True)
    return net, card


if __name__ == "__main__":
    torch.set_num_threads(2)
    for i in sys.argv[1:]:
        recover(i)
