"""The jobs of a batch: content x style (files, folders, globs) or the rows of a CSV, with their names.

A job is one ``nst train`` run: a content image, a style image and the
options of its own that a CSV row may add. Its id is its folder's name, made
from the two stems so a person can find it; two jobs with the same stems get a
short hash of their paths added. Its fingerprint digests the bytes of its
inputs and every setting that changes the result, so a rerun knows whether a
finished job is still what was asked.
"""
import csv
import glob
import hashlib
import json
import os
import re
import shlex
from typing import NamedTuple, Tuple

from nst.algorithm.images import IMAGE_EXTENSIONS
from nst.errors import NSTError
from nst.run.config import UNFINGERPRINTED

INPUT_EXTENSIONS = IMAGE_EXTENSIONS + (".gif",)  # what a folder's images are taken to be


class Job(NamedTuple):
    id: str  # the folder's name: content and style stems, unique in the batch
    content: str
    style: str
    options: Tuple[str, ...] = ()  # the job's own nst train options (a CSV row's)


def expand(patterns, what):
    """The image files that ``patterns`` name: files as given, a folder's images, a glob's matches."""
    files = []
    for pattern in patterns:
        if os.path.isdir(pattern):
            found = sorted(os.path.join(pattern, name) for name in os.listdir(pattern)
                           if name.lower().endswith(INPUT_EXTENSIONS))
        elif glob.has_magic(pattern):
            found = sorted(path for path in glob.glob(pattern) if not os.path.isdir(path))
        else:
            found = [pattern]  # a file as given: if it cannot be read, its jobs fail with the reason
        if not found:
            raise NSTError(f"{pattern}: no {what} images there")
        files += [os.path.abspath(path) for path in found]
    return list(dict.fromkeys(files))


def cross(contents, styles):
    """Every content with every style, content by content."""
    return [(c, s, ()) for c in contents for s in styles]


def read_jobs_csv(path):
    """(content, style, options) per row of a CSV with the columns content, style and optionally options.

    Relative paths are taken from the CSV's folder; options are nst train options as typed.
    """
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows, header = list(reader), reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise NSTError(f"{path}: cannot read the jobs ({getattr(exc, 'strerror', None) or exc})") from None
    if not rows:
        raise NSTError(f"{path}: no jobs (a header row with content,style then one row per job)")
    missing = [c for c in ("content", "style") if c not in header]
    if missing:
        raise NSTError(f"{path}: no {' or '.join(missing)} column (the header has {', '.join(header)})")
    folder = os.path.dirname(os.path.abspath(path))
    jobs = []
    for line, row in enumerate(rows, 2):
        if not (row["content"] or "").strip() or not (row["style"] or "").strip():
            raise NSTError(f"{path}:{line}: a job needs a content and a style")
        try:
            options = tuple(shlex.split(row.get("options") or ""))
        except ValueError as exc:
            raise NSTError(f"{path}:{line}: options: {exc}") from None
        jobs.append(tuple(os.path.join(folder, row[c].strip()) for c in ("content", "style")) + (options,))
    return jobs


def name_jobs(specs):
    """:class:`Job` s with readable ids, unique in the batch, the same for the same specs in any order."""
    def stem(path):
        return re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.splitext(os.path.basename(path))[0])[:40] or "image"

    names = [f"{stem(c)}--{stem(s)}" for c, s, _ in specs]
    jobs = []
    for name, (content, style, options) in zip(names, specs):
        if names.count(name) > 1:
            tag = hashlib.sha256(json.dumps([content, style, list(options)]).encode()).hexdigest()[:6]
            name = f"{name}-{tag}"
        jobs.append(Job(name, content, style, tuple(options)))
    ids = [job.id for job in jobs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise NSTError(f"the same job is asked twice: {duplicates[0]}")
    return jobs


def file_digest(path):
    """sha256 of a file's bytes; a file that cannot be read digests as its error (its job will fail)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    return digest.hexdigest()


def weights_digest(weights):
    """sha256 of the weights' arrays, by layer name: the same weights from any file or copy."""
    digest = hashlib.sha256(weights.mean_pixel.tobytes())
    for name in sorted(weights.convs):
        for array in weights.convs[name]:
            digest.update(name.encode() + array.tobytes())
    return digest.hexdigest()


def fingerprint(config, weights_sha):
    """A digest of what a job's result depends on: its input files' bytes, the weights, the settings."""
    settings = {k: v for k, v in config.to_dict().items() if k not in UNFINGERPRINTED}
    inputs = [file_digest(p) for p in (config.content, *config.style, config.init_image) if p]
    text = json.dumps([settings, inputs, weights_sha], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
