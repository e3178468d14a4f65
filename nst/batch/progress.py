"""One progress bar over a batch's jobs: done, failed, the running jobs' steps, jobs per hour, the time left.

The workers' steps come in at every poll of the driver (``Pool.run``'s ``progress``), so the bar moves
inside a job, its clock runs and the time left follows the steps, not only the jobs that have ended.
"""
import time

from tqdm import tqdm

SHOWN = 4  # running jobs whose steps the bar names; more are counted
REFRESH_S = 1.0  # at most one line a second between jobs' starts and ends (a log file stays small)


class JobsBar:
    """tqdm over the jobs; the rate counts only the work done in this batch (not what was done before)."""

    def __init__(self, total, counts, quiet=False):
        self.total, self.start, self.first = total, time.time(), counts["done"] + counts["failed"]
        self.counts, self.steps, self.base, self.shown = counts, {}, {}, 0.0
        self.bar = None if quiet else tqdm(
            desc="nst batch", total=total, initial=self.first, unit="job", dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} jobs [{elapsed}{postfix}]")
        self.update(counts)

    def progress(self, steps):
        """The running jobs' {id: (first step, steps, iterations)}, as the workers last said."""
        self.steps = {job: (done, total) for job, (_, done, total) in steps.items()}
        for job, (first, _, total) in steps.items():
            self.base.setdefault(job, first / total)  # a resumed job's earlier steps are not this batch's
        if time.time() - self.shown >= REFRESH_S:
            self.update(self.counts)

    def update(self, counts, ended=None):
        """Draw the bar for these ``counts``; ``ended``, the id of a job that has just ended, has no steps now."""
        self.counts = counts
        self.steps.pop(ended, None)
        if self.bar is None:
            return
        finished = counts["done"] + counts["failed"]
        running = sum(done / total for done, total in self.steps.values())
        hours = (time.time() - self.start) / 3600
        gained = finished - self.first + running - sum(self.base.values())
        rate = gained / hours if hours > 0 and gained > 0 else 0.0
        left = tqdm.format_interval(max(0, self.total - finished - running) / rate * 3600) if rate > 0 else "?"
        self.bar.set_postfix_str(f"done {counts['done']}, failed {counts['failed']}, {self._running(counts)}, "
                                 f"{rate:.1f} jobs/h, {left} left", refresh=False)
        self.bar.update(finished - self.bar.n)
        self.bar.refresh()
        self.shown = time.time()

    def _running(self, counts):
        """'2 running: 37/200, 12/200 steps' (the steps of those whose workers have answered)."""
        steps = [f"{done}/{total}" for done, total in list(self.steps.values())[:SHOWN]]
        more = ", ..." if len(self.steps) > SHOWN else ""
        return f"{counts['running']} running" + (f": {', '.join(steps)}{more} steps" if steps else "")

    def close(self):
        if self.bar is not None:
            self.bar.close()
