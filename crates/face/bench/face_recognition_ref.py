"""Reference enrolment throughput: the Python `face_recognition` package over the same images.

Usage: face_recognition_ref.py LIST_FILE -> prints JSON {faces, images, seconds}.
Per image: decode (load_image_file), HOG detection with one upsample (face_locations default),
5-point landmarks and the ResNet descriptor (face_encodings, model="small", num_jitters=1):
the same work as Probity's enrolment.
"""
import json
import sys
import time

import face_recognition


def main():
    paths = [p.strip() for p in open(sys.argv[1]) if p.strip()]
    faces = 0
    t = time.perf_counter()
    for p in paths:
        img = face_recognition.load_image_file(p)
        locs = face_recognition.face_locations(img, number_of_times_to_upsample=1, model="hog")
        enc = face_recognition.face_encodings(img, known_face_locations=locs, num_jitters=1, model="small")
        faces += len(enc)
    print(json.dumps({"faces": faces, "images": len(paths), "seconds": time.perf_counter() - t}))


if __name__ == "__main__":
    main()
