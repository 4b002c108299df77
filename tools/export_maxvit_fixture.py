#!/usr/bin/python3
"""A tiny random-weight MaxViT (torchvision's own MaxVit class, ReLU activations) and its PyTorch
autograd input gradients, so the Einsum VJP is checked on the attention torchvision exports: 4
Einsums `B G H I D, B G H J D -> B G H I J` and `B G H I J, B G H J D -> B G H I D`, between
window/grid partitions, relative position biases, MBConv with squeeze-excitation and a ReLU MLP.

Writes tests/fixtures/maxvit-tiny/model.onnx (input "input" [batch,3,32,32], output "logits"
[batch,10], opset 17) and the zoo's gradient fixture files beside it (zoo/grad_fixtures.py):
x [2,3,32,32] standard normal away from ReLU kinks, cls [2] each row's top class, prob,
grad_prob, grad_logit.

Usage: /usr/bin/python3 tools/export_maxvit_fixture.py
"""
import os
import sys

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "zoo"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from torchvision.models.maxvit import MaxVit  # noqa: E402

import grad_fixtures  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "maxvit-tiny")


class Net(torch.nn.Module):
    """MaxVit returning (logits,): the zoo's nets return logits first (models.forward_logits)."""

    def __init__(self):
        super().__init__()
        self.net = MaxVit(input_size=(32, 32), stem_channels=8, partition_size=4,
                          block_channels=[16], block_layers=[1], head_dim=8,
                          stochastic_depth_prob=0.0, activation_layer=torch.nn.ReLU,
                          mlp_ratio=2, expansion_ratio=2, num_classes=10)

    def forward(self, x):
        return (self.net(x),)


def away_from_kinks(net, margin=1e-5):
    """The first input (standard normal, seeds 1, 2, ...) whose ReLU inputs all keep |z| >= margin:
    torch and onnxruntime round differently in float32 (~1e-7 relative), and a ReLU input that
    flips sign between them changes the gradient over its whole receptive field."""
    smallest = []
    hooks = [m.register_forward_hook(lambda _m, inp, _out: smallest.append(inp[0].abs().min()))
             for m in net.modules() if isinstance(m, torch.nn.ReLU)]
    try:
        for seed in range(1, 100):
            x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
            smallest.clear()
            with torch.no_grad():
                net(x)
            if min(smallest) >= margin:
                return x, seed
    finally:
        for h in hooks:
            h.remove()
    raise RuntimeError(f"no input within 99 seeds keeps every ReLU input {margin} from 0")


def main():
    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        for m in net.modules():
            # MaxVit initialises weights with std 0.02: the logits would barely depend on the
            # input (max |grad| ~1e-6). PyTorch's default initialisation keeps signals at scale.
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.reset_parameters()
            # Random BatchNorm statistics, so eval-mode BN is not the identity.
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    x, seed = away_from_kinks(net)
    with torch.no_grad():
        cls = net(x)[0].argmax(1)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "model.onnx")
    torch.onnx.export(net, x, path, opset_version=17, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(path)
    einsums = [a.s.decode() for n in m.graph.node if n.op_type == "Einsum" for a in n.attribute]
    if len(einsums) != 4:
        raise RuntimeError(f"{path}: expected 4 Einsums, got {einsums}")
    onnx.checker.check_model(m, full_check=True)
    for name, arr in grad_fixtures.fixtures(net, x, cls).items():
        np.save(os.path.join(OUT, f"{name}.npy"), arr)
    print(f"{path}: {os.path.getsize(path)} bytes, x seed {seed}, Einsums {sorted(set(einsums))}")


if __name__ == "__main__":
    main()
