#!/usr/bin/env python3
"""Welch's t-test from scipy for the samples on stdin (JSON: [[a, b], ...]); prints [[t, df, p], ...]."""
import json
import sys

from scipy import stats

out = []
for a, b in json.load(sys.stdin):
    r = stats.ttest_ind(a, b, equal_var=False)
    va, vb = stats.tvar(a) / len(a), stats.tvar(b) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    out.append([float(r.statistic), float(df), float(r.pvalue)])
print(json.dumps(out))
