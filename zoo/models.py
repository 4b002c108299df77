"""The zoo's three architecture families and the registry of trained models.

Every network returns (logits, last_block) so the ONNX export can name the last block's output
(`last_block`) for explanation stages; `forward_logits` is the plain classifier.
All families end on a 7x7 grid (CNN/ConvNeXt feature maps, ViT 4x4-patch tokens) so their
explanations share one resolution.
"""
import torch
from torch import nn
import torch.nn.functional as F


# ---------------------------------------------------------------- ResNet-style CNN (BatchNorm)
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + s)


class ResNetBN(nn.Module):
    """3x3/s2 stem to 14x14, a residual block at 14x14, a downsampling residual block to 7x7."""

    def __init__(self, widths=(24, 48), classes=10):
        super().__init__()
        c1, c2 = widths
        self.stem = nn.Sequential(nn.Conv2d(1, c1, 3, 2, 1, bias=False), nn.BatchNorm2d(c1), nn.ReLU())
        self.blocks = nn.Sequential(BasicBlock(c1, c1, 1), BasicBlock(c1, c2, 2))
        self.head = nn.Linear(c2, classes)

    def forward(self, x):
        f = self.blocks(self.stem(x))
        return self.head(f.mean(dim=(2, 3))), f


# ---------------------------------------------------------------- ConvNeXt-style
class ChannelNorm(nn.Module):
    """Normalisation over the channel axis of [N,C,*]: LayerNorm (per position), BatchNorm, or
    GroupNorm (groups of channels x all positions)."""

    def __init__(self, kind, c, groups=4):
        super().__init__()
        self.kind = kind
        if kind == "ln":
            self.norm = nn.LayerNorm(c, eps=1e-6)
        elif kind == "bn":
            self.norm = nn.BatchNorm2d(c)
        elif kind == "gn":
            self.norm = nn.GroupNorm(groups, c)
        else:
            raise ValueError(f"unknown norm kind {kind!r}")

    def forward(self, x):
        if self.kind == "ln":
            return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.norm(x)


class ConvNeXtBlock(nn.Module):
    """Depthwise kxk conv -> norm -> 1x1 (4x expand) -> GELU -> 1x1, residual."""

    def __init__(self, c, kernel, norm):
        super().__init__()
        self.dw = nn.Conv2d(c, c, kernel, 1, kernel // 2, groups=c)
        self.norm = ChannelNorm(norm, c)
        self.pw1 = nn.Conv2d(c, 4 * c, 1)
        self.pw2 = nn.Conv2d(4 * c, c, 1)

    def forward(self, x):
        return x + self.pw2(F.gelu(self.pw1(self.norm(self.dw(x)))))


class ConvNeXt(nn.Module):
    """2x2/s2 patchify stem to 14x14, blocks, norm + 2x2/s2 downsample to 7x7, blocks."""

    def __init__(self, norm="ln", kernel=7, widths=(24, 48), depths=(1, 2), classes=10):
        super().__init__()
        c1, c2 = widths
        self.stem = nn.Sequential(nn.Conv2d(1, c1, 2, 2), ChannelNorm(norm, c1))
        self.stage1 = nn.Sequential(*[ConvNeXtBlock(c1, kernel, norm) for _ in range(depths[0])])
        self.down = nn.Sequential(ChannelNorm(norm, c1), nn.Conv2d(c1, c2, 2, 2))
        self.stage2 = nn.Sequential(*[ConvNeXtBlock(c2, kernel, norm) for _ in range(depths[1])])
        self.head_norm = ChannelNorm(norm, c2)
        self.head = nn.Linear(c2, classes)

    def forward(self, x):
        f = self.stage2(self.down(self.stage1(self.stem(x))))
        return self.head(self.head_norm(f.mean(dim=(2, 3), keepdim=True)).flatten(1)), f


# ---------------------------------------------------------------- ViT on 4x4 patches
class TokenNorm(nn.Module):
    """Normalisation for tokens [N,T,D]: LayerNorm per token, BatchNorm per channel over batch and
    tokens, GroupNorm per sample over channel groups and all tokens."""

    def __init__(self, kind, d, groups=4):
        super().__init__()
        self.kind = kind
        if kind == "ln":
            self.norm = nn.LayerNorm(d, eps=1e-6)
        elif kind == "bn":
            self.norm = nn.BatchNorm1d(d)
        elif kind == "gn":
            self.norm = nn.GroupNorm(groups, d)
        else:
            raise ValueError(f"unknown norm kind {kind!r}")

    def forward(self, x):
        if self.kind == "ln":
            return self.norm(x)
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax((q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5, dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(n, t, d))


class ViTBlock(nn.Module):
    def __init__(self, d, heads, mlp, norm):
        super().__init__()
        self.norm1 = TokenNorm(norm, d)
        self.attn = Attention(d, heads)
        self.norm2 = TokenNorm(norm, d)
        self.fc1 = nn.Linear(d, mlp * d)
        self.fc2 = nn.Linear(mlp * d, d)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    """4x4 patches -> 49 tokens (no class token: the head averages tokens, so every token of the
    last block reaches the logits and gradient explanations on it are non-zero)."""

    def __init__(self, norm="ln", dim=48, depth=4, heads=2, mlp=2, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(1, dim, 4, 4)
        self.pos = nn.Parameter(torch.zeros(1, 49, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.Sequential(*[ViTBlock(dim, heads, mlp, norm) for _ in range(depth)])
        self.norm = TokenNorm(norm, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        f = self.blocks(t)
        return self.head(self.norm(f).mean(dim=1)), f


def forward_logits(model, x):
    return model(x)[0]


@torch.no_grad()
def accuracy(net, x, y, batch=1000):
    """Top-1 accuracy in % of `net` (put in eval mode) on normalised images x with labels y."""
    net.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (forward_logits(net, x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return 100.0 * correct / len(x)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- the zoo
# Recipes are sized for ~60 min on two shared CPU cores (see README.md for measured epoch times).
CNN = dict(family="cnn", norm="bn", epochs=3, lr=3e-3, wd=5e-4, aug="flip",
           architecture=("ResNet-style CNN: 3x3/s2 stem (24ch, 14x14), BasicBlock 24@14x14, "
                         "BasicBlock 48@7x7 (stride 2, 1x1 projection), BatchNorm, ReLU, GAP, linear"))
CNX = dict(family="convnext", epochs=5, lr=3e-3, wd=0.05, aug="flip")
VIT = dict(family="vit", epochs=8, lr=2e-3, wd=0.05, aug="flip", cooldown_epochs=3, cooldown_lr=3e-4,
           cooldown_rounds=2)


def _cnx(norm, kernel, **kw):
    name = {"ln": "LayerNorm (channels)", "bn": "BatchNorm", "gn": "GroupNorm (4 groups)"}[norm]
    return dict(CNX, norm=norm, kernel=kernel, architecture=(
        f"ConvNeXt-style: 2x2/s2 stem, 1 block @24ch 14x14, downsample, 2 blocks @48ch 7x7; "
        f"block = depthwise {kernel}x{kernel} conv, {name}, 1x1 4x expand, GELU, 1x1, residual"), **kw)


def _vit(norm, **kw):
    name = {"ln": "LayerNorm", "bn": "BatchNorm (per channel over batch+tokens)",
            "gn": "GroupNorm (4 groups over channels x tokens)"}[norm]
    return dict(VIT, norm=norm, architecture=(
        f"ViT: 4x4 patches -> 7x7=49 tokens, dim 48, depth 4, 2 heads, MLP 2x, {name}, "
        f"learned pos. emb., mean-pooled tokens (no class token)"), **kw)


ZOO = [
    dict(CNN, id="cnn-bn", group="older-cnn", seed=0),
    dict(_cnx("ln", 7), id="convnext-ln", group="convnext", seed=0),
    dict(CNN, id="cnn-bn-aug", group="newer-cnn", seed=0, aug="strong", epochs=10),
    dict(_cnx("ln", 3), id="convnext-ln-k3", group="convnext", seed=0),
    dict(_cnx("bn", 3), id="convnext-bn-k3", group="convnext", seed=0),
    dict(_cnx("gn", 3), id="convnext-gn-k3", group="convnext", seed=0),
    dict(CNN, id="cnn-bn-s1", group="older-cnn", seed=1),
    dict(CNN, id="cnn-bn-s2", group="older-cnn", seed=2),
    dict(_cnx("ln", 7), id="convnext-ln-s1", group="convnext", seed=1),
    dict(_cnx("ln", 7), id="convnext-ln-s2", group="convnext", seed=2),
    dict(_vit("ln"), id="vit-ln", group="transformer", seed=0),
    dict(_vit("ln"), id="vit-ln-distilled", group="distilled", seed=0, distilled_from="cnn-bn"),
    dict(_vit("bn"), id="vit-bn", group="transformer", seed=0),
    dict(_vit("gn"), id="vit-gn", group="transformer", seed=0),
    dict(_vit("ln"), id="vit-ln-s1", group="transformer", seed=1),
    dict(_vit("ln"), id="vit-ln-s2", group="transformer", seed=2),
]
for _s in ZOO:
    _s.setdefault("distilled_from", None)


def spec(model_id):
    for s in ZOO:
        if s["id"] == model_id:
            return s
    raise KeyError(f"unknown zoo model {model_id!r} (known: {', '.join(s['id'] for s in ZOO)})")


def build(s):
    """A fresh network for a zoo spec (weights depend on the caller's torch seed)."""
    if s["family"] == "cnn":
        return ResNetBN()
    if s["family"] == "convnext":
        return ConvNeXt(norm=s["norm"], kernel=s["kernel"])
    if s["family"] == "vit":
        return ViT(norm=s["norm"])
    raise ValueError(f"{s['id']}: unknown family {s['family']!r}")
