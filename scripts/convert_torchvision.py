#!/usr/bin/env python3
"""Convert a torchvision ResNet, DenseNet or EfficientNet state_dict into the weights file the harness loads.

Offline and explicit: the user brings the file (e.g. torchvision's resnet152-*.pth from their own cache); nothing
is downloaded. Run it with the project's virtual environment:

    .venv/bin/python scripts/convert_torchvision.py resnet152-f82ba261.pth resnet152.safetensors --arch resnet152

The output is the safetensors layout. ResNet and DenseNet keep torchvision's tensor names (conv1.weight,
layer1.0.bn1.running_mean, features.denseblock1.denselayer1.conv1.weight, ...), which are the harness's own;
EfficientNet's are renamed to the harness's (features.1.0.block.1.0.weight -> features.stage1.0.dw_conv.weight). The
architecture is recorded in the metadata so a mismatch is caught when loading.
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
# Dense layers per block (torchvision's densenet121/169/201; k = 32, 64 stem channels).
DENSENETS = {"densenet121": [6, 12, 24, 16], "densenet169": [6, 12, 32, 32], "densenet201": [6, 12, 48, 32]}
# MBConv blocks per stage and the head's channels: B0's stages scaled by each variant's depth and width.
EFFICIENTNETS = {
    "efficientnet_b0": ([1, 2, 2, 3, 3, 4, 1], 1280), "efficientnet_b1": ([2, 3, 3, 4, 4, 5, 2], 1280),
    "efficientnet_b2": ([2, 3, 3, 4, 4, 5, 2], 1408), "efficientnet_b3": ([2, 3, 3, 5, 5, 6, 2], 1536),
    "efficientnet_b4": ([2, 4, 4, 6, 6, 8, 2], 1792), "efficientnet_b5": ([3, 5, 5, 7, 7, 9, 3], 2048),
    "efficientnet_b6": ([3, 6, 6, 8, 8, 11, 3], 2304), "efficientnet_b7": ([4, 7, 7, 10, 10, 13, 4], 2560),
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
    if "features.denseblock1.denselayer1.conv1.weight" in state:
        layers = [len({k.split(".")[2] for k in state if k.startswith(f"features.denseblock{b}.")}) for b in range(1, 5)]
        growth = state["features.denseblock1.denselayer1.conv2.weight"].shape[0]
        for name, layout in DENSENETS.items():
            if layout == layers and growth == 32:
                return name
        return None
    if "features.1.0.block.0.0.weight" in state:
        stages = [len({k.split(".")[2] for k in state if k.startswith(f"features.{s}.")}) for s in range(1, 8)]
        head = state["features.8.0.weight"].shape[0] if "features.8.0.weight" in state else 0
        for name, (layout, channels) in EFFICIENTNETS.items():
            if layout == stages and channels == head:
                return name
        return None
    blocks = []
    for stage in range(1, 5):
        idx = {int(k.split(".")[1]) for k in state if k.startswith(f"layer{stage}.")}
        blocks.append(max(idx) + 1 if idx else 0)
    bottleneck = any(k.endswith(".conv3.weight") for k in state)
    for name, layout in LAYOUTS.items():
        if layout == blocks and (name in ("resnet18", "resnet34")) != bottleneck:
            return name
    return None


def efficientnet_names(state):
    """torchvision's EfficientNet names -> the harness's (models/efficientnet.cpp)."""
    last = max(int(k.split(".")[1]) for k in state if k.startswith("features."))
    out = {}
    for k, v in state.items():
        p = k.split(".")
        if p[0] == "classifier":  # Sequential(Dropout, Linear)
            out["classifier." + p[2]] = v
            continue
        stage = int(p[1])
        if stage in (0, last):  # stem and head: Conv2dNormActivation(conv, bn, act)
            part = ("stem_" if stage == 0 else "head_") + ("conv" if p[2] == "0" else "norm")
            out["features." + part + "." + ".".join(p[3:])] = v
            continue
        # features.S.L.block.K...: K = (expand,) depthwise, squeeze-excitation, projection
        layer, k_idx, rest = p[2], int(p[4]), p[5:]
        expanded = f"features.{stage}.{layer}.block.3.0.weight" in state
        role = (["expand", "dw", "se", "project"] if expanded else ["dw", "se", "project"])[k_idx]
        if role == "se":  # SqueezeExcitation(fc1, fc2)
            name = "se_" + rest[0] + "." + ".".join(rest[1:])
        else:  # Conv2dNormActivation(conv, bn[, act])
            name = role + ("_conv." if rest[0] == "0" else "_norm.") + ".".join(rest[1:])
        out[f"features.stage{stage}.{layer}.{name}"] = v
    return out


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
    ap.add_argument("--arch", choices=sorted(LAYOUTS) + sorted(DENSENETS) + sorted(EFFICIENTNETS),
                    help="expected architecture (inferred when omitted)")
    args = ap.parse_args()

    state = load_state_dict(args.input)
    arch = infer_arch(state)
    if arch is None:
        sys.exit(f"{args.input}: not a torchvision ResNet, DenseNet-121/169/201 or EfficientNet-B0..B7 state_dict "
                 "(no known layer layout)")
    if args.arch and args.arch != arch:
        sys.exit(f"{args.input}: holds a {arch}, not a {args.arch}")
    if arch.startswith("resnet"):
        first, head, width = state["conv1.weight"], state["fc.weight"], state["conv1.weight"].shape[0]
    elif arch.startswith("densenet"):
        first, head, width = state["features.conv0.weight"], state["classifier.weight"], state["features.conv0.weight"].shape[0]
    else:
        state = efficientnet_names(state)
        # ModelSpec::width 64 is the published network (widths scale by width / 64).
        first, head, width = state["features.stem_conv.weight"], state["classifier.weight"], 64
    classes, in_channels = head.shape[0], first.shape[1]
    # The ImageNet stem: a 7x7 first convolution (ResNet, DenseNet) or a stride-2 3x3 (EfficientNet, whose
    # torchvision form has no other).
    stem = "imagenet" if first.shape[-1] == 7 or arch.startswith("efficientnet") else "cifar"
    write_safetensors(args.output, state, {"format": "acm-weights-v1", "source": "torchvision", "arch": arch,
                                           "num_classes": str(classes), "in_channels": str(in_channels),
                                           "stem": stem, "width": str(width)})
    print(f"{args.output}: {arch}, {len(state)} tensors, {classes} classes, {stem} stem")


if __name__ == "__main__":
    main()
