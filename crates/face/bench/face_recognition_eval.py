"""Reference accuracy: the Python `face_recognition` package's own pipeline over the LFW copy.

Usage: face_recognition_eval.py OUT_DIR [FACES_DIR] [WORKERS]
Writes OUT_DIR/variants.txt and OUT_DIR/variants.f32 in the format of examples/variants.rs
(J = 0: per image the descriptor of the face and the descriptor of the mirrored image), so
`variants_eval.py OUT_DIR 0` scores them under exactly the protocol it scores Probity's with.

Per image, in the package's own calls: load_image_file (greyscale becomes three equal channels,
as in Probity), face_locations with HOG and one upsample, else the MMOD CNN, else a centre box;
the face nearest the image centre (as `eval::find_eval_face`); face_encodings with model="small"
(5-point landmarks, 150 px chip, padding 0.25) and num_jitters=1. The mirror descriptor is the
same call on the horizontally flipped image with the flipped box.
"""
import multiprocessing
import os
import sys
import time

import numpy as np

HOW = {"hog": 0, "cnn": 1, "centre": 2}


def central(locs, w, h):
    def d(loc):
        top, right, bottom, left = loc
        return ((left + right) / 2 - w / 2) ** 2 + ((top + bottom) / 2 - h / 2) ** 2
    return min(locs, key=d) if locs else None


def describe(path):
    import face_recognition
    img = face_recognition.load_image_file(path)
    h, w = img.shape[:2]
    loc = central(face_recognition.face_locations(img, number_of_times_to_upsample=1, model="hog"), w, h)
    how = "hog"
    if loc is None:
        loc = central(face_recognition.face_locations(img, number_of_times_to_upsample=1, model="cnn"), w, h)
        how = "cnn"
    if loc is None:
        # The same box as eval::find_eval_face: LFW crops hold the face in about the middle 40 %.
        loc = (int(h * 0.3), int(w * 0.7), int(h * 0.72), int(w * 0.3))
        how = "centre"
    top, right, bottom, left = loc
    plain = face_recognition.face_encodings(img, known_face_locations=[loc], model="small")[0]
    flipped = np.ascontiguousarray(img[:, ::-1])
    mloc = (top, w - 1 - left, bottom, w - 1 - right)
    mirror = face_recognition.face_encodings(flipped, known_face_locations=[mloc], model="small")[0]
    return HOW[how], np.stack([plain, mirror]).astype("<f4")


def main():
    out = sys.argv[1]
    faces = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.environ.get("PROBITY_TEST_DATA", os.path.join(os.path.dirname(__file__), "../../../../shared/data")), "faces")
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    lfw = os.path.join(faces, "lfw")
    keys, paths = [], []
    for name in sorted(os.listdir(lfw)):
        for f in sorted(os.listdir(os.path.join(lfw, name))):
            stem = os.path.splitext(f)[0]
            keys.append((name, int(stem.rsplit("_", 1)[1])))
            paths.append(os.path.join(lfw, name, f))
    os.makedirs(out, exist_ok=True)
    t = time.perf_counter()
    with multiprocessing.Pool(workers) as pool:
        results = []
        for i, r in enumerate(pool.imap(describe, paths, chunksize=8)):
            results.append(r)
            if (i + 1) % 500 == 0:
                print(f"{i + 1}/{len(paths)} images, {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    with open(os.path.join(out, "variants.txt"), "w") as lst, open(os.path.join(out, "variants.f32"), "wb") as bin_:
        for (name, number), (how, x) in zip(keys, results):
            lst.write(f"{name} {number} {how}\n")
            bin_.write(x.tobytes())
    print(f"{len(paths)} images in {time.perf_counter() - t:.0f} s on {workers} workers", file=sys.stderr)


if __name__ == "__main__":
    main()
