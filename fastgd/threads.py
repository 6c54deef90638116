"""CPU threads: how many a fit uses by default, and running a kernel with that many.

A multi-threaded fit synchronises its threads at every iteration (each adds up its own block
of rows, then one step is taken). If another process keeps one of the cores busy, the thread
that shares that core gets it only in the scheduler's time slices, and every iteration waits
for it: measured 8-20x *slower* than one thread on a 2-core machine with one core busy. So by
default a fit uses only the cores that are idle when it starts, as the kernel's run queue shows
them, and numba's thread count is an upper bound, never a target.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext

import numba

# numba's default "workqueue" threading layer aborts the whole process when two Python threads
# enter parallel code at once; parallel fits therefore take turns. Serial fits release the GIL
# and run side by side. Re-entrant: a solver that holds it may call a pass that takes it again
# (a plain Lock deadlocked there: the GLM solver around the moment pass).
_PARALLEL_LOCK = threading.RLock()


def numba_threads(threads):
    """A context that runs its body with numba's thread count set to `threads` (restored
    afterwards); for one thread, nothing to do (and nothing to pay on small fits).

    Parallel kernels of every CPU backend (the loop and the gram moment pass) take turns here.
    """
    return nullcontext() if threads == 1 else _parallel_threads(threads)


@contextmanager
def _parallel_threads(threads):
    with _PARALLEL_LOCK:
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            yield
        finally:
            numba.set_num_threads(previous)


def row_ranges(n, count):
    """`count` consecutive slices of n rows, as even as can be (range c: rows c n // count to
    (c + 1) n // count): the ranges of `in_ranges`' calls."""
    return [slice(c * n // count, (c + 1) * n // count) for c in range(count)]


def in_ranges(kernel, calls):
    """[kernel(*arguments) for arguments in calls], run at once: the first on this thread, each
    other on a thread of a pool (the kernels are nogil=True: they release the GIL).

    The one-pass kernels (the moment pass, the Newton pass, the fold and sparse products) run a
    range of rows per thread this way rather than in a numba prange: a parallel=True kernel
    compiles for 1.5-2 s on its first use (measured, the moment pass of 8 features on the 2-core
    machine), and this one runs the one-range kernel that a one-thread fit compiles anyway. Each
    call writes its own buffers, which the caller merges in a fixed order: the same bits for a
    thread count. A kernel called inside compiled code (the loop's pass at each step) cannot be
    run this way and stays a prange."""
    if len(calls) == 1:
        return [kernel(*calls[0])]
    pool = _pool(len(calls) - 1)
    others = [pool.submit(kernel, *arguments) for arguments in calls[1:]]
    try:
        first = kernel(*calls[0])
    finally:  # every range done before returning or raising: none writes the buffers later
        wait(others)
    return [first, *(call.result() for call in others)]


_POOL: list = []  # the pool of `in_ranges`, made on first use; replaced by a larger one if asked
_POOL_LOCK = threading.Lock()


def _forget_the_pool():
    """In a forked child: the parent's pool threads do not exist there, and a pool that thinks
    it has idle workers would wait for them forever (a multiprocessing fork's first parallel
    fit hung): the child makes its own."""
    global _POOL_LOCK
    _POOL.clear()
    _POOL_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_the_pool)


def _pool(workers):
    with _POOL_LOCK:
        if not _POOL or _POOL[0]._max_workers < workers:
            _POOL[:] = [ThreadPoolExecutor(max(workers, _cpu_count() - 1), "fastgd-range")]
        return _POOL[0]


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def runnable_elsewhere(path="/proc/loadavg", tasks="/proc/self/task"):
    """How many threads of other processes on this machine want a core right now, or None
    where unknown.

    Linux's /proc/loadavg has the number of runnable threads at this instant (4th field,
    "runnable/total"), this one included. Three readings, the median: a thread that wakes for
    a moment does not count. This process's own other threads that are runnable (/proc/self/
    task) are not counted either: BLAS's workers spin for a while after each of NumPy's matrix
    products (a Newton step's solve, the Hessian of a multinomial fit), and a fit that counted
    them ran on one thread of two, twice as long.
    """
    readings = []
    try:
        for _ in range(3):  # each reading with its own count of ours: they come and go
            with open(path) as file:
                runnable = int(file.read().split()[3].split("/")[0])
            readings.append(runnable - _runnable_here(tasks))
    except (OSError, IndexError, ValueError):
        return None
    return max(0, sorted(readings)[1] - 1)


def _runnable_here(tasks):
    """This process's threads other than the caller that are runnable now (state R in
    /proc/self/task/*/stat); 0 where that cannot be read."""
    me = str(threading.get_native_id())
    count = 0
    try:
        names = os.listdir(tasks)
    except OSError:
        return 0
    for name in names:
        if name == me:
            continue
        try:
            with open(os.path.join(tasks, name, "stat")) as file:
                count += file.read().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):
            continue  # a thread that ended meanwhile
    return count


def blas_on_one_thread():
    """A context in which NumPy's BLAS runs on the calling thread alone (threadpoolctl's, which
    scikit-learn brings; where it is missing, nothing changes). For solvers that alternate
    their own threaded passes with NumPy's matrix algebra: BLAS's workers spin for a while
    after each product, on the cores that the next pass's threads want (a multinomial fit's
    passes took 1.5x as long on 2 cores), while the solver's products are too small to gain
    from them."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def default_threads():
    """The threads a large fit uses when none are asked for: numba's thread count, less the
    cores that other work keeps busy right now (at least one)."""
    threads = numba.get_num_threads()
    busy = runnable_elsewhere()
    if busy is None:
        return threads
    return max(1, min(threads, _cpu_count() - busy))
