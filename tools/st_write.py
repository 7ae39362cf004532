"""A tiny, dependency-free safetensors writer shared by the converter scripts in tools/.

The safetensors format (https://github.com/huggingface/safetensors) is simple enough to write by
hand:

    8 bytes    N, the length of the header, as an unsigned 64-bit little-endian integer
    N bytes    the header: a JSON object, UTF-8, padded with spaces (we pad to a multiple of 8 so
               the data that follows is 8-byte aligned)
                 { "__metadata__": {"key": "value", ...},            (optional, strings only)
                   "<tensor name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
                   ... }
    the rest   the tensors' bytes, back to back, row-major (C order), little-endian; each tensor's
               data_offsets are relative to the start of this part

The file is written to a temporary file in the destination's directory and renamed into place at
the end, so an interrupted run never leaves a partial file under the final name.
"""

import json
import os
import struct
import tempfile

# Bytes per element of the dtypes the project reads (SPEC section 4), plus a few common ones.
DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "U8": 1}


def write_safetensors(path, tensors, metadata=None):
    """Writes `tensors` to the safetensors file `path`, atomically.

    tensors:  a list of (name, dtype, shape, data): dtype one of DTYPE_SIZES ("F32", ...), shape a
              list of ints, data any bytes-like object (bytes, a C-contiguous little-endian numpy
              array, ...) holding exactly prod(shape) * size(dtype) bytes. Written in list order.
    metadata: an optional dict of str -> str, stored as "__metadata__".
    """
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError(f"metadata must map strings to strings, got {k!r}: {v!r}")
        header["__metadata__"] = dict(metadata)

    views = []
    offset = 0
    for name, dtype, shape, data in tensors:
        if name in header:
            raise ValueError(f"duplicate tensor name {name!r}")
        if dtype not in DTYPE_SIZES:
            raise ValueError(f"tensor {name!r}: unsupported dtype {dtype!r}")
        shape = [int(d) for d in shape]
        count = 1
        for d in shape:
            if d < 0:
                raise ValueError(f"tensor {name!r}: negative dimension in {shape}")
            count *= d
        view = memoryview(data).cast("B")  # raises for non-contiguous buffers
        expected = count * DTYPE_SIZES[dtype]
        if view.nbytes != expected:
            raise ValueError(
                f"tensor {name!r}: shape {shape} {dtype} needs {expected} bytes, got {view.nbytes}"
            )
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + expected]}
        views.append(view)
        offset += expected

    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(head)))
            f.write(head)
            for view in views:
                f.write(view)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file 0600; give it the mode a normal file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_safetensors_header(path):
    """Returns the parsed JSON header of a safetensors file (handy for checks and tests)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))
