#!/usr/bin/env python3
"""Training throughput of `harness train` against PyTorch's Python API on the same LibTorch.

Both train the same model (ResNet-18 of width 16, CIFAR stem, 1 input channel), with the same batch size,
the same data (the first --images Fashion-MNIST training images, random horizontal flip, normalised), the same
optimizer (SGD, Nesterov, weight decay 5e-4) and one-cycle schedule, and the same intra-op thread count. The
Python side is idiomatic: a Dataset with per-sample transforms, a DataLoader with one worker, torch.optim.SGD
(foreach) and OneCycleLR. The two alternate, each in a fresh process, --reps times; every line is one epoch's
images/s, and the last line is the median ratio harness / PyTorch (goal >= 0.97).

    .venv/bin/python benchmarks/bench_train_vs_pytorch.py --harness build/bin/harness --reps 3

On a GPU (--device cuda) the Python side pins its batches and copies them without blocking, as a tuned
PyTorch script would; both sides keep PyTorch's default cuDNN settings (TF32 convolutions, no autotuning).
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    import numpy as np
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def python_worker(args):
    import torch
    import torch.nn as nn
    from torchvision.models.resnet import BasicBlock, ResNet

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    images = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))[: args.images].copy())
    labels = torch.from_numpy(read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))[: args.images].astype("int64"))
    x = images.unsqueeze(1).float().div_(255)
    mean, std = x.mean().item(), x.std().item()

    class FashionMnist(torch.utils.data.Dataset):
        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            img = (x[i] - mean) / std
            if torch.rand(()) < 0.5:
                img = img.flip(-1)
            return img, labels[i]

    loader = torch.utils.data.DataLoader(FashionMnist(), batch_size=args.batch, shuffle=True, drop_last=True,
                                         num_workers=1, pin_memory=cuda)
    w = args.width
    model = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=10)
    model.inplanes = w
    model.conv1 = nn.Conv2d(1, w, 3, 1, 1, bias=False)
    model.bn1 = nn.BatchNorm2d(w)
    model.maxpool = nn.Identity()
    model.layer1 = model._make_layer(BasicBlock, w, 2)
    model.layer2 = model._make_layer(BasicBlock, 2 * w, 2, stride=2)
    model.layer3 = model._make_layer(BasicBlock, 4 * w, 2, stride=2)
    model.layer4 = model._make_layer(BasicBlock, 8 * w, 2, stride=2)
    model.fc = nn.Linear(8 * w, 10)
    model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=len(loader))
    model.train()
    seen, start = 0, time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(device, non_blocking=cuda), yb.to(device, non_blocking=cuda)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        sched.step()
        seen += len(yb)
    if cuda:
        torch.cuda.synchronize()
    print(json.dumps({"images_per_s": seen / (time.perf_counter() - start), "loss": loss.item()}))


def harness_run(args, out):
    subprocess.run([args.harness, "train", "--quiet", "--out", out,
                    "--set", f"dataset.subset={{\"mode\": \"first\", \"train\": {args.images}, \"test\": 512}}",
                    "--set", "model=resnet18", "--set", f"model_options.width={args.width}",
                    "--set", "epochs=1", "--set", f"batch_size={args.batch}", "--set", "augment.crop_padding=0",
                    "--set", f"threads={args.threads}", "--set", "loader_threads=1",
                    "--set", f"channels_last={'true' if args.channels_last else 'false'}",
                    "--set", f"device={args.device}", "--set", f"dataset.path={args.data}"], check=True)
    with open(os.path.join(out, "result.json")) as f:
        r = json.load(f)
    e = r["epochs"][0]
    step_time = e["seconds"]
    return e["images_per_s"], r["timing"]["data"] / step_time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--harness", default="build/bin/harness")
    ap.add_argument("--data", default=FMNIST)
    ap.add_argument("--images", type=int, default=12800)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (both sides)")
    ap.add_argument("--channels-last", action="store_true", help="harness side in channels_last")
    ap.add_argument("--python-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.python_worker:
        return python_worker(args)

    print(f"# {args.images} Fashion-MNIST images, batch {args.batch}, ResNet-18 width {args.width} (CIFAR stem), "
          f"{args.threads} threads, harness channels_last={args.channels_last}, device {args.device}")
    print(f"# {'rep':>3} {'harness img/s':>14} {'data share':>10} {'pytorch img/s':>14} {'ratio':>7}")
    ratios = []
    worker = [sys.executable, __file__, "--python-worker", "--data", args.data, "--images", str(args.images),
              "--batch", str(args.batch), "--threads", str(args.threads), "--width", str(args.width),
              "--device", args.device]
    for rep in range(args.reps):
        with tempfile.TemporaryDirectory() as tmp:
            ours, data_share = harness_run(args, os.path.join(tmp, "run"))
        theirs = json.loads(subprocess.run(worker, check=True, capture_output=True, text=True).stdout)["images_per_s"]
        ratios.append(ours / theirs)
        print(f"  {rep:>3} {ours:>14.1f} {100 * data_share:>9.2f}% {theirs:>14.1f} {ours / theirs:>7.3f}", flush=True)
    print(f"median ratio harness / pytorch: {statistics.median(ratios):.3f} (goal >= 0.97)")


if __name__ == "__main__":
    main()
