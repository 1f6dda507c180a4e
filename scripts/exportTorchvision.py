#!/usr/bin/env python3
"""Exports the real torchvision classifiers, with seeded random weights, for bench/torchvision.ts.

Usage (from the repository root; needs Debian's python3-torch, python3-torchvision, python3-onnx):

    /usr/bin/python3 scripts/exportTorchvision.py [--out .tmp/torchvision] [--models resnet18,...]
                                                  [--opsets 13,17] [--sizes 224,64] [--samples 16]

Each model is the torchvision definition (weights=None) with seeded weights, exported the way a
user exports a classifier: torch.onnx.export(model.eval(), x, f, opset_version=...,
do_constant_folding=True). BatchNorm running statistics are the ones the network's own activations
have on the synthetic images (a few train-mode passes with cumulative averaging), then perturbed,
so every BatchNorm folds into a non-trivial scale and shift and activations stay in the range a
trained network has, instead of exploding or vanishing through 50 random layers.

Outputs (nothing here is committed; .tmp/ is gitignored):

    <out>/<model>_op<opset>_<size>.onnx
    <out>/inputs_<size>.bin     float32 little-endian, [2 * samples, 1, 3, size, size]: the first
                                half is the calibration set, the second half the held-out set
    <out>/inputs_<size>.json    { "shape": [1, 3, size, size], "calibration": n, "evaluation": n }
    <out>/calibration_<size>.json  the calibration half as the JSON `verinfer model import
                                --calibration` reads (an array of { shape, data })

The images are synthetic but image-like (smooth colour fields, rectangles, discs, stripes and a
little noise), normalized with the ImageNet mean and standard deviation as torchvision's
transforms do.
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

MODELS = [
    "resnet18",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "squeezenet1_0",
    "shufflenet_v2_x0_5",
    "densenet121",
    "efficientnet_b0",
]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def synthetic_images(n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """n image-like pictures in [0, 1], normalized as torchvision's ImageNet transforms do."""
    ys = torch.linspace(0, 1, size).view(size, 1).expand(size, size)
    xs = torch.linspace(0, 1, size).view(1, size).expand(size, size)
    out = []
    for _ in range(n):
        # A smooth random colour field: 4x4 noise upsampled bilinearly.
        img = F.interpolate(torch.rand(1, 3, 4, 4, generator=gen), size=(size, size), mode="bilinear",
                            align_corners=False)[0]
        for _ in range(int(torch.randint(2, 6, (1,), generator=gen))):
            colour = torch.rand(3, 1, 1, generator=gen)
            kind = int(torch.randint(0, 3, (1,), generator=gen))
            a, b, c, d = torch.rand(4, generator=gen).tolist()
            if kind == 0:  # rectangle
                mask = (xs >= min(a, b)) & (xs <= max(a, b)) & (ys >= min(c, d)) & (ys <= max(c, d))
            elif kind == 1:  # disc
                mask = (xs - a) ** 2 + (ys - b) ** 2 <= (0.05 + 0.3 * c) ** 2
            else:  # stripes
                mask = torch.sin((xs * math.cos(6.3 * a) + ys * math.sin(6.3 * a)) * (4 + 20 * b)) > 0
            img = torch.where(mask, colour.expand(3, size, size), img)
        img = img + 0.03 * torch.randn(3, size, size, generator=gen)
        out.append(img.clamp(0, 1))
    return (torch.stack(out) - MEAN) / STD


def build(name: str, seed: int, images: torch.Tensor) -> nn.Module:
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    gen = torch.Generator().manual_seed(seed + 1)
    # Running statistics from the network's own activations (cumulative average), then perturbed.
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        c = m.num_features
        m.weight.data.copy_(torch.rand(c, generator=gen) * 0.8 + 0.6)
        m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)
    model.train()
    with torch.no_grad():
        for chunk in images.split(8):
            model(chunk)
    for m in bns:
        c = m.num_features
        m.running_mean.mul_(1 + 0.1 * torch.randn(c, generator=gen))
        m.running_var.mul_(torch.rand(c, generator=gen) * 0.4 + 0.8)
    model.eval()
    sharpen_head(model, images)
    return model


def sharpen_head(model: nn.Module, images: torch.Tensor) -> None:
    """Makes the random classifier's logits depend on the image and spread like a trained one's.

    A random last layer gives 1000 nearly equal logits (every probability about 1/1000, the top-1
    class decided by noise), which says nothing about accuracy. So the last layer is shifted so that
    each class's logit averages 0 over the images (a Linear head; SqueezeNet's Conv+ReLU head is only
    scaled) and scaled so that the logits have a standard deviation of 3.
    """
    last = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
    with torch.no_grad():
        if isinstance(last, nn.Linear):
            last.bias.sub_(model(images).mean(0))
        k = 3.0 / float(model(images).std())
        last.weight.mul_(k)
        last.bias.mul_(k)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".tmp/torchvision")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--opsets", default="13,17")
    ap.add_argument("--sizes", default="224,64")
    ap.add_argument("--samples", type=int, default=16, help="calibration samples (as many held out)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in MODELS:
            sys.exit(f"unknown model {m}; choose from {','.join(MODELS)}")
    for size in [int(s) for s in args.sizes.split(",")]:
        gen = torch.Generator().manual_seed(1000 + size)
        images = synthetic_images(2 * args.samples, size, gen)
        images.numpy().astype("<f4").tofile(os.path.join(args.out, f"inputs_{size}.bin"))
        with open(os.path.join(args.out, f"inputs_{size}.json"), "w") as f:
            json.dump({"shape": [1, 3, size, size], "calibration": args.samples,
                       "evaluation": args.samples}, f)
        with open(os.path.join(args.out, f"calibration_{size}.json"), "w") as f:
            cal = [{"shape": [1, 3, size, size], "data": [round(v, 6) for v in x.flatten().tolist()]}
                   for x in images[: args.samples]]
            json.dump(cal, f)
        # BatchNorm statistics come from the same kind of pictures (another seed), as a trained
        # network's come from its training set.
        stats = synthetic_images(32, size, torch.Generator().manual_seed(2000 + size))
        for k, name in enumerate(models):
            model = build(name, 10 + k, stats)
            x = images[:1]
            for opset in [int(o) for o in args.opsets.split(",")]:
                path = os.path.join(args.out, f"{name}_op{opset}_{size}.onnx")
                torch.onnx.export(model, x, path, opset_version=opset, do_constant_folding=True)
                print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
