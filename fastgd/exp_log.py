"""exp and log that LLVM vectorizes: the GLMs' row terms (fastgd/families.py) in SIMD.

A loop that calls `math.exp` or `math.log` runs one row at a time: LLVM vectorizes such calls
only with a vector math library (Intel's SVML), which numba uses only where `icc_rt` is
installed. The Newton pass spent about 25 ns a row in them, a third of its time. These are the
textbook algorithms in plain arithmetic, which LLVM vectorizes like any other:

- exp(x) = 2^k e^r, k = round(x / ln 2), r = x - k ln 2 (ln 2 in two parts, Cody and Waite's,
  so r is exact), e^r by its Taylor polynomial to degree 13 (|r| <= ln 2 / 2: the remainder is
  below 5e-18), 2^k written straight into a float's exponent bits.
- log(x) = k ln 2 + log(m), x = 2^k m with m in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh(s),
  s = (m - 1) / (m + 1), by its odd series to s^23 (|s| <= 0.172: the remainder is below 1e-19).

Both are within a few units in the last place of the C library's (tests/test_exp_log.py),
which is all the GLMs' sums need: the same loss to about 1e-16 relative. Their domains are the
GLMs': `exp` saturates at exp(-708) below and exp(709) above (the families clamp eta well
inside), and `log` takes finite positive numbers, subnormal ones too (the callers never pass
it 0, a negative number, inf or NaN: it returns a finite number for them, not -inf or NaN);
exp's NaN stays NaN.

numba compiles a function called from a fast-math kernel with that kernel's flags
(reassociation among them), and LLVM inlines it there: these are written to be right under
them. Reassociation folds the classic float tricks ((a + 2^52) - 2^52 to round, (1 + e) - 1 for
log1p's correction) to nothing, so every such step is done on the bits instead, where no
float algebra applies; and where reassociation may regroup the rest (k ln 2 in one part
rather than two), the error stays within the bounds tested.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

LOG2E = 1.4426950408889634  # 1 / ln 2
LN2_HIGH = 6.93147180369123816490e-01  # ln 2's leading bits (fdlibm's): k LN2_HIGH is exact
LN2_LOW = 1.90821492927058770002e-10  # the rest of ln 2
LOWEST, HIGHEST = -708.0, 709.0  # exp's saturation: 2^k stays a normal number
TWO_52 = 4503599627370496.0  # 2^52: k + 1023 + 2^52 holds k + 1023 in its low bits, exactly
TWO_52_BITS = 0x4330000000000000
TWO_54 = 18014398509481984.0  # 2^54: a subnormal times it is normal, exactly
SMALLEST_NORMAL = 2.2250738585072014e-308
# log: x's bits less those of sqrt(1/2) carry k in their top 12 bits (an arithmetic shift
# reads it, negative too), and x's bits less k's in the exponent are m's (musl's way).
SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
TOP_12_BITS = -(1 << 52)  # 0xFFF0000000000000 as an int64
ONE_BITS = 0x3FF0000000000000  # 1.0's: u's bits less these are (u - 1) 2^52 for u in [1, 2]


@intrinsic
def _float_bits(typingctx, x):
    """The bit pattern of a float64, as an int64 (a register move)."""

    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, bits):
    """The float64 with this bit pattern."""

    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(cache=True, nogil=True, error_model="numpy")
def exp(x):
    """e^x for LOWEST <= x <= HIGHEST (saturating outside; NaN stays NaN)."""
    x = LOWEST if x < LOWEST else x  # the comparisons are false for NaN: it passes through
    x = HIGHEST if x > HIGHEST else x
    k = np.floor(x * LOG2E + 0.5)  # round(x / ln 2), a float (math.floor gives an integer)
    biased = _float_bits((k + 1023.0) + TWO_52) - TWO_52_BITS  # k + 1023, as an integer
    # k again, from the integer: the two products cannot be regrouped into k (LN2_HIGH +
    # LN2_LOW), which would round ln 2 (an error of k 2e-17 in r, 100 units at k = 1000).
    k_again = float(np.int32(biased - 1023))
    r = (x - k * LN2_HIGH) - k_again * LN2_LOW
    # e^r's Taylor polynomial by Estrin's scheme: pairs, then pairs of pairs in r², r⁴ and r⁸
    # -- five multiply-adds deep where Horner's rule is thirteen (the loop's latency).
    r2 = r * r
    r4 = r2 * r2
    q0 = 1.0 + r
    q1 = 0.5 + r * (1.0 / 6.0)
    q2 = 1.0 / 24.0 + r * (1.0 / 120.0)
    q3 = 1.0 / 720.0 + r * (1.0 / 5040.0)
    q4 = 1.0 / 40320.0 + r * (1.0 / 362880.0)
    q5 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0)
    q6 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0)
    low = (q0 + r2 * q1) + r4 * (q2 + r2 * q3)
    high = (q4 + r2 * q5) + r4 * q6
    p = low + (r4 * r4) * high
    return p * _bits_float(biased << 52)


@njit(cache=True, nogil=True, error_model="numpy")
def log(x):
    """ln x for a finite, positive x (a subnormal one too: scaled by 2^54 first, exactly)."""
    subnormal = (x < SMALLEST_NORMAL) * 1.0  # arithmetic, not a branch: the loop vectorizes
    x = x * (1.0 + subnormal * (TWO_54 - 1.0))
    bits = _float_bits(x)
    shifted = bits - SQRT_HALF_BITS
    k = shifted >> 52  # m = x / 2^k in [sqrt(1/2), sqrt(2))
    m = _bits_float(bits - (shifted & TOP_12_BITS))
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    series = 1.0 / 23.0
    series = series * z + 1.0 / 21.0
    series = series * z + 1.0 / 19.0
    series = series * z + 1.0 / 17.0
    series = series * z + 1.0 / 15.0
    series = series * z + 1.0 / 13.0
    series = series * z + 1.0 / 11.0
    series = series * z + 1.0 / 9.0
    series = series * z + 1.0 / 7.0
    series = series * z + 1.0 / 5.0
    series = series * z + 1.0 / 3.0
    log_m = 2.0 * s + 2.0 * s * z * series
    kf = float(np.int32(k)) - 54.0 * subnormal
    return kf * LN2_HIGH + (kf * LN2_LOW + log_m)


@njit(cache=True, nogil=True, error_model="numpy")
def log1p(e):
    """ln(1 + e) for 0 <= e <= 1 (the logistic loss's e^-|eta|), to its last bits for small e:
    log(u) for u = 1 + e rounded, corrected by the rounding (1 + e) - u over u. u - 1 is read
    off u's bits (exact: u is in [1, 2]), where reassociation cannot fold it to e."""
    u = 1.0 + e
    u_less_one = float(_float_bits(u) - ONE_BITS) * (1.0 / TWO_52)
    return log(u) + (e - u_less_one) / u
