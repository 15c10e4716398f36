#!/usr/bin/env python3
"""The anchors for results/stats.cpp, from scipy and statsmodels (versions pinned by scripts/setup).

Reads JSON on stdin: {"welch": [[a, b], ...], "means": [v, ...], "holm": [[p, ...], ...], "quantiles": [[q, df], ...]}
and prints {"welch": [[t, df, p, ci_low, ci_high], ...], "means": [[ci_low, ci_high], ...], "holm": [[...], ...],
"quantiles": [t, ...], "versions": {...}} with 95 % intervals throughout.
"""
import json
import sys

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests

inp = json.load(sys.stdin)
out = {"welch": [], "means": [], "holm": [], "quantiles": [],
       "versions": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__}}
for a, b in inp["welch"]:
    r = stats.ttest_ind(a, b, equal_var=False)
    ci = r.confidence_interval(0.95)
    out["welch"].append([float(r.statistic), float(r.df), float(r.pvalue), float(ci.low), float(ci.high)])
for v in inp["means"]:
    lo, hi = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    out["means"].append([float(lo), float(hi)])
for p in inp["holm"]:
    out["holm"].append([float(x) for x in multipletests(p, method="holm")[1]])
for q, df in inp["quantiles"]:
    out["quantiles"].append(float(stats.t.ppf(q, df)))
print(json.dumps(out))
