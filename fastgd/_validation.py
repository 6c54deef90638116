"""Checking and converting what the caller passes, once, before any kernel runs.

The kernels receive plain C-contiguous float32 or float64 arrays and plain numbers only. Data
that already is such an array is used as it is (no copy); other real dtypes are converted once.
The caller's arrays are never written to.

Finiteness of the data is *not* checked here: a NaN or inf in X or y makes the loss of the
first pass non-finite, and only then does `locate_non_finite` search for it. That keeps large
fits at one pass per iteration.
"""

import math
import numbers
import operator
import sys
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

import numpy as np

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
DEVICES = ("auto", "cpu", "cuda")
METHODS = ("auto", "loop", "gram")


def is_device_array(value):
    """True for GPU arrays: numba device arrays and anything with `__cuda_array_interface__`
    (CuPy arrays, PyTorch CUDA tensors). They are checked on the device (fastgd/cuda.py), never
    passed to np.asarray, which would copy them to the host."""
    if type(value) is np.ndarray:  # the common case, answered without attribute lookups
        return False
    try:
        return getattr(value, "__cuda_ndarray__", False) is True or hasattr(
            value, "__cuda_array_interface__"
        )
    except Exception:  # noqa: BLE001 -- an object whose attribute lookup fails is no GPU array
        return False


def dtype_problem(dtype):
    """A description of why `dtype` is not real-valued numeric data, or None if it is."""
    kind = dtype.kind
    if kind in "fiub":
        return None
    names = {
        "c": "complex numbers",
        "O": "Python objects",
        "U": "strings",
        "S": "bytes",
        "M": "datetimes",
        "m": "timedeltas",
        "V": "structured records",
    }
    return names.get(kind, f"dtype {dtype}")


def _frame_problem(value, name):
    """Why a data frame reads as Python objects, where a better answer than "objects" is known:
    a lazy frame (polars), or pandas nullable columns (Int64, Float64, boolean) with pd.NA."""
    try:
        if hasattr(value, "collect") and not hasattr(value, "__array__"):
            return f"{name} is a lazy frame: call .collect() first"
        if not hasattr(value, "isna"):
            return None
        frame = value.to_frame() if hasattr(value, "to_frame") else value  # a Series
        nullable = [c for c in frame.columns if not isinstance(frame[c].dtype, np.dtype)]
        for column in nullable:
            if frame[column].isna().any():
                return (
                    f"{name} has missing values (pd.NA) in column {column!r}: drop or fill them "
                    f"first (e.g. {name}.dropna() or {name}.fillna(...)), or convert with "
                    f"{name}.to_numpy(dtype=float, na_value=np.nan), whose NaN is then reported "
                    "by its location"
                )
        if nullable:
            dtypes = ", ".join(sorted({str(frame[c].dtype) for c in nullable}))
            return (
                f"{name} has pandas nullable columns ({dtypes}), which NumPy reads as Python "
                f"objects: convert with {name}.to_numpy(dtype=float)"
            )
    except Exception:  # noqa: BLE001 -- not a frame after all: the plain message stands
        return None
    return None


def as_array(value, name):
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{name} could not be read as an array ({error}); pass a rectangular array of numbers"
        ) from None
    problem = dtype_problem(array.dtype)
    if problem is not None:
        frame_problem = _frame_problem(value, name) if array.dtype.kind == "O" else None
        if frame_problem is not None:
            raise TypeError(frame_problem)
        raise TypeError(
            f"{name} holds {problem} (dtype {array.dtype}); pass real numbers, e.g. "
            f"{name}.astype(float) after removing what is not numeric"
        )
    return array


def float_dtype_for(dtype):
    """float32 and float64 stay; half precision widens to float32; everything else to float64."""
    if dtype in _FLOAT_DTYPES:
        return dtype
    if dtype == np.float16:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def convert_array(array, dtype, name):
    """`array` as a C-contiguous array of `dtype` (no copy when it already is one).

    Narrowing float64 to float32 (y and weights follow X's dtype) can overflow to inf; that is
    reported here, naming the value and the fix, instead of as a puzzling inf in the data.
    """
    if array.dtype == dtype:
        return np.ascontiguousarray(array)
    with np.errstate(over="ignore", invalid="ignore"):
        converted = np.ascontiguousarray(array, dtype=dtype)
    if array.dtype.kind == "f" and array.dtype.itemsize > dtype.itemsize:
        overflowed = np.isinf(converted) & np.isfinite(array)
        if overflowed.any():
            index = np.unravel_index(int(np.argmax(overflowed)), array.shape)
            raise ValueError(
                f"{name}[{', '.join(map(str, index))}] is {array[index]}, too large for {dtype} "
                f"(X's dtype): pass X as float64, e.g. X.astype(np.float64), or rescale {name}"
            )
    return converted


def check_X_shape(X: Any) -> None:
    """Refuse shapes of X that fit cannot use (any array type: NumPy, GPU or Dask)."""
    if X.ndim not in (1, 2):
        raise ValueError(
            f"X must have shape (n,) for one feature or (n, d), got shape {X.shape}; "
            "reshape it, e.g. X.reshape(len(X), -1)"
        )
    if X.shape[0] == 0:
        raise ValueError("X is empty (n = 0 rows): fitting needs at least one data point")
    if X.ndim == 2 and X.shape[1] == 0:
        raise ValueError("X has no features (shape (n, 0)): pass at least one column")


def check_y_shape(y: Any, n_rows: int, several: bool = False) -> Any:
    """y as a 1-D array of n_rows values ((n, 1) is reshaped, without a copy), or with
    `several` targets allowed, (n, k) for k >= 2 as it is."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(y.shape[0])
    if several and y.ndim == 2 and y.shape[1] == 0:
        raise ValueError(f"y has shape {y.shape}: no targets; give it at least one column")
    if y.ndim != 1 and not (several and y.ndim == 2):
        allowed = "(n,) or (n, k) for k targets" if several else "(n,) (or (n, 1))"
        where = "" if several else "; several targets are fitted from host or Dask arrays"
        raise ValueError(f"y must have shape {allowed}, got shape {y.shape}{where}")
    if y.shape[0] != n_rows:
        raise ValueError(
            f"X and y must have the same number of rows, got X with {n_rows} and y with "
            f"{y.shape[0]}"
        )
    return y


def check_weight_shape(sample_weight: Any, n_rows: int) -> None:
    if sample_weight.shape != (n_rows,):
        raise ValueError(
            f"sample_weight must have shape ({n_rows},), one weight per row of X, "
            f"got shape {sample_weight.shape}"
        )


def check_total_weight(total_weight: float, dtype: Any) -> None:
    """The sum of the weights must be a positive, finite, normal float: fit divides by it."""
    if not 0.0 < total_weight < np.inf:
        raise ValueError(
            f"sample_weight sums to {total_weight}: weights must sum to a positive finite "
            "number (at least one row needs a positive weight; rescale huge weights"
            + ("; they follow X's dtype, float32" if dtype == np.float32 else "")
            + ")"
        )
    if total_weight < np.finfo(np.float64).tiny:
        # Below the smallest normal float, 1 / total_weight overflows to inf.
        raise ValueError(
            f"sample_weight sums to {total_weight}, too small to divide by: only the ratios "
            "of the weights matter, so rescale them, e.g. sample_weight / sample_weight.max()"
        )


def check_data(X: Any, y: Any, sample_weight: Any = None) -> tuple[Any, Any, Any, float]:
    """Return (X as a C-contiguous (n, d) float array, y (n,), sample_weight or None, total weight).

    `y` and `sample_weight` follow X's float dtype. Nothing is copied when X and y already are
    C-contiguous arrays of that dtype. For host data (NumPy arrays and anything np.asarray
    reads); GPU arrays are checked by `cuda.check_device_data`, Dask arrays by `check_dask_data`
    (see `data_kind`).
    """
    X = as_array(X, "X")
    check_X_shape(X)
    dtype = float_dtype_for(X.dtype)
    X = np.ascontiguousarray(X, dtype=dtype)
    if X.ndim == 1:
        X = X.reshape(-1, 1)  # a view: (n,) C-contiguous becomes (n, 1) without a copy

    y, sample_weight, total_weight = _check_targets_and_weights(y, sample_weight, X.shape[0], dtype)
    return X, y, sample_weight, total_weight


def _check_targets_and_weights(y, sample_weight, n_rows, dtype):
    """y (n,) or (n, k) and sample_weight (n,) or None as arrays of `dtype`, and the total
    weight (`check_data`)."""
    y = check_y_shape(as_array(y, "y"), n_rows, several=True)
    y = convert_array(y, dtype, "y")

    total_weight = float(n_rows)
    if sample_weight is not None:
        sample_weight = as_array(sample_weight, "sample_weight")
        if sample_weight.ndim == 0:
            sample_weight = np.full(n_rows, sample_weight, dtype=dtype)
        check_weight_shape(sample_weight, n_rows)
        sample_weight = convert_array(sample_weight, dtype, "sample_weight")
        # Weights are checked here, not through the loss: a negative weight leaves it finite.
        finite = np.isfinite(sample_weight)
        if not finite.all():
            index = int(np.argmin(finite))
            raise ValueError(
                f"sample_weight[{index}] is {sample_weight[index]}: weights must be finite"
            )
        if np.any(sample_weight < 0):
            index = int(np.flatnonzero(sample_weight < 0)[0])
            raise ValueError(
                f"sample_weight[{index}] is {sample_weight[index]}: weights must be >= 0"
            )
        with np.errstate(over="ignore"):  # an overflowing sum is reported just below
            total_weight = float(np.sum(sample_weight, dtype=np.float64))
        check_total_weight(total_weight, dtype)
    return y, sample_weight, total_weight


def locate_non_finite(X, y):
    """A ValueError naming the first NaN or inf in X or y, or None when both are finite.

    Called only after a fit's loss turned out non-finite, so the search costs nothing otherwise.
    """
    for name, array in (("X", X), ("y", y)):
        bad = ~np.isfinite(array)
        if bad.any():
            index = np.unravel_index(int(np.argmax(bad)), array.shape)
            where = index[0] if len(index) == 1 or array.shape[1] == 1 else index
            value = array[index]
            return ValueError(
                f"{name}[{', '.join(map(str, np.atleast_1d(where)))}] is {value}: "
                f"{name} must be finite; drop or impute missing values before fitting"
            )
    return None


def check_real(value, name, *, positive=False):
    """A finite real number as a Python float (bools and strings refused)."""
    if type(value) is not float and (
        isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
    ):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_flag(value, name):
    """A bool (numpy's too) as a Python bool; anything else is refused, 0 and 1 included."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def check_count(value, name, *, minimum):
    """An integer >= minimum as a Python int (bools and floats refused)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        count = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer, got {value!r} ({type(value).__name__})"
        ) from None
    if count < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {count}")
    return count


def check_start(b0, w0, n_features, n_targets=None):
    """The starting point as new float64 arrays B (k,) and W (k, d), k = n_targets (1 when y
    is 1-D, n_targets None): b0 a number or, for several targets, one per target (k,); w0 one
    value per feature (d,), or for several targets (k, d) (a (d,) w0 starts every target
    there)."""
    k = 1 if n_targets is None else n_targets
    if n_targets is None or np.ndim(b0) == 0:
        B = np.full(k, check_real(b0, "b0"))
    else:
        B = np.array(as_array(b0, "b0"), dtype=np.float64)
        if B.shape != (k,):
            raise ValueError(
                f"b0 must be a number or one per target, shape ({k},), got shape {B.shape}"
            )
        if not np.all(np.isfinite(B)):
            raise ValueError(f"b0 must be finite, got {B}")
    W = np.zeros((k, n_features))
    if w0 is None:
        return B, W
    w0 = as_array(w0, "w0")
    if w0.ndim == 0 and n_features == 1:
        w0 = w0.reshape(1)
    shapes = [(n_features,)] + ([(k, n_features)] if n_targets is not None else [])
    if w0.shape not in shapes:
        several = f", or ({k}, {n_features}) one row per target" if n_targets else ""
        raise ValueError(
            f"w0 must have one value per feature, shape ({n_features},){several}, got shape "
            f"{w0.shape}"
        )
    W[:] = w0  # always a copy: the fit updates it in place
    if not np.all(np.isfinite(W)):
        raise ValueError(f"w0 must be finite, got {w0}")
    return B, W


def check_threads(threads):
    """None (use numba's current thread count) or an int in [1, NUMBA_NUM_THREADS]."""
    if threads is None:
        return None
    import numba

    threads = check_count(threads, "threads", minimum=1)
    limit = numba.config.NUMBA_NUM_THREADS
    if threads > limit:
        raise ValueError(
            f"threads={threads} exceeds numba's thread pool of {limit}; pass threads <= {limit} "
            "or set NUMBA_NUM_THREADS before starting Python"
        )
    return threads


def _check_choice(value, name, choices):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_device(device):
    return _check_choice(device, "device", DEVICES)


def check_method(method):
    return _check_choice(method, "method", METHODS)


def check_lr(lr: object) -> float | Literal["auto"]:
    """The string "auto" or a positive finite float."""
    if isinstance(lr, str):
        if lr != "auto":
            raise TypeError(f"lr must be a real number > 0 or 'auto', got {lr!r} (str)")
        return "auto"
    return check_real(lr, "lr", positive=True)


def check_momentum(momentum: object) -> float | Literal["auto"]:
    """The string "auto" or a float in [0, 1)."""
    if isinstance(momentum, str):
        if momentum != "auto":
            raise TypeError(
                f"momentum must be a real number in [0, 1) or 'auto', got {momentum!r} (str)"
            )
        return "auto"
    value = check_real(momentum, "momentum")
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"momentum must be in [0, 1) (0: plain gradient descent), got {value}; or 'auto'"
        )
    return value


# --- where the data lives ---------------------------------------------------------------------


def is_dask_array(value):
    """True for a dask.array.Array, without importing dask (it is an optional extra)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(value, module.Array)


def data_kind(X, y, sample_weight=None):
    """Where the data is: "dask" (any Dask array), "device" (any GPU array), "sparse" (X a
    scipy.sparse matrix or array, on the host), "stream" (X read by blocks of rows,
    fastgd/streamed.py) or "host"."""
    if isinstance(X, RowBlocks) or isinstance(y, RowBlocks):  # (no call: a small fit's budget)
        return "stream"
    arrays = (X, y, sample_weight)
    if any(map(is_dask_array, arrays)):
        return "dask"
    if any(map(is_device_array, arrays)):
        return "device"
    if is_sparse(X):
        return "sparse"
    return "host"


# --- streamed rows (fastgd/streamed.py) -----------------------------------------------------


class RowBlocks:
    """X (shape (n, d)) or y (shape (n,)) as blocks of rows, read in order by `blocks()`.

    A subclass sets `shape` and `dtype` (float32 or float64) and implements `blocks`."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def blocks(self) -> Iterator[np.ndarray]:
        """Each block of rows, first to last: (rows, d) for X, (rows,) for y."""
        raise NotImplementedError


def is_stream(value) -> bool:
    """Whether `value` is a `RowBlocks`."""
    return isinstance(value, RowBlocks)


# --- sparse X (scipy.sparse) -----------------------------------------------------------------


def is_sparse(value):
    """Whether `value` is a scipy.sparse matrix or array (without importing scipy)."""
    module = sys.modules.get("scipy.sparse")
    return module is not None and module.issparse(value)


class SparseRows(NamedTuple):
    """A sparse X as the kernels take it: the CSR arrays of its rows (fastgd/sparse.py)."""

    data: np.ndarray  # (nnz,) float32 or float64: the stored values
    indices: np.ndarray  # (nnz,) their columns
    indptr: np.ndarray  # (n + 1,) row i's values are data[indptr[i]:indptr[i + 1]]
    shape: tuple[int, int]  # (n, d)


def check_sparse_data(X, y, sample_weight=None):
    """The twin of `check_data` for a scipy.sparse X: return (SparseRows, y, sample_weight,
    total weight). A CSR X is used as it is (its arrays, no copy, when its values are float32
    or float64); any other format (CSC, COO, ...) is converted to CSR once (a copy of its
    stored values, never a dense array). X is never changed: duplicate entries of a row are
    added up by the kernels as they are."""
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got a sparse array of shape {X.shape}")
    n, d = X.shape
    if n == 0:
        raise ValueError("X is empty (0 rows); fit needs at least one row")
    if d == 0:
        raise ValueError("X has no features (0 columns); pass at least one column")
    if X.format != "csr":
        X = X.tocsr()
    if X.dtype.kind not in "fiub":
        raise TypeError(
            f"X has dtype {X.dtype}: pass real numbers (float64 or float32 are used as they are)"
        )
    dtype = float_dtype_for(X.dtype)
    data = np.ascontiguousarray(X.data, dtype=dtype)
    finite = np.isfinite(data)
    if not finite.all():
        where = int(np.argmin(finite))
        row = int(np.searchsorted(X.indptr, where, side="right")) - 1
        raise ValueError(
            f"X[{row}, {int(X.indices[where])}] is {data[where]}: X must be finite; drop or "
            "impute missing values before fitting"
        )
    rows = SparseRows(data, np.ascontiguousarray(X.indices), np.ascontiguousarray(X.indptr), (n, d))
    dense_y, sample_weight, total_weight = _check_targets_and_weights(y, sample_weight, n, dtype)
    return rows, dense_y, sample_weight, total_weight


def locate_non_finite_sparse(X, y):
    """`locate_non_finite` for SparseRows X: its values are checked already, so y."""
    return locate_non_finite(np.zeros((1, 1)), y)


# --- Dask arrays (checked lazily: only the weights are read) --------------------------------


def _dask_array():
    try:
        import dask.array
    except ImportError:  # pragma: no cover - dask arrays imply dask
        raise ImportError(
            'Dask input needs the dask extra: python3 -m pip install -e ".[dask]" in a checkout '
            "of fastgd"
        ) from None
    return dask.array


def _as_dask(value, name, da, row_chunks):
    """value as a dask array of real numbers; NumPy input is cut into `row_chunks`."""
    if not is_dask_array(value):
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
        value = np.asarray(value)
        chunks = (row_chunks, *((s,) for s in value.shape[1:]))
        if row_chunks is None or value.ndim == 0 or value.shape[0] != sum(row_chunks):
            chunks = value.shape or ()  # wrong length: reported below, with the shapes
        value = da.from_array(value, chunks=chunks)
    problem = dtype_problem(value.dtype)
    if problem is not None:
        raise TypeError(
            f"{name} holds {problem} (dtype {value.dtype}); pass real numbers, e.g. "
            f"{name}.astype(float)"
        )
    if value.ndim >= 1 and any(np.isnan(c) for c in value.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes (e.g. after boolean indexing); call "
            f"{name}.compute_chunk_sizes() first"
        )
    return value


def check_dask_data(X, y, sample_weight=None):
    """The Dask twin of `check_data`: return (X, y, sample_weight, total weight).

    X becomes (n, d) with one column block, y (n,) and sample_weight (n,) or None, all with X's
    row chunks and float dtype. y or weights chunked differently from X are rechunked to X's
    chunks (moving at most the neighbouring rows of each chunk boundary). Only the weights are
    read here (their total and sign); X and y are not computed.
    """
    da = _dask_array()
    if not is_dask_array(X):
        y_chunks = y.chunks[0] if is_dask_array(y) and y.ndim >= 1 else None
        X = _as_dask(X, "X", da, y_chunks)
    X = _as_dask(X, "X", da, None)
    check_X_shape(X)
    dtype = float_dtype_for(X.dtype)
    if X.ndim == 1:
        X = X[:, None]
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # each task needs whole rows
    X = X.astype(dtype, copy=False)
    row_chunks = X.chunks[0]

    y = check_y_shape(_as_dask(y, "y", da, row_chunks), X.shape[0], several=True)
    y = y.astype(dtype, copy=False)
    if y.chunks[0] != row_chunks:
        y = y.rechunk((row_chunks,) if y.ndim == 1 else (row_chunks, (y.shape[1],)))

    total_weight = float(X.shape[0])
    if sample_weight is not None:
        sample_weight, total_weight = _check_weights(sample_weight, da, row_chunks, dtype)
    return X, y, sample_weight, total_weight


def _check_weights(sample_weight, da, row_chunks, dtype):
    n = sum(row_chunks)
    if np.ndim(sample_weight) == 0 and not is_dask_array(sample_weight):
        sample_weight = da.full(n, sample_weight, chunks=(row_chunks,), dtype=dtype)
    sample_weight = _as_dask(sample_weight, "sample_weight", da, row_chunks)
    check_weight_shape(sample_weight, n)
    sample_weight = sample_weight.astype(dtype, copy=False)
    if sample_weight.chunks[0] != row_chunks:
        sample_weight = sample_weight.rechunk((row_chunks,))
    import dask

    total, n_bad, n_negative = dask.compute(
        sample_weight.sum(dtype=np.float64),
        (~da.isfinite(sample_weight)).sum(),
        (sample_weight < 0).sum(),
    )
    for count, bad, rule in (
        (n_bad, ~da.isfinite(sample_weight), "finite"),
        (n_negative, sample_weight < 0, ">= 0"),
    ):
        if count:
            index = int(da.argmax(bad).compute())
            value = sample_weight[index].compute()
            raise ValueError(f"sample_weight[{index}] is {value}: weights must be {rule}")
    total = float(total)
    check_total_weight(total, dtype)
    return sample_weight, total


def locate_non_finite_dask(X, y):
    """The Dask twin of `locate_non_finite` (runs only after a non-finite loss)."""
    da = _dask_array()
    for name, array in (("X", X), ("y", y)):
        bad = ~da.isfinite(array)
        if not bool(bad.any().compute()):
            continue
        index = np.unravel_index(int(da.argmax(bad.ravel()).compute()), array.shape)
        value = array[index].compute()
        where = index[0] if len(index) == 1 or array.shape[1] == 1 else index
        return ValueError(
            f"{name}[{', '.join(map(str, np.atleast_1d(where)))}] is {value}: "
            f"{name} must be finite; drop or impute missing values before fitting"
        )
    return None
