"""The jobs of a batch: content x style (files, folders, globs) or the rows of a CSV, with their names.

A job is one ``nst train`` run: a content image, a style image and the
options of its own that a CSV row may add. Its id is its folder's name: a
CSV row's name, or the two stems so a person can find it; jobs that share
the stems get their options added, then a hash as long as it takes. Its fingerprint digests the bytes of its
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
from nst.run.config import NO_MASK, UNFINGERPRINTED
from nst.run.masks import mask_files

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


# nst train options a CSV row may not set: the batch decides where each job reads and writes.
ROW_REFUSED = ("--output", "--vgg", "--content", "--style")


def _row_options(path, line, text):
    """The row's options as typed, refusing those the batch sets itself (also as abbreviations or ``=``)."""
    try:
        options = tuple(shlex.split(text or ""))
    except ValueError as exc:
        raise NSTError(f"{path}:{line}: options: {exc}") from None
    for option in options:
        name = option.split("=", 1)[0]
        refused = [r for r in ROW_REFUSED if len(name) > 3 and r.startswith(name)]
        if option.startswith("--") and refused:
            raise NSTError(f"{path}:{line}: {refused[0]} cannot be set in a row: the batch gives each job its "
                           "inputs from the row's columns, its folder and the weights itself")
    return options


def read_jobs_csv(path):
    """(content, style, options, name) per row of a CSV with the columns content, style, options and name.

    Relative paths are taken from the CSV's folder; options are nst train options as typed; name (optional)
    is the job's folder.
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
        name = (row.get("name") or "").strip()
        if name and (_slug(name) != name or name.startswith(".")):
            raise NSTError(f"{path}:{line}: name '{name}' is not a plain folder name (letters, digits, . _ -)")
        paths = tuple(os.path.join(folder, row[c].strip()) for c in ("content", "style"))
        options = _row_paths(_row_options(path, line, row.get("options")), folder)
        jobs.append(paths + (options, name or None))
    return jobs


# Options of a row whose values are files: relative ones are taken from the CSV's folder, as its columns are.
ROW_PATHS = ("--style-masks", "--style-source-masks")


def _row_paths(options, folder):
    """``options`` with the relative files of ROW_PATHS made the CSV folder's ('none' kept)."""
    def located(value):
        return value if value == NO_MASK or os.path.isabs(value) else os.path.join(folder, value)

    out, taking = [], False
    for option in options:
        name, equals, value = option.partition("=")
        if option.startswith("--"):
            taking = name in ROW_PATHS
            out.append(f"{name}={located(value)}" if taking and equals else option)
        else:
            out.append(located(option) if taking else option)
    return tuple(out)


def _slug(text, limit=40):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:limit].strip("_")


def _stem(path):
    return _slug(os.path.splitext(os.path.basename(path))[0]) or "image"


def _tag(spec, length):
    return hashlib.sha256(json.dumps([spec[0], spec[1], list(spec[2])]).encode()).hexdigest()[:length]


def _unique(names, specs):
    """``names`` made unique: a shared name gets what differs (the options), then a hash long enough."""
    names = [f"{n}--{_slug(' '.join(o.lstrip('-') for o in spec[2]), 60)}" if names.count(n) > 1 and spec[2] else n
             for n, spec in zip(names, specs)]
    length = 8
    while True:
        shared = {n for n in names if names.count(n) > 1}
        tagged = [f"{n}-{_tag(spec, length)}" if n in shared else n for n, spec in zip(names, specs)]
        if len(set(tagged)) == len(tagged) or length >= 64:
            return tagged
        length *= 2  # two different jobs whose short hashes met: a longer one tells them apart


def name_jobs(specs):
    """:class:`Job` s with readable ids, unique in the batch, the same for the same specs in any order.

    A spec is (content, style, options) or, from a CSV, (content, style, options, name).
    """
    specs = [(c, s, tuple(o), *rest) for c, s, o, *rest in specs]
    identical = [spec[:3] for spec in specs]
    repeated = sorted({_stem(s[0]) + "--" + _stem(s[1]) for s in identical if identical.count(s) > 1})
    if repeated:
        raise NSTError(f"the same job is asked twice: {repeated[0]}")
    given = [spec[3] if len(spec) > 3 else None for spec in specs]
    named = [n for n in given if n]
    clash = sorted({n for n in named if named.count(n) > 1})
    if clash:
        raise NSTError(f"two jobs are named {clash[0]}: each name column value must be unique")
    names = _unique([g or f"{_stem(c)}--{_stem(s)}" for g, (c, s, *_) in zip(given, specs)], specs)
    return [Job(name, c, s, o) for name, (c, s, o, *_) in zip(names, specs)]


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


def fingerprint(config, weights_sha):
    """A digest of what a job's result depends on: its input files' bytes, the weights, the settings."""
    settings = {k: v for k, v in config.to_dict().items() if k not in UNFINGERPRINTED}
    inputs = [file_digest(p) for p in (config.content, *config.style, config.init_image, *mask_files(config)) if p]
    text = json.dumps([settings, inputs, weights_sha], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
