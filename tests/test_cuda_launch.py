"""The CUDA launches fastgd chooses, checked against the hardware's limits, without a GPU.

numba-cuda's simulator ignores shared-memory limits, grid limits and the memory model, so the
CUDA tests that run kernels cannot see a launch that a GPU refuses or a fence that is missing.
Here, for every kernel and every launch configuration fastgd can choose -- d from 1 to 10**5
(with the widths where static and dynamic shared memory once reached exactly 48 KB), every
block size from a warp to 1 024 threads, few rows and 10**9 -- on an H100's numbers (132
multiprocessors, 228 KB of shared memory each; the moments' kernels up to d = 6 000):

- static shared memory (read from the kernel's sm_90 PTX) + dynamic <= 48 KB;
- threads per block <= 1 024; grid x <= 2**31 - 1, y and z <= 65 535;

and the PTX shows the memory model's fences: the last block of a pass fences after the atomic
that tells it it is last and before it reads the other blocks' rows, and the store of the
host-visible stop flag is followed by a system-scope fence.
"""

import importlib.util
import re
import textwrap
from types import SimpleNamespace

import pytest
import tiers
from fresh import run_python

if importlib.util.find_spec("numba_cuda") is None:
    pytest.skip(
        'numba-cuda is not installed (python3 -m pip install -e ".[cuda]")', allow_module_level=True
    )

from fastgd import _config, cuda, cuda_kernels

SHARED_LIMIT = 48 * 1024
GRID_X, GRID_YZ = 2**31 - 1, 65_535
# The widths at which a pass at 256 threads filled its dynamic shared memory to exactly 48 KB,
# so that the static bytes tipped it over (issue 25), and others up to 10**5.
WIDTHS = sorted({*range(1, 70), 86, 87, 126, 127, 174, 175, 254, 255, 350, 351, 1000, 5774,
                 5775, 6000, 20_000, 100_000})  # fmt: skip
BLOCK_SIZES = [32, 64, 128, 256, 512, 1024]
# The moments' kernels up to this width: beyond it the (d + 2)-square moments themselves (3 GB
# at 20 000 features) outgrow what a fit can hold, on the host and the device.
MOMENTS_MAX_WIDTH = 6_000
ROWS = [1, 1000, 10**9]


@pytest.fixture(scope="module")
def ptx():
    """{kernel name: its sm_90 PTX} (and sm_80's too in the full tier), from a fresh interpreter
    without the simulator: compile_ptx needs the real numba-cuda, no GPU."""
    script = textwrap.dedent(
        """
        import json, sys
        from numba import cuda
        from fastgd import cuda_kernels

        out = {}
        for cc in CCS:
            for kernel, signature in cuda_kernels.ptx_signatures():
                ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=cc)
                assert ".entry" in ptx and f".target sm_{cc[0]}{cc[1]}" in ptx, kernel
                out.setdefault(f"{kernel.py_func.__name__}@sm_{cc[0]}{cc[1]}", []).append(ptx)
        json.dump(out, sys.stdout)
        """
    ).replace("CCS", "((8, 0), (9, 0))" if tiers.FULL else "((9, 0),)")
    done = run_python(script, drop=("NUMBA_ENABLE_CUDASIM",), timeout=600)
    assert done.returncode == 0, done.stderr
    import json

    return json.loads(done.stdout)


def test_every_kernel_compiles_to_ptx(ptx):
    kernels = {
        name
        for name, value in vars(cuda_kernels).items()
        if hasattr(value, "py_func") and not name.startswith("_")
    }
    assert {name.split("@")[0] for name in ptx} == kernels
    assert all(name.endswith("@sm_90") or tiers.FULL for name in ptx)


def _static_shared_bytes(text):
    """The bytes of a PTX's static .shared arrays (the dynamic one, `.extern`, is sized later)."""
    declared = re.findall(
        r"^\s*(?:\.visible\s+)?\.shared\s+(?:\.align\s+\d+\s+)?\.(\w+)\s+\S+\[(\d+)\]", text, re.M
    )
    element = {"b8": 1, "u8": 1, "b32": 4, "u32": 4, "f32": 4, "b64": 8, "u64": 8, "f64": 8}
    return sum(int(n) * element.get(w, 8) for w, n in declared)


def test_static_shared_memory_fits_the_reserve(ptx):
    for name, texts in ptx.items():
        for text in texts:
            assert _static_shared_bytes(text) <= cuda_kernels.STATIC_SHARED_BYTES, name
    # The reserve is needed: the pass kernels do have a static array (`_finish_pass`'s flag).
    assert _static_shared_bytes(ptx["partial_sums_many_features@sm_90"][0]) > 0


@pytest.fixture
def h100(monkeypatch):
    device = SimpleNamespace(
        MULTIPROCESSOR_COUNT=132, MAX_SHARED_MEMORY_PER_MULTIPROCESSOR=228 * 1024
    )
    monkeypatch.setattr(
        cuda, "_numba_cuda", lambda: SimpleNamespace(get_current_device=lambda: device)
    )


def _check(kernel, grid, threads, dynamic, static, where):
    grid = grid if isinstance(grid, tuple) else (grid,)
    assert 1 <= threads <= 1024, where
    assert 1 <= grid[0] <= GRID_X and all(1 <= g <= GRID_YZ for g in grid[1:]), (where, grid)
    assert dynamic + static <= SHARED_LIMIT, (where, dynamic, static)


def test_every_launch_fits_the_hardware(h100, monkeypatch, ptx):
    static = {
        name.split("@")[0]: _static_shared_bytes(texts[0])
        for name, texts in ptx.items()
        if name.endswith("@sm_90")
    }
    checked = 0
    for threads in BLOCK_SIZES:
        monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", threads)
        for d in WIDTHS:
            for n in ROWS:
                where = f"d={d}, {threads} threads, n={n}"
                kernel = cuda_kernels.pass_kernel(d).py_func.__name__
                blocks, block = cuda.launch_config(n, d)
                shared = cuda_kernels.pass_shared_bytes(d, block)
                _check(kernel, blocks, block, shared, static[kernel], f"pass, {where}")
                checked += 1
                if d > MOMENTS_MAX_WIDTH:
                    continue
                narrow = cuda._launch(n, d, cuda_kernels.moment_shared_bytes)
                if narrow is not None:
                    blocks, block, shared = narrow
                    _check("moment_sums", blocks, block, shared, static["moment_sums"], where)
                grid, block, shared, _ = cuda.moment_tile_grid(n, d)
                _check("moment_tiles", grid, block, shared, static["moment_tiles"], where)
                checked += 2
        for n in ROWS:
            blocks, block = cuda._launch_1d(n)
            shared = cuda_kernels.totals_shared_bytes(block)
            _check("block_totals", blocks, block, shared, static["block_totals"], f"n={n}")
    moments = len([d for d in WIDTHS if d <= MOMENTS_MAX_WIDTH])
    assert checked == (len(WIDTHS) + 2 * moments) * len(BLOCK_SIZES) * len(ROWS)


def test_wide_moments_keep_their_tiles_on_the_grids_x(h100, monkeypatch):
    # 5 775 features at 256 threads: 65 703 tiles, more than the grid's y (or z) can hold.
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 256)
    grid, threads, _, tiles = cuda.moment_tile_grid(10**6, 5_775)
    assert grid[0] == len(tiles) > GRID_YZ and grid[1] <= GRID_YZ and threads == 256


def _body(text, kernel):
    match = re.search(rf"\.entry\s+\S*{kernel}\S*\(.*?\n}}", text, re.S)
    assert match, kernel
    return match.group(0)


@pytest.mark.parametrize("kernel", ["partial_sums_one_feature", "partial_sums_many_features"])
def test_the_last_block_fences_before_it_reads_the_other_blocks_rows(ptx, kernel):
    body = _body(ptx[f"{kernel}@sm_90"][0], kernel)
    atomic = body.index("atom.global.add")
    # A writer's fence before its count, and the last block's after it, before any load of
    # another block's values.
    assert "membar.gl" in body[:atomic] or "fence.sc.gpu" in body[:atomic]
    after = body[atomic:]
    fence = min(after.find(f) for f in ("membar.gl", "fence.sc.gpu") if f in after)
    first_load = after.find("ld.global.f64")
    assert 0 <= fence < first_load


@pytest.mark.parametrize(
    "kernel", ["partial_sums_one_feature", "partial_sums_many_features", "step"]
)
def test_the_stop_flag_is_published_to_the_host(ptx, kernel):
    body = _body(ptx[f"{kernel}@sm_90"][0], kernel)
    assert "membar.sys" in body or "fence.sc.sys" in body
