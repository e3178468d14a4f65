"""``nst batch``: many style transfers, on the cores of this machine or the nodes of a Ray cluster.

jobs (what to run) -> manifest (what is done) -> cluster (Ray: workers that hold
the weights once; embedded Ray in a folder of its own, with a watchdog) -> work
(one job on a worker, through ``nst.run``) -> sheet (the contact sheet);
``progress`` is the bar; ``command`` ties them together for the command line.
"""
