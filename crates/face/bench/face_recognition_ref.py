"""Reference enrolment throughput: the Python `face_recognition` package over the same images.

Usage: face_recognition_ref.py LIST_FILE [MODE] -> prints JSON {faces, images, seconds, mode}.
Per image: decode (load_image_file), HOG detection, 5-point landmarks and the ResNet descriptor
(face_encodings, model="small", num_jitters=1). MODE:
  default     the package as documented: face_locations' default of one upsample, every face
              found is encoded;
  repository  Probity's repository-photo policy in the package's own calls: no upsample, one
              upsample only when that finds no face, the largest face encoded.
"""
import json
import sys
import time

import face_recognition


def area(loc):
    top, right, bottom, left = loc
    return (bottom - top) * (right - left)


def main():
    paths = [p.strip() for p in open(sys.argv[1]) if p.strip()]
    mode = sys.argv[2] if len(sys.argv) > 2 else "default"
    if mode not in ("default", "repository"):
        sys.exit(f"unknown mode {mode!r}: use default or repository")
    faces = 0
    t = time.perf_counter()
    for p in paths:
        img = face_recognition.load_image_file(p)
        if mode == "default":
            locs = face_recognition.face_locations(img, number_of_times_to_upsample=1, model="hog")
        else:
            locs = face_recognition.face_locations(img, number_of_times_to_upsample=0, model="hog")
            if not locs:
                locs = face_recognition.face_locations(img, number_of_times_to_upsample=1, model="hog")
            locs = sorted(locs, key=area)[-1:]
        enc = face_recognition.face_encodings(img, known_face_locations=locs, num_jitters=1, model="small")
        faces += len(enc)
    print(json.dumps({"faces": faces, "images": len(paths), "seconds": time.perf_counter() - t, "mode": mode}))


if __name__ == "__main__":
    main()
