"""Ray: the engine that spreads a batch's jobs over workers, on this machine or on a cluster's nodes.

Embedded by default: ``ray.init`` starts Ray here with one CPU per worker, no
dashboard, every address on loopback (Ray would put 127.0.0.1 on the
machine's outward address; 127.0.0.2 keeps every socket inside
127.0.0.0/8), and its files in a folder of its own (``nst.batch.embedded``).
With an address it joins a running cluster. A worker is a long-lived actor
that gets the VGG-19 weights once from Ray's object store (the driver puts
them once; a node's workers share its copy in memory) and runs jobs one
after another with its share of the node's cores, telling the driver its
job's steps when asked. A worker that dies (process killed, node gone)
costs no job: the :class:`Pool` gives the job to another worker, where it
resumes from its checkpoint, and starts a replacement worker that joins
when the cluster has room for it.
"""
import logging
import os
import socket
import time

from nst.batch.embedded import Embedded
from nst.errors import NSTError

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # Ray would report usage to its makers: no traffic out
os.environ.setdefault("RAY_agent_register_timeout_ms", "120000")  # a node's agents start slowly on a busy machine
INSTALL_HINT = 'Ray is not installed; nst batch needs it: pip install -e ".[cluster]" (or pip install "ray>=2.9")'
LOOPBACK = "127.0.0.2"  # the embedded node's address: inside 127.0.0.0/8, but not the 127.0.0.1 Ray rewrites
POLL_SECONDS = 0.5  # how often the driver looks at a stop request while it waits on workers
STOP_WAIT_SECONDS = 300  # how long stopped workers may take to save their jobs


def import_ray():
    try:
        import ray
    except ImportError:
        raise NSTError(INSTALL_HINT) from None
    return ray


PROBE_TIMEOUT_S = 5


def check_listening(address):
    """Refuse at once a HOST:PORT where nothing answers (Ray itself would wait minutes, deaf to SIGTERM)."""
    if address in (None, "auto") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise NSTError(f"--address {address}: give HOST:PORT of the cluster's head (or 'auto')")
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        raise NSTError(f"--address {address}: nothing answers there ({exc.strerror or exc}); start the head "
                       f"with `ray start --head --port {port}`, or leave --address out to run here") from None


def connect(workers=None, address=None, node_ip_address=None, attempts=2):
    """Start embedded Ray or join ``address``; returns what ends it (call it) when this call started it, else None.

    A Ray already started in this process (a notebook, the tests) is used as it is. A start that
    fails is tried again: on a busy machine Ray's node can miss its own start-up deadline once.
    """
    ray = import_ray()
    if ray.is_initialized():
        return None
    check_listening(address)
    embedded = None if address else Embedded()
    try:
        _init(ray, workers, address, node_ip_address, embedded, attempts)
    except BaseException:
        if embedded:
            embedded.close()
        raise
    return lambda: _end(ray, embedded)


def _init(ray, workers, address, node_ip_address, embedded, attempts):
    quiet = dict(log_to_driver=False, logging_level=logging.ERROR)
    for attempt in range(attempts):
        try:
            if address:
                ray.init(address=address, _node_ip_address=node_ip_address, **quiet)
            else:
                # "local": a Ray of our own, never a cluster that `ray start` left running on this machine
                ray.init(address="local", num_cpus=workers or os.cpu_count(), include_dashboard=False,
                         _node_ip_address=node_ip_address or LOOPBACK, _temp_dir=embedded.folder, **quiet)
            return
        except Exception as exc:  # Ray raises plain Exceptions for a node that did not come up
            ray.shutdown()
            if attempt + 1 == attempts or isinstance(exc, KeyboardInterrupt):
                where = f"the Ray cluster at {address}" if address else "embedded Ray"
                raise NSTError(f"cannot start or reach {where}: {' '.join(str(exc).split())[:300]}") from None


def _end(ray, embedded):
    ray.shutdown()
    if embedded:
        embedded.close()


class Worker:
    """A Ray actor: the weights once, TensorFlow's threads set once, then jobs one after another."""

    def __init__(self, weights, threads=None):
        import ray

        from nst.algorithm import vgg
        from nst.algorithm.tf1 import tf
        from nst.run.interrupt import StopRequest

        self.node = ray.util.get_node_ip_address()
        self.threads = threads or node_threads(ray)
        tf.config.threading.set_intra_op_parallelism_threads(self.threads)
        tf.config.threading.set_inter_op_parallelism_threads(self.threads)
        vgg.use_weights(weights)
        self.stop_request, self.count = StopRequest(), None

    def info(self):
        return self.node, self.threads, os.getpid()

    def run(self, config, may_resume):
        from nst.batch.work import Outcome, StepCount, run_job

        if self.stop_request.requested:
            return Outcome("pending")
        self.count = StepCount(config.iterations)
        try:
            return run_job(config, may_resume, self.stop_request, [self.count])
        finally:
            self.count = None  # the job's steps are no one's once it has ended

    def progress(self):
        """The running job's (first step, steps, iterations), asked beside ``run``: a call to an actor works on
        any node."""
        return self.count and self.count.answer()

    def stop(self, signum):
        """Ask the running job to checkpoint and end (runs beside ``run``: the actor has two threads)."""
        self.stop_request.request(signum)


def node_threads(ray):
    """This worker's share of its node's cores: the cores over the node's Ray CPUs (one per worker)."""
    node = ray.get_runtime_context().get_node_id()
    cpus = next((n["Resources"].get("CPU", 1) for n in ray.nodes() if n["NodeID"] == node), 1)
    return max(1, (os.cpu_count() or 1) // max(1, int(cpus)))


def cluster_cpus(ray):
    return int(ray.cluster_resources().get("CPU", 1))


class Pool:
    """Workers on the cluster and the jobs given to them; worker deaths retried elsewhere."""

    def __init__(self, ray, weights, size, threads=None, retries=3):
        self.ray, self.retries, self.threads = ray, retries, threads
        self.actor_class = ray.remote(num_cpus=1, max_restarts=0, max_concurrency=2)(Worker)
        self.weights = ray.put(weights)  # once: each node's workers share its copy
        self.starting, self.idle, self.busy, self.node = {}, [], {}, {}
        self.asked, self.steps = {}, {}  # progress asked: its answer's ref -> the run's ref; the runs' answers
        self.failures, self.ready_once = 0, False
        for _ in range(size):
            self._start_worker()

    def _start_worker(self):
        actor = self.actor_class.remote(self.weights, self.threads)
        self.starting[actor.info.remote()] = actor

    def run(self, queue, started, finished, stop, progress=None):
        """Give the ``queue``'s (job, config, may_resume) to workers until all end or ``stop`` is requested.

        ``started(job, node)`` and ``finished(job, outcome)`` report, and ``progress({job id: (first step,
        steps, iterations)})`` at every poll; a job whose worker died ``retries`` times fails with that reason.
        """
        queue, attempts, deadline = list(queue), {}, None
        while queue and not stop.requested or self.busy:
            if stop.requested and deadline is None:
                deadline = time.time() + STOP_WAIT_SECONDS
                for ref, (actor, _) in self.busy.items():
                    actor.stop.remote(stop.signum)
            if deadline and time.time() > deadline:
                break
            while queue and self.idle and not stop.requested:
                actor = self.idle.pop(0)
                item = queue.pop(0)
                self.busy[actor.run.remote(item[1], item[2])] = (actor, item)
                started(item[0], self.node[actor])
            refs = list(self.starting) + list(self.busy)
            if not refs:
                raise NSTError("no Ray worker could start (does the cluster have a free CPU?)")
            ready, _ = self.ray.wait(refs, num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                if ref in self.starting:
                    self._joined(ref)
                else:
                    self._ended(ref, queue, attempts, finished)
            if progress:
                progress(self._steps())

    def _steps(self):
        """{job id: (first step, steps, iterations)} of the running jobs, as their workers last answered; each
        busy worker is asked again (its answer comes in by a later poll: the driver never waits on it)."""
        answered = self.ray.wait(list(self.asked), num_returns=len(self.asked), timeout=0)[0] if self.asked else []
        for ref in answered:
            run = self.asked.pop(ref)
            try:
                steps = self.ray.get(ref)
            except self.ray.exceptions.RayError:  # its worker died: _ended deals with its job
                continue
            if run in self.busy:
                self.steps[run] = steps
        for run, (actor, _) in self.busy.items():
            if run not in self.asked.values():
                self.asked[actor.progress.remote()] = run
        return {item[0].id: self.steps[run] for run, (_, item) in self.busy.items() if self.steps.get(run)}

    def _joined(self, ref):
        actor = self.starting.pop(ref)
        try:
            self.node[actor] = self.ray.get(ref)[0]
        except self.ray.exceptions.RayError as exc:
            self.failures += 1
            if not self.ready_once and not self.busy and not self.starting:
                raise NSTError(f"Ray workers cannot start: {_first_line(exc)}") from None
            if self.failures <= 10 * (len(self.node) + 1):
                self._start_worker()
            return
        self.ready_once = True
        self.idle.append(actor)

    def _ended(self, ref, queue, attempts, finished):
        actor, item = self.busy.pop(ref)
        self.steps.pop(ref, None)
        job = item[0]
        try:
            outcome = self.ray.get(ref)
        except (self.ray.exceptions.RayActorError, self.ray.exceptions.WorkerCrashedError,
                self.ray.exceptions.ObjectLostError) as exc:
            attempts[job.id] = attempts.get(job.id, 0) + 1
            self.node.pop(actor, None)
            self._start_worker()  # a replacement, which joins when the cluster has room
            if attempts[job.id] < self.retries:
                queue.insert(0, (job, item[1], True))  # first in line; it resumes from its checkpoint
                return
            from nst.batch.work import Outcome

            outcome = Outcome("failed", error=f"its worker died {attempts[job.id]} times, last: {_first_line(exc)}")
            finished(job, outcome)
            return
        except self.ray.exceptions.RayError as exc:  # the job's code failed outside run_job's own handling
            from nst.batch.work import Outcome

            outcome = Outcome("failed", error=_first_line(exc))
        self.idle.append(actor)
        finished(job, outcome)

    def close(self):
        for actor in [*self.starting.values(), *self.idle, *(a for a, _ in self.busy.values())]:
            self.ray.kill(actor)


def _first_line(exc):
    return " ".join(str(exc).strip().splitlines()[0].split())[:300] if str(exc).strip() else type(exc).__name__
