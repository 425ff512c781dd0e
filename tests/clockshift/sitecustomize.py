"""Started by every Python process that has this folder on PYTHONPATH: when
``CLOCK_SHIFT_SECONDS`` is set, moves this process's wall clock (time.time, datetime.now, ...)
that many seconds from the real one, ticking; monotonic clocks are left alone. Any other
``sitecustomize`` on the path runs after it, as it would have without this one."""

import os
import sys
from importlib.machinery import PathFinder

_shift = os.environ.get("CLOCK_SHIFT_SECONDS")
if _shift:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_shift), tick=True).start()
    time.time()  # ticking starts at the first reading

_here = os.path.dirname(os.path.abspath(__file__))
_spec = PathFinder.find_spec(
    __name__, [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
)
if _spec is not None and _spec.loader is not None:
    _spec.loader.exec_module(sys.modules[__name__])
