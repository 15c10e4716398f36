"""torchvision's RandomResizedCrop.get_params with the draws it made, the anchor for the reader's crop geometry.

Usage: rrc_draws.py OUT
Writes one line per case to OUT: "W H n u_1 .. u_n i j h w": the image size, the values torch drew in order
(per try an area fraction and a log aspect ratio; on success the top and the left offsets) and the box
get_params returned. The draws are read back by replaying get_params' loop under the same seed; the replay
is checked against get_params itself, so the file holds what torchvision did.
"""
import math
import sys

import torch
from torchvision import transforms

SCALE, RATIO = (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0)


def replay(width, height):
    draws = []
    area = height * width
    log_ratio = torch.log(torch.tensor(RATIO))
    for _ in range(10):
        u = torch.empty(1).uniform_(SCALE[0], SCALE[1]).item()
        v = torch.empty(1).uniform_(log_ratio[0], log_ratio[1])
        draws += [u, v.item()]
        aspect = torch.exp(v).item()
        w = int(round(math.sqrt(area * u * aspect)))
        h = int(round(math.sqrt(area * u / aspect)))
        if 0 < w <= width and 0 < h <= height:
            i = torch.randint(0, height - h + 1, size=(1,)).item()
            j = torch.randint(0, width - w + 1, size=(1,)).item()
            return draws + [i, j], (i, j, h, w)
    return draws, None


def main(out):
    sizes = [(500, 375), (375, 500), (640, 480), (224, 224), (33, 17), (1200, 90), (90, 1200), (8, 8)]
    lines = []
    for width, height in sizes:
        for seed in range(60):
            torch.manual_seed(seed)
            box = transforms.RandomResizedCrop.get_params(torch.empty(3, height, width), SCALE, RATIO)
            torch.manual_seed(seed)
            draws, replayed = replay(width, height)
            assert replayed is None or tuple(replayed) == tuple(box), (width, height, seed, replayed, box)
            lines.append(" ".join(map(repr, [width, height, len(draws)] + draws + list(box))))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
