"""ECE, NLL and Brier score of fixed logits, written from their definitions with PyTorch, for the anchor test
of harness/train/calibration.h (tests/anchors/test_calibration_anchor.cpp).

    calibration_reference.py INPUT.json  ->  {"ece", "nll", "brier", "counts", "confidence", "accuracy"}

INPUT: {"logits": [[...], ...], "labels": [...], "bins": B}. ECE as Guo et al. (2017)'s code computes it: B
equal-width bins from torch.linspace(0, 1, B + 1), a confidence c in bin (lower, upper] when c > lower and
c <= upper; softmax in float32 as the harness computes it, sums in float64.
"""
import json
import sys

import torch
import torch.nn.functional as F


def main():
    data = json.load(open(sys.argv[1]))
    logits = torch.tensor(data["logits"], dtype=torch.float32)
    labels = torch.tensor(data["labels"], dtype=torch.int64)
    bins = int(data["bins"])
    probs = F.softmax(logits, dim=1)
    confidence, predicted = probs.max(dim=1)
    hits = predicted.eq(labels)
    nll = F.cross_entropy(logits.double(), labels, reduction="mean").item()
    onehot = F.one_hot(labels, logits.shape[1]).double()
    brier = (probs.double() - onehot).pow(2).sum(dim=1).mean().item()
    edges = torch.linspace(0, 1, bins + 1)
    ece, counts, conf, acc = 0.0, [], [], []
    for lower, upper in zip(edges[:-1], edges[1:]):
        inside = confidence.gt(lower) & confidence.le(upper)
        n = int(inside.sum())
        counts.append(n)
        if n:
            c = confidence[inside].double().mean().item()
            a = hits[inside].double().mean().item()
            ece += n / len(labels) * abs(a - c)
        else:
            c = a = 0.0
        conf.append(c)
        acc.append(a)
    print(json.dumps({"ece": ece, "nll": nll, "brier": brier, "counts": counts, "confidence": conf, "accuracy": acc}))


if __name__ == "__main__":
    main()
