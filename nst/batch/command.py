"""``nst batch``: the command line of a batch, from its options to its manifest and contact sheet.

The batch's own options are parsed here; every other option is ``nst
train``'s, parsed and checked by ``nst.commands.train`` exactly as for one run, so a bad
one stops the batch before anything runs. Finished jobs whose fingerprint
still holds are skipped without starting Ray; the rest go to the workers.
Exit codes: 0 all done, 1 some jobs failed (their errors are in the
manifest), 2 bad options or inputs of the batch, or a file it could not
write (a full disk stops the batch), 130/143 stopped by Ctrl-C/SIGTERM
(run the same command again to continue).
"""
import argparse
import os
import shlex
import sys

from nst.algorithm.vgg import read_vgg_weights, resolve_weights_path
from nst.batch import jobs as joblist
from nst.batch.manifest import Manifest
from nst.commands import train
from nst.errors import EXIT_BAD_INPUT, NSTError, OneLineParser, report
from nst.run.interrupt import StopRequest, raise_on_signals, stop_on_signals
from nst.run.outputs import FINAL_IMAGE, RunFolder, prepare_output_dir

PROG = "nst batch"
REFUSED = {"resume": "a batch resumes its unfinished jobs itself: run the same command again",
           "logdir": "TensorBoard logs are for one run: use nst train --logdir on a job"}

EXAMPLES = """Every nst train option (nst train --help) applies to every job: --iterations, --max-side, --preset, ...

examples:
  nst batch --content photos/ --style starry.jpg scream.jpg --output stylised --max-side 512
  nst batch --jobs jobs.csv --output stylised --iterations 300     (columns: content, style, options)
  nst batch --content 'frames/*.png' --style wave.jpg --output clip --address 10.0.0.5:6379
  run the same command again to continue a stopped batch: finished jobs are skipped
"""


def build_parser(prog=PROG):
    p = OneLineParser(prog=prog, allow_abbrev=False, epilog=EXAMPLES,
                      formatter_class=argparse.RawDescriptionHelpFormatter,
                      description="Many style transfers: every content with every style, or the jobs of a CSV, "
                      "on this machine's cores or a Ray cluster; a folder per job and a manifest.")
    p.add_argument("--content", nargs="+", metavar="PATH", help="content images: files, folders or globs")
    p.add_argument("--style", nargs="+", metavar="PATH", help="style images: files, folders or globs")
    p.add_argument("--jobs", metavar="FILE.csv", help="one job per row instead: columns content, style and "
                   "optionally options (nst train options of that job only); paths relative to the CSV")
    p.add_argument("--output", metavar="DIR", required=True,
                   help="a folder per job, manifest.csv and contact_sheet.jpg go here")
    p.add_argument("--workers", type=int, metavar="N", help="jobs at a time (default: one per CPU of this "
                   "machine, or of the cluster with --address: measured faster than one job with all the cores)")
    p.add_argument("--threads", type=int, metavar="N", help="TensorFlow threads per worker (default: the "
                   "node's cores / its workers)")
    p.add_argument("--address", metavar="HOST:PORT", help="join this Ray cluster (or 'auto') instead of "
                   "starting Ray here")
    p.add_argument("--node-ip-address", metavar="IP", help="this machine's address in the cluster "
                   "(default without --address: 127.0.0.2, loopback only)")
    p.add_argument("--retries", type=int, default=3, metavar="N",
                   help="attempts of a job whose worker dies (default: 3)")
    p.add_argument("--overwrite", action="store_true", help="run every job again from the start")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def parse(argv, prog=PROG):
    """(batch options, the nst train options as typed, their settings: common to all jobs)."""
    args, rest = build_parser(prog).parse_known_args(argv)
    if bool(args.jobs) == bool(args.content or args.style):
        raise NSTError("give --content and --style (every pair is a job), or --jobs FILE.csv")
    if not args.jobs and not (args.content and args.style):
        raise NSTError(f"--{'style' if args.content else 'content'} is missing: a job needs both images")
    for name in ("workers", "threads", "retries"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise NSTError(f"--{name} must be positive, got {getattr(args, name)}")
    return args, rest, train_settings(rest, prog)


def train_settings(argv, prog):
    """nst train's settings from ``argv``, by nst train's own parser; the batch's options refused."""
    given = train.settings_of(vars(train.build_parser(prog).parse_args(list(argv))))
    given.pop("download", None)
    for setting, why in REFUSED.items():
        if setting in given:
            raise NSTError(f"{train.flag(setting)} does not apply to nst batch: {why}")
    return given


def job_config(common, job, output, vgg, prog):
    """The job's RunConfig: the common options, then its own, into its folder, with the batch's weights."""
    settings = dict(common)
    if job.options:
        settings.update(train_settings(job.options, prog))
    settings.update(content=job.content, style=(job.style,), output=os.path.join(output, job.id), quiet=True,
                    vgg=vgg)
    return train.configuration(settings)[0]


def make_jobs(args):
    if args.jobs:
        return joblist.name_jobs(joblist.read_jobs_csv(args.jobs))
    return joblist.name_jobs(joblist.cross(joblist.expand(args.content, "content"),
                                           joblist.expand(args.style, "style")))


def main(argv=None, prog=PROG):
    try:
        return _batch(sys.argv[1:] if argv is None else list(argv), prog)
    except NSTError as exc:
        return report(prog, exc, train.flag)


def _batch(argv, prog):
    from nst.batch import cluster

    args, typed, common = parse(argv, prog)
    cluster.import_ray()  # without Ray: the one line saying how to install it, before any work
    cluster.check_listening(args.address)
    train.configuration(dict(common, output=None))  # the common options checked once, before any job
    output = os.path.abspath(args.output)
    vgg = os.path.abspath(resolve_weights_path(common.get("vgg")))  # the key the workers' in-memory copy has
    weights = read_vgg_weights(vgg)
    jobs = make_jobs(args)
    prepare_output_dir(output)
    folder = RunFolder(output).claim({})  # one batch at a time in a folder
    try:
        return _run(args, typed, common, jobs, weights, output, prog)
    finally:
        folder.release()


def check_sheet(output, jobs, manifest):
    """Refuse, before any work, a contact_sheet.jpg that nst batch did not write (or that is an input)."""
    from nst.batch.sheet import SHEET_FILE

    path = os.path.join(output, SHEET_FILE)
    inputs = {os.path.abspath(p) for job in jobs for p in (job.content, job.style)}
    if os.path.exists(path) and (path in inputs or not manifest.rows):
        raise NSTError(f"{path}: exists and was not written by nst batch (the contact sheet goes there); "
                       "move it away or choose another --output")


def foreign_folder(output, job, manifest):
    """The error for a job whose folder holds files no batch of this folder made, else None."""
    folder = os.path.join(output, job.id)
    started_here = manifest.rows.get(job.id, {}).get("fingerprint")  # set when a worker starts the job
    if started_here or not os.path.isdir(folder) or not os.listdir(folder):
        return None
    return f"{folder}: already holds files no batch here made; move them away (they are left as they are)"


def write_sheet(output, jobs):
    """The contact sheet's path, or why there is none: the summary is printed either way."""
    from nst.batch.sheet import contact_sheet

    try:
        return contact_sheet(output, jobs)
    except (NSTError, OSError) as exc:
        return f"no contact sheet ({getattr(exc, 'strerror', None) or exc})"


def _run(args, typed, common, jobs, weights, output, prog):
    manifest, digest = Manifest.read(output), weights.digest()
    check_sheet(output, jobs, manifest)
    foreign = {job.id: foreign_folder(output, job, manifest) for job in jobs}
    manifest.focus([job.id for job in jobs])
    queue, fingerprints = [], {}
    for job in jobs:
        manifest.set(job.id, content=job.content, style=job.style, options=shlex.join([*typed, *job.options]))
        if foreign[job.id]:
            manifest.set(job.id, status="failed", error=foreign[job.id], J="", steps="", seconds="", node="")
            continue
        try:
            config = job_config(common, job, output, weights.path, prog)
        except NSTError as exc:
            manifest.set(job.id, status="failed", error=exc.message(train.flag), J="", steps="", seconds="", node="")
            continue
        fingerprints[job.id] = fp = joblist.fingerprint(config, digest)
        if not args.overwrite and manifest.done(job.id, fp) and os.path.exists(os.path.join(config.output,
                                                                                             FINAL_IMAGE)):
            continue
        same = not args.overwrite and manifest.same(job.id, fp)  # its folder's checkpoint may be continued
        queue.append((job, config, same))
        manifest.set(job.id, status="pending", **({} if same else dict(J="", steps="", seconds="", node="", error="")))
    manifest.write()
    record = Record(manifest, fingerprints)
    if queue:
        _work(args, queue, record, weights, len(jobs))
    for row in manifest.batch_rows():
        if row["status"] == "running":
            row["status"] = "pending"
    record.write()
    if record.failure:
        return _stopped(record, prog)
    return _summary(manifest, write_sheet(output, jobs), record.stop.signum, prog)


class Record:
    """The manifest as jobs start and end, the bar, and the first write that failed: the manifest's own, or a
    job's for want of space. That one stops the batch (every write after it would fail too), the running jobs
    saving what they can."""

    def __init__(self, manifest, fingerprints):
        self.manifest, self.fingerprints, self.bar = manifest, fingerprints, None
        self.stop, self.nodes, self.failure = StopRequest(), {}, None  # nodes: each job's, in order, this batch

    def started(self, job, node):
        self.nodes.setdefault(job.id, []).append(node)
        self.manifest.set(job.id, status="running", node=" ".join(self.nodes[job.id]),
                          fingerprint=self.fingerprints[job.id], error="")
        self.write()

    def finished(self, job, outcome):
        self.manifest.set(job.id, status=outcome.status, J=outcome.J, steps=outcome.steps, seconds=outcome.seconds,
                          error=outcome.error)
        if outcome.disk_full:
            self.fail(outcome.error)
        self.write(ended=job.id)

    def write(self, ended=None):
        try:
            self.manifest.write()
        except NSTError as exc:
            self.fail(str(exc))
        if self.bar:
            self.bar.update(self.manifest.counts(), ended)

    def fail(self, error):
        if self.failure is None:
            self.failure = error
            self.stop.request()


def _work(args, queue, record, weights, total):
    """Run the queue on Ray, until it is done or ``record.stop`` (a signal, a failed write) ends it."""
    from nst.batch import cluster
    from nst.batch.progress import JobsBar

    ray = cluster.import_ray()
    end_ray = cluster.connect(args.workers, args.address, args.node_ip_address)
    raise_on_signals()  # ray.init made SIGTERM exit with status 15; it is 143 with one line, as everywhere in nst
    pool = None
    try:
        size = min(len(queue), args.workers or cluster.cluster_cpus(ray))
        pool = cluster.Pool(ray, weights, size, args.threads, args.retries)
        record.bar = JobsBar(total, record.manifest.counts(), args.quiet)
        with stop_on_signals(record.stop) as stop:
            pool.run(queue, record.started, record.finished, stop, record.bar.progress)
    finally:
        if record.bar:
            record.bar.close()
            record.bar = None  # the manifest's last write draws no bar
        if pool:
            pool.close()
        if end_ray:
            end_ray()


def _stopped(record, prog):
    """The one line of a batch stopped by a failed write: what failed, what is kept, what to do."""
    counts = record.manifest.counts()
    print(f"{prog}: error: {record.failure}; the batch stopped with {counts['done']} done, {counts['failed']} "
          f"failed, {counts['pending']} pending (its manifest as last written); run the same command again once "
          "the output folder can be written (room on its disk)", file=sys.stderr)
    return EXIT_BAD_INPUT


def _summary(manifest, sheet, signum, prog):
    counts = manifest.counts()
    text = f"{sum(counts.values())} jobs: {counts['done']} done, {counts['failed']} failed, {counts['pending']} " \
           f"pending; {manifest.path}, {sheet}"
    if signum:
        import signal

        print(f"{prog}: interrupted ({signal.Signals(signum).name}): {text}; run the same command again to "
              "continue", file=sys.stderr)
        return 128 + signum
    print(text)
    failed = [row for row in manifest.batch_rows() if row["status"] == "failed"]
    for row in failed[:5]:
        print(f"{prog}: job {row['id']} failed: {row['error']}", file=sys.stderr)
    if len(failed) > 5:
        print(f"{prog}: ... and {len(failed) - 5} more failed jobs, see {manifest.path}", file=sys.stderr)
    return 1 if failed else 0
