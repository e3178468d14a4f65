"""``manifest.csv``: one row per job of a batch, rewritten atomically whenever a job starts or ends.

It is the batch's record: what was asked (id, content, style, options), what
became of it (status, final J, steps, seconds, the node or, after a worker
died, the nodes it ran on in turn, the one-line error)
and the fingerprint that tells a rerun whether a done job still stands.
"""
import csv
import io
import os

from nst.algorithm.images import write_atomic
from nst.errors import NSTError

MANIFEST_FILE = "manifest.csv"
COLUMNS = ("id", "content", "style", "options", "status", "J", "steps", "seconds", "node", "error", "fingerprint")
STATUSES = ("done", "failed", "pending", "running")  # running: only while a batch is on


class Manifest:
    """The rows by job id, in the batch's order."""

    batch = None  # the ids of the batch running now, once known

    def __init__(self, folder, rows=None):
        self.path, self.rows = os.path.join(folder, MANIFEST_FILE), dict(rows or {})

    @classmethod
    def read(cls, folder):
        """The manifest an earlier batch left in ``folder`` (none: empty)."""
        manifest = cls(folder)
        if not os.path.exists(manifest.path):
            return manifest
        try:
            with open(manifest.path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise NSTError(f"{manifest.path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
        if reader.fieldnames is None or not {"id", "status", "fingerprint"} <= set(reader.fieldnames):
            raise NSTError(f"{manifest.path}: not a batch manifest (no id, status and fingerprint columns); "
                           "move it away or choose another output folder")
        manifest.rows = {row["id"]: {c: row.get(c) or "" for c in COLUMNS} for row in rows}
        return manifest

    def done(self, job_id, fingerprint):
        """Whether the job is done, for inputs and settings of this fingerprint."""
        row = self.rows.get(job_id, {})
        return row.get("status") == "done" and row.get("fingerprint") == fingerprint

    def same(self, job_id, fingerprint):
        """Whether the job's folder holds work on this fingerprint (so a checkpoint there may be resumed)."""
        return self.rows.get(job_id, {}).get("fingerprint") == fingerprint

    def set(self, job_id, **values):
        row = self.rows.setdefault(job_id, dict.fromkeys(COLUMNS, ""))
        row.update(id=job_id, **{k: _text(v) for k, v in values.items()})

    def focus(self, ids):
        """This batch's jobs first, in its order; other batches' rows in this folder are kept, after them."""
        self.batch = list(ids)
        self.rows = {**{i: self.rows[i] for i in ids if i in self.rows}, **self.rows}

    def batch_rows(self):
        """The rows of this batch's jobs (all rows before :meth:`focus`)."""
        ids = self.rows if self.batch is None else self.batch
        return [self.rows[i] for i in ids if i in self.rows]

    def counts(self):
        statuses = [row["status"] for row in self.batch_rows()]
        return {status: statuses.count(status) for status in STATUSES}

    def write(self):
        text = io.StringIO()
        writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows.values())
        try:
            write_atomic(self.path, text.getvalue().encode())
        except OSError as exc:
            raise NSTError(f"{self.path}: cannot write ({exc.strerror or exc})") from None


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.9g}"
    return " ".join(str(value).split())  # one line, whatever the error said
