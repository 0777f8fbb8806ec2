"""The learner's weights as a bundle carries them, checked with the standard library alone.

The layout is the learner's (`trainer/model` builds on these names): an `.npz` archive of
`w_pi.npy`, the policy's hashed table of FEATURES float64 scalars, `w_v.npy`, the value's of
VALUE_FEATURES, and `w_mu.npy`, the meaning table (MEANING_SLOTS x MEANING_DIMENSIONS; all
zeros for a policy that reads words alone); with a sentence encoder, `references.npy` too,
what its training requests mean (float16, one row per request). None depends on the scenario's
tools: every tool is scored through the same tables, by its name and description. The API
checks an imported bundle's weights against it before storing anything, so a trainer that is
later asked to load them (to evaluate or act, for any tenant) never meets an object array, a
shape it does not expect, or an archive that inflates without bound: each member's header is
parsed without numpy, and its data is inflated in bounded chunks and counted.
"""

from __future__ import annotations

import ast
import io
import math
import struct
import zipfile

from agentgym.errors import BundleError
from agentgym.unzip import read_member

LEARNER_NAME = "agentgym-hashed-policy/7"
# Learners whose bundles this one cannot read (their layout or scoring differs): retrain those.
OLDER_LEARNERS = frozenset(
    {
        "agentgym-linear-actor-critic/1",
        "agentgym-hashed-actor-critic/2",
        "agentgym-hashed-actor-critic/3",
        "agentgym-hashed-actor-critic/4",
        "agentgym-hashed-policy/5",
        "agentgym-hashed-policy/6",  # its meaning table's rows were not read after the last call
    }
)
FEATURES = 1 << 20  # scalars of the policy's hashed table (a power of two)
VALUE_FEATURES = 1 << 16  # scalars of the value's hashed table (a power of two)
MEANING_SLOTS = 1 << 12  # rows of the meaning table, hashed from (action, phase, last call) ...
MEANING_DIMENSIONS = 384  # ... each a weight per dimension of the encoder's embedding
DTYPE = "<f8"  # the learner writes float64, little-endian
# With a sentence encoder, what its training requests mean (float16 unit rows, at most
# MAX_REFERENCES of them): what a request's scope is measured against.
REFERENCES = "references.npy"
REFERENCES_DTYPE = "<f2"
MAX_REFERENCES = 8192
PARAMS = ("w_pi", "w_v", "w_mu")
MAGIC = b"\x93NUMPY"
MAX_HEADER = 4096  # numpy's own headers are ~128 bytes


def layout() -> dict[str, tuple[int, ...]]:
    """Each member of a policy's weights, and its shape: the same for any scenario (the
    tables are hashed, so its number of tools does not size them)."""
    return {
        "w_pi.npy": (FEATURES,),
        "w_v.npy": (VALUE_FEATURES,),
        "w_mu.npy": (MEANING_SLOTS, MEANING_DIMENSIONS),
    }


def check(data: bytes, learner: str) -> None:
    """Raise BundleError unless `data` is exactly this learner's weights."""
    if learner in OLDER_LEARNERS:
        raise BundleError(
            f"this model was trained by an older learner ({learner}) whose weights this trainer "
            f"cannot read; retrain it (the current learner is {LEARNER_NAME})"
        )
    if learner != LEARNER_NAME:
        raise BundleError(f"weights of learner {learner!r} cannot be loaded; use {LEARNER_NAME}")
    wanted = layout()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))  # shares `data`, no copy
    except zipfile.BadZipFile:
        raise BundleError("the weights are not an .npz archive") from None
    with archive:
        names = archive.namelist()
        if sorted(set(names) - {REFERENCES}) != sorted(wanted) or len(set(names)) != len(names):
            raise BundleError(
                f"the weights hold {sorted(names)}; this learner's hold exactly {sorted(wanted)}"
                f" (and {REFERENCES}, with a sentence encoder)"
            )
        for info in archive.infolist():
            references = info.filename == REFERENCES
            header_size, shape = _check_header(
                archive, info, REFERENCES_DTYPE if references else DTYPE
            )
            if references:
                if len(shape) != 2 or shape[1] != MEANING_DIMENSIONS or shape[0] > MAX_REFERENCES:
                    raise BundleError(
                        f"weights member {REFERENCES} has shape {shape}; this learner's is "
                        f"(n, {MEANING_DIMENSIONS}), n at most {MAX_REFERENCES}"
                    )
            elif shape != wanted[info.filename]:
                raise BundleError(
                    f"weights member {info.filename} has shape {shape}; "
                    f"this learner's is {wanted[info.filename]}"
                )
            item = 2 if references else 8
            size = header_size + item * math.prod(shape)
            if info.file_size != size:
                raise BundleError(
                    f"weights member {info.filename} claims {info.file_size} bytes; "
                    f"a {shape} array takes {size}"
                )
            read_member(archive, info, size, f"weights member {info.filename}", keep=False)


def _check_header(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, dtype: str
) -> tuple[int, tuple[int, ...]]:
    """Check a member's .npy header (dtype, order, shape); returns the header's length and the
    array's shape."""
    where = f"weights member {info.filename}"
    try:
        with archive.open(info) as member:
            head = member.read(10)
            if len(head) < 10 or head[:6] != MAGIC:
                raise BundleError(f"{where} is not a .npy array")
            major = head[6]
            if major == 1:
                (length,), start = struct.unpack("<H", head[8:10]), 10
            elif major in (2, 3):
                (length,), start = struct.unpack("<I", head[8:10] + member.read(2)), 12
            else:
                raise BundleError(f"{where} has .npy format version {major}")
            if length > MAX_HEADER:
                raise BundleError(f"{where} has a header of {length} bytes")
            text = member.read(length).decode("latin-1")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BundleError(f"{where} is damaged: {exc}") from None
    try:
        header = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise BundleError(f"{where} has an unreadable .npy header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise BundleError(f"{where} has an unreadable .npy header")
    if header["descr"] != dtype:
        raise BundleError(f"{where} holds {header['descr']!r}; the learner's are {dtype}")
    shape = header["shape"]
    if header["fortran_order"] is not False or not (
        isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)
    ):
        raise BundleError(f"{where} has an unreadable .npy header")
    return int(start + length), shape
