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
PyTorch script would; both sides keep PyTorch's default cuDNN settings (TF32 convolutions, no autotuning)
unless --cudnn-benchmark. --precision bf16 puts forward under autocast on both sides (the loss in fp32),
--both-channels-last both models and inputs in channels_last, --model resnet50 --stem imagenet --synthetic 224
the ImageNet shape on random images (the same on both sides, generated in memory). --cuda-graph replays the
harness's step as one CUDA graph (`cuda_graph: true`) against PyTorch's eager step: the goal there is ≥ 1.3×.
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


def python_data(args):
    """The training images (N×C×H×W float, normalised) and labels, as both sides see them."""
    import torch
    if args.synthetic:
        g = torch.Generator().manual_seed(0)
        n, size = args.images, args.synthetic
        labels = torch.randint(0, args.classes, (n,), generator=g)
        x = torch.rand(n, 3, size, size, generator=g)
        return (x - 0.5) / 0.25, labels
    images = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))[: args.images].copy())
    labels = torch.from_numpy(read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))[: args.images].astype("int64"))
    x = images.unsqueeze(1).float().div_(255)
    return (x - x.mean()) / x.std(), labels


def python_model(args, channels, classes):
    import torch.nn as nn
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
    block, layers = (Bottleneck, [3, 4, 6, 3]) if args.model == "resnet50" else (BasicBlock, [2, 2, 2, 2])
    w = args.width
    model = ResNet(block, layers, num_classes=classes, width_per_group=64)
    model.inplanes = w
    if args.stem == "cifar":
        model.conv1 = nn.Conv2d(channels, w, 3, 1, 1, bias=False)
        model.maxpool = nn.Identity()
    else:
        model.conv1 = nn.Conv2d(channels, w, 7, 2, 3, bias=False)
    model.bn1 = nn.BatchNorm2d(w)
    model.layer1 = model._make_layer(block, w, layers[0])
    model.layer2 = model._make_layer(block, 2 * w, layers[1], stride=2)
    model.layer3 = model._make_layer(block, 4 * w, layers[2], stride=2)
    model.layer4 = model._make_layer(block, 8 * w, layers[3], stride=2)
    model.fc = nn.Linear(8 * w * block.expansion, classes)
    return model


def python_worker(args):
    import torch
    import torch.nn as nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    x, labels = python_data(args)
    classes = args.classes if args.synthetic else 10

    class Images(torch.utils.data.Dataset):
        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            img = x[i]
            if torch.rand(()) < 0.5:
                img = img.flip(-1)
            return img, labels[i]

    loader = torch.utils.data.DataLoader(Images(), batch_size=args.batch, shuffle=True, drop_last=True,
                                         num_workers=args.python_workers, pin_memory=cuda)
    model = python_model(args, x.shape[1], classes).to(device)
    memory_format = torch.channels_last if args.both_channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=len(loader))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16")
    model.train()
    seen, start = 0, time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(device, non_blocking=cuda), yb.to(device, non_blocking=cuda)
        xb = xb.contiguous(memory_format=memory_format)
        opt.zero_grad()
        with autocast:
            logits = model(xb)
        loss = nn.functional.cross_entropy(logits.float(), yb)
        loss.backward()
        opt.step()
        sched.step()
        seen += len(yb)
    if cuda:
        torch.cuda.synchronize()
    print(json.dumps({"images_per_s": seen / (time.perf_counter() - start), "loss": loss.item()}))


def harness_run(args, out):
    if args.synthetic:
        data = (f"dataset={{\"name\": \"synthetic\", \"train_size\": {args.images}, \"test_size\": 256, "
                f"\"channels\": 3, \"height\": {args.synthetic}, \"width\": {args.synthetic}, "
                f"\"classes\": {args.classes}}}")
        sets = ["--set", data]
    else:
        sets = ["--set", f"dataset.subset={{\"mode\": \"first\", \"train\": {args.images}, \"test\": 512}}",
                "--set", f"dataset.path={args.data}"]
    channels_last = args.channels_last or args.both_channels_last
    subprocess.run([args.harness, "train", "--quiet", "--out", out, *sets,
                    "--set", f"model={args.model}", "--set", f"model_options.width={args.width}",
                    "--set", f"model_options.stem={args.stem}",
                    "--set", "epochs=1", "--set", f"batch_size={args.batch}", "--set", "augment.crop_padding=0",
                    "--set", f"threads={args.threads}", "--set", f"loader_threads={args.loader_threads}",
                    "--set", f"channels_last={'true' if channels_last else 'false'}",
                    "--set", f"precision={args.precision}",
                    "--set", f"cudnn_benchmark={'true' if args.cudnn_benchmark else 'false'}",
                    "--set", f"device={args.device}"]
                   + (["--set", "cuda_graph=true"] if args.cuda_graph else []), check=True)
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
    ap.add_argument("--both-channels-last", action="store_true", help="both sides in channels_last")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="autocast on both sides")
    ap.add_argument("--cudnn-benchmark", action="store_true", help="cuDNN's autotuner on both sides")
    ap.add_argument("--cuda-graph", action="store_true", help="harness side: the step as one CUDA graph")
    ap.add_argument("--model", default="resnet18", choices=["resnet18", "resnet50"])
    ap.add_argument("--stem", default="cifar", choices=["cifar", "imagenet"])
    ap.add_argument("--synthetic", type=int, default=0, help="random 3×N×N images instead of Fashion-MNIST")
    ap.add_argument("--classes", type=int, default=1000, help="classes of the synthetic data")
    ap.add_argument("--loader-threads", type=int, default=1, help="harness loader threads")
    ap.add_argument("--python-workers", type=int, default=1, help="DataLoader workers")
    ap.add_argument("--python-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.python_worker:
        return python_worker(args)

    data = f"synthetic 3x{args.synthetic}x{args.synthetic}" if args.synthetic else "Fashion-MNIST"
    print(f"# {args.images} {data} images, batch {args.batch}, {args.model} width {args.width} ({args.stem} stem), "
          f"{args.threads} threads, {args.precision}, channels_last harness={args.channels_last or args.both_channels_last} "
          f"python={args.both_channels_last}, cudnn.benchmark={args.cudnn_benchmark}, harness cuda_graph={args.cuda_graph}, "
          f"device {args.device}")
    print(f"# {'rep':>3} {'harness img/s':>14} {'data share':>10} {'pytorch img/s':>14} {'ratio':>7}")
    ratios = []
    worker = [sys.executable, __file__, "--python-worker", "--data", args.data, "--images", str(args.images),
              "--batch", str(args.batch), "--threads", str(args.threads), "--width", str(args.width),
              "--device", args.device, "--precision", args.precision, "--model", args.model, "--stem", args.stem,
              "--synthetic", str(args.synthetic), "--classes", str(args.classes),
              "--python-workers", str(args.python_workers)]
    worker += ["--both-channels-last"] if args.both_channels_last else []
    worker += ["--cudnn-benchmark"] if args.cudnn_benchmark else []
    for rep in range(args.reps):
        with tempfile.TemporaryDirectory() as tmp:
            ours, data_share = harness_run(args, os.path.join(tmp, "run"))
        theirs = json.loads(subprocess.run(worker, check=True, capture_output=True, text=True).stdout)["images_per_s"]
        ratios.append(ours / theirs)
        print(f"  {rep:>3} {ours:>14.1f} {100 * data_share:>9.2f}% {theirs:>14.1f} {ours / theirs:>7.3f}", flush=True)
    print(f"median ratio harness / pytorch: {statistics.median(ratios):.3f} (goal >= 0.97)")


if __name__ == "__main__":
    main()
