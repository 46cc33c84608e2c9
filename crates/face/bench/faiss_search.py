"""FAISS reference for crates/face/benches/search.rs: the same gallery and queries, the same K.

Usage: faiss_search.py GALLERY.npy QUERIES.npy K [M EF_CONSTRUCTION [NLIST TRAIN_ROWS]]
-> prints one JSON object.
IndexFlatIP: exact inner product (the templates are L2-normalised, so cosine).
IndexHNSWFlat (M, efConstruction as given, default 16 and 100; inner product; M=0 skips it):
efSearch raised until recall@K >= 0.99 against IndexFlatIP.
IndexIVFFlat (NLIST lists trained on TRAIN_ROWS random rows, inner product; NLIST=0 skips it):
nprobe raised until recall@K >= 0.99. Every (parameter, recall, p50) point is reported.
Queries are issued one at a time, as an investigator's search is.
"""
import json
import sys
import time

import faiss
import numpy as np


def main():
    gallery = np.load(sys.argv[1], mmap_mode="r")
    queries = np.load(sys.argv[2])
    k = int(sys.argv[3])
    m = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    efc = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    nlist = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    train_rows = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    xb = np.ascontiguousarray(gallery, dtype=np.float32)
    d = xb.shape[1]
    out = {"threads": faiss.omp_get_max_threads(), "n": int(xb.shape[0])}

    flat = faiss.IndexFlatIP(d)
    flat.add(xb)
    lat, truth = [], []
    for q in queries:
        q = q.reshape(1, -1)
        t = time.perf_counter()
        _, ids = flat.search(q, k)
        lat.append((time.perf_counter() - t) * 1e3)
        truth.append(set(ids[0].tolist()))
    out["flat_p50_ms"] = float(np.percentile(lat, 50))
    out["flat_p99_ms"] = float(np.percentile(lat, 99))
    del flat

    def sweep(index, setter, values):
        curve = []
        for v in values:
            setter(v)
            lat, hit = [], 0
            for q, tr in zip(queries, truth):
                q = q.reshape(1, -1)
                t = time.perf_counter()
                _, ids = index.search(q, k)
                lat.append((time.perf_counter() - t) * 1e3)
                hit += len(tr.intersection(ids[0].tolist()))
            recall = hit / (k * len(queries))
            curve.append([v, recall, float(np.percentile(lat, 50))])
            if recall >= 0.99:
                break
        return curve

    if nlist > 0:
        t = time.perf_counter()
        quantiser = faiss.IndexFlatIP(d)
        ivf = faiss.IndexIVFFlat(quantiser, d, nlist, faiss.METRIC_INNER_PRODUCT)
        rows = np.random.default_rng(7).choice(xb.shape[0], min(train_rows or xb.shape[0], xb.shape[0]), replace=False)
        ivf.train(xb[np.sort(rows)])
        ivf.add(xb)
        out["ivf_nlist"], out["ivf_build_s"] = nlist, time.perf_counter() - t

        def set_nprobe(v):
            ivf.nprobe = v

        out["ivf_curve"] = sweep(ivf, set_nprobe, [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512])
        del ivf

    if m <= 0:
        print(json.dumps(out))
        return

    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = efc
    out["hnsw_m"], out["hnsw_ef_construction"] = m, efc
    hnsw.add(xb)
    out["hnsw_build_s"] = time.perf_counter() - t

    def set_ef(v):
        hnsw.hnsw.efSearch = v

    out["hnsw_curve"] = sweep(hnsw, set_ef, [64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048])
    out["hnsw_ef"], out["hnsw_recall"], out["hnsw_p50_ms"] = out["hnsw_curve"][-1]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
