"""``nst train`` that stops still once its first checkpoint is on disk.

For the resume tests: the test kills this process with SIGKILL at that known
point. It prints one line when the checkpoint is written, then sleeps.
"""
import sys
import time

import nst.run.consumers
from nst.commands import train as cli

write_checkpoint = nst.run.consumers.write_checkpoint


def write_then_wait(*args, **kwargs):
    write_checkpoint(*args, **kwargs)
    print("checkpoint written", flush=True)
    time.sleep(600)


nst.run.consumers.write_checkpoint = write_then_wait
sys.exit(cli.main(sys.argv[1:]))
