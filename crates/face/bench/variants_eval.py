"""Accuracy of test-time variants of the dlib descriptor (output of examples/variants.rs).

Usage: variants_eval.py VARIANTS_DIR J [FACES_DIR] -> one line per variant (or
`variants_eval.py DIR --margins M [FACES_DIR]` for examples/facenet_variants.rs with M margins): 5-fold verification
accuracy on pairs_dev.txt (threshold chosen on four folds), rank-1, rank-10 and FNIR at
FPIR 0.003 on the identification split of faces/README.md (gallery = lowest-numbered image per
fold identity + every distractor image; probes = every other image of fold identities). Float
scores (no i8 index): for choosing the engine's behaviour; `examples/eval.rs` gives the figures.
"""
import collections
import os
import sys

import numpy as np

d = sys.argv[1]
# `--margins M`: output of examples/facenet_variants.rs (512-D, plain and mirror per margin).
MARGINS = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--margins" else 0
J = 0 if MARGINS else int(sys.argv[2]) if len(sys.argv) > 2 else 0
faces_arg = 4 if MARGINS else 3
faces = sys.argv[faces_arg] if len(sys.argv) > faces_arg else os.path.join(
    os.environ.get("PROBITY_TEST_DATA", os.path.join(os.path.dirname(__file__), "../../../../shared/data")), "faces")
rows = [l.split() for l in open(f"{d}/variants.txt")]
keys = [(r[0], int(r[1])) for r in rows]
how = np.array([int(r[2]) for r in rows])
if MARGINS:
    X = np.fromfile(f"{d}/variants.f32", dtype="<f4").reshape(len(keys), 2 * MARGINS, 512)
else:
    X = np.fromfile(f"{d}/variants.f32", dtype="<f4").reshape(len(keys), 2 + J, 128)
idx = {k: i for i, k in enumerate(keys)}
print("images", len(keys), "found", collections.Counter(how.tolist()), "norms", np.linalg.norm(X[:,0],axis=1).mean(), np.linalg.norm(X[:,0],axis=1).std())
# pairs
L = open(os.path.join(faces, "pairs_dev.txt")).read().split("\n")
nf, n = map(int, L[0].split()); P = []
li = 1
for f in range(nf):
    for i in range(2*n):
        t = L[li].split("\t"); li += 1
        if len(t) == 3: P.append((f, (t[0], int(t[1])), (t[0], int(t[2])), 1))
        else: P.append((f, (t[0], int(t[1])), (t[2], int(t[3])), 0))
fold = np.array([p[0] for p in P]); same = np.array([p[3] for p in P])
ia = np.array([idx[p[1]] for p in P]); ib = np.array([idx[p[2]] for p in P])
folds_ids = set(p[1][0] for p in P) | set(p[2][0] for p in P)
ids = collections.defaultdict(list)
for k in keys: ids[k[0]].append(k[1])
gal, prb = [], []
for name in sorted(ids):
    nums = sorted(ids[name])
    if name in folds_ids:
        gal.append((name, nums[0])); prb += [(name, x) for x in nums[1:]]
    else:
        gal += [(name, x) for x in nums]
gi = np.array([idx[g] for g in gal]); pi = np.array([idx[p] for p in prb])
gname = np.array([g[0] for g in gal]); pname = np.array([p[0] for p in prb])

def best_thr(s, y):
    o = np.argsort(s); s2 = s[o]; y2 = y[o]
    # threshold between s2[i] and s2[i+1]: below -> different
    correct = y2.sum() + np.cumsum(np.where(y2 == 1, -1, 1))
    best = np.argmax(correct)
    if correct[best] <= y2.sum(): return s2[0] - 1e-3
    return (s2[best] + s2[min(best + 1, len(s2) - 1)]) / 2

def verif(sc):
    accs = []
    for f in range(nf):
        tr = fold != f
        t = best_thr(sc[tr], same[tr])
        te = fold == f
        accs.append(((sc[te] >= t) == (same[te] == 1)).mean())
    return np.mean(accs), np.std(accs, ddof=1)

def ident(G, Q, euclid=False):
    if euclid:
        S = -(np.sum(Q**2,1)[:,None] + np.sum(G**2,1)[None,:] - 2 * Q @ G.T)
    else:
        S = Q @ G.T
    mate = gname[None, :] == pname[:, None]
    ms = np.where(mate, S, -np.inf).max(1)
    ns = np.where(mate, -np.inf, S).max(1)
    rank = 1 + (np.where(mate, -np.inf, S) > ms[:, None]).sum(1)
    r1 = (rank == 1).mean(); r10 = (rank <= 10).mean()
    non = np.sort(ns)[::-1]; thr = np.nextafter(non[int(0.003 * len(non))], np.inf)
    fnir = 1 - ((rank == 1) & (ms >= thr)).mean()
    return r1, r10, fnir

def norm(v): return v / np.linalg.norm(v, axis=-1, keepdims=True)
def report(name, E, euclid=False):
    if euclid:
        sc = -np.linalg.norm(E[ia] - E[ib], axis=1)
    else:
        sc = np.sum(E[ia] * E[ib], 1)
    a, s = verif(sc)
    r1, r10, fn = ident(E[gi], E[pi], euclid)
    print(f"{name:40s} verif {100*a:.2f} ± {100*s:.2f}  rank1 {100*r1:.2f} rank10 {100*r10:.2f} FNIR@FPIR.003 {100*fn:.2f}", flush=True)

if MARGINS:
    widths = np.array([float(r[3]) for r in rows])
    print("detector box width: median", np.median(widths), "5-95 %", np.percentile(widths, [5, 95]))
    for m in range(MARGINS):
        report(f"margin {m} cosine", X[:, 2 * m])
        report(f"margin {m} mirror only cosine", X[:, 2 * m + 1])
        report(f"margin {m} + mirror cosine", norm(X[:, 2 * m] + X[:, 2 * m + 1]))
    if MARGINS > 1:
        report("all margins + mirrors cosine", norm(X.sum(1)))
    sys.exit(0)

raw = X[:, 0]
report("plain cosine", norm(raw))
report("plain euclid raw", raw, True)
report("mirror avg cosine", norm(X[:, 0] + X[:, 1]))
report("mirror avg euclid", (X[:, 0] + X[:, 1]) / 2, True)
report("mirror only cosine", norm(X[:, 1]))
for j in range(1, J + 1):
    if j in (1, 2, 4, J):
        report(f"jitter {j} mean cosine", norm(X[:, 2:2 + j].sum(1)))
if J:
    report(f"plain+mirror+jitter{J} cosine", norm(X.sum(1)))
    # Jitter on the probe side only (the repository keeps chip + mirror): the first image of
    # each verification pair and every identification probe.
    G = norm(X[:, 0] + X[:, 1]); Q = norm(X.sum(1))
    a, s = verif(np.sum(Q[ia] * G[ib], 1))
    r1, r10, fn = ident(G[gi], Q[pi])
    print(f"{'probe-only jitter' + str(J) + ' cosine':40s} verif {100*a:.2f} ± {100*s:.2f}  rank1 {100*r1:.2f} rank10 {100*r10:.2f} FNIR@FPIR.003 {100*fn:.2f}", flush=True)
# Centring on the mean descriptor of the distractor identities (in no fold, no probe).
dis = np.array([k[0] not in folds_ids for k in keys])
mu = X[dis, 0].mean(0)
report("plain centred (distractor mean) cos", norm(raw - mu))
report("mirror avg centred cos", norm(X[:, 0] + X[:, 1] - 2 * mu))
