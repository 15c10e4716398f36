#!/usr/bin/env python3
"""Convert a torchvision ResNet state_dict into the weights file the harness loads (safetensors layout).

Offline and explicit: the user brings the file (e.g. torchvision's resnet152-*.pth from their own cache); nothing
is downloaded. Run it with the project's virtual environment:

    .venv/bin/python scripts/convert_torchvision.py resnet152-f82ba261.pth resnet152.safetensors --arch resnet152

The output keeps torchvision's tensor names (conv1.weight, layer1.0.bn1.running_mean, ..., fc.bias), which are the
harness's own names, and records the architecture in the metadata so a mismatch is caught when loading.
"""
import argparse
import json
import struct
import sys

import torch

# Blocks per stage: identifies the architecture from the keys present.
LAYOUTS = {
    "resnet18": [2, 2, 2, 2],
    "resnet34": [3, 4, 6, 3],
    "resnet50": [3, 4, 6, 3],
    "resnet101": [3, 4, 23, 3],
    "resnet152": [3, 8, 36, 3],
}
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}


def load_state_dict(path):
    obj = torch.load(path, map_location="cpu", weights_only=False)
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        sys.exit(f"{path}: not a state_dict (a mapping of names to tensors)")
    # Checkpoints saved from DataParallel/DDP prefix every name with "module.".
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in obj.items()}


def infer_arch(state):
    blocks = []
    for stage in range(1, 5):
        idx = {int(k.split(".")[1]) for k in state if k.startswith(f"layer{stage}.")}
        blocks.append(max(idx) + 1 if idx else 0)
    bottleneck = any(k.endswith(".conv3.weight") for k in state)
    for name, layout in LAYOUTS.items():
        if layout == blocks and (name in ("resnet18", "resnet34")) != bottleneck:
            return name
    return None


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype not in DTYPES:
            sys.exit(f"tensor {name}: dtype {t.dtype} not supported")
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    import os
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="torchvision state_dict (.pth) or a pickled torchvision model")
    ap.add_argument("output", help="weights file to write (.safetensors)")
    ap.add_argument("--arch", choices=sorted(LAYOUTS), help="expected architecture (inferred when omitted)")
    args = ap.parse_args()

    state = load_state_dict(args.input)
    arch = infer_arch(state)
    if arch is None:
        sys.exit(f"{args.input}: not a torchvision ResNet state_dict (no known layer layout)")
    if args.arch and args.arch != arch:
        sys.exit(f"{args.input}: holds a {arch}, not a {args.arch}")
    classes = state["fc.weight"].shape[0]
    in_channels = state["conv1.weight"].shape[1]
    stem = "imagenet" if state["conv1.weight"].shape[-1] == 7 else "cifar"
    write_safetensors(args.output, state, {"format": "acm-weights-v1", "source": "torchvision", "arch": arch,
                                           "num_classes": str(classes), "in_channels": str(in_channels),
                                           "stem": stem, "width": str(state["conv1.weight"].shape[0])})
    print(f"{args.output}: {arch}, {len(state)} tensors, {classes} classes, {stem} stem")


if __name__ == "__main__":
    main()
