#!/usr/bin/python3
"""Exports torchvision ResNet50, VGG19, ConvNeXt-T, Swin-T and ViT-B/16 (random weights, eval
mode) to ONNX at opsets 13 and 17, batch dynamic, for checking gradient-graph coverage
(runtime/grad_check.ts). Weights are random: no download, and coverage does not depend on them.
`--models mobile` exports the depthwise / squeeze-excite nets instead (MobileNetV2, MobileNetV3-S,
EfficientNet-B0, ShuffleNetV2 x1.0), the models bench/grad.ts times the mobile-net gradient on
(issue 20); `--opsets 17` for those, into an ignored folder (.scratch/).

usage: /usr/bin/python3 tools/export_torchvision.py OUT_DIR [--models a,b|mobile] [--opsets 13,17]
Writes OUT_DIR/<model>-op<opset>.onnx (input "input" [batch,3,224,224], output "logits").
"""
import argparse
import os
import sys

import torch
import torchvision

MODELS = {
    "resnet50": torchvision.models.resnet50,
    "vgg19": torchvision.models.vgg19,
    "convnext_tiny": torchvision.models.convnext_tiny,
    "swin_t": torchvision.models.swin_t,
    "vit_b_16": torchvision.models.vit_b_16,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "mobilenet_v3_small": torchvision.models.mobilenet_v3_small,
    "efficientnet_b0": torchvision.models.efficientnet_b0,
    "shufflenet_v2_x1_0": torchvision.models.shufflenet_v2_x1_0,
}
# The default set (gradient-graph coverage) and the named sets `--models` also takes.
SETS = {
    "default": ["resnet50", "vgg19", "convnext_tiny", "swin_t", "vit_b_16"],
    "mobile": ["mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x1_0"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--models", default="default", help="names, or a set: " + ", ".join(SETS))
    ap.add_argument("--opsets", default="13,17")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (keep it modest)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out_dir, exist_ok=True)
    names = [n for m in args.models.split(",") if m for n in SETS.get(m, [m])]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        print(f"unknown model(s) {unknown}; known: {list(MODELS)}", file=sys.stderr)
        return 2
    for name in names:
        torch.manual_seed(0)
        model = MODELS[name](weights=None).eval()
        # Some heads start at zero (ViT): the logits would not depend on the input at all.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.Linear) and not m.weight.any():
                    m.weight.normal_(0, 0.02)
        x = torch.randn(1, 3, 224, 224)
        for opset in [int(o) for o in args.opsets.split(",")]:
            path = os.path.join(args.out_dir, f"{name}-op{opset}.onnx")
            # Grad mode stays on: under no_grad, nn.MultiheadAttention (ViT) takes its fused
            # fast path (aten::_native_multi_head_attention), which has no ONNX export.
            torch.onnx.export(
                model,
                x,
                path,
                opset_version=opset,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                do_constant_folding=True,
            )
            print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
