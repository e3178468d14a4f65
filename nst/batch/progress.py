"""One progress bar over a batch's jobs: done, failed, running, jobs per hour and the time left."""
import time

from tqdm import tqdm


class JobsBar:
    """tqdm over the jobs; the rate counts only the jobs that end in this batch (not those done before)."""

    def __init__(self, total, counts, quiet=False):
        self.total, self.start, self.first = total, time.time(), counts["done"] + counts["failed"]
        self.bar = None if quiet else tqdm(
            desc="nst batch", total=total, initial=self.first, unit="job", dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} jobs [{elapsed}{postfix}]")
        self.update(counts)

    def update(self, counts):
        if self.bar is None:
            return
        ended = counts["done"] + counts["failed"]
        hours = (time.time() - self.start) / 3600
        rate = (ended - self.first) / hours if hours > 0 else 0.0
        left = tqdm.format_interval((self.total - ended) / rate * 3600) if rate > 0 else "?"
        self.bar.set_postfix_str(f"done {counts['done']}, failed {counts['failed']}, running {counts['running']}, "
                                 f"{rate:.1f} jobs/h, {left} left", refresh=False)
        self.bar.update(ended - self.bar.n)
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()
