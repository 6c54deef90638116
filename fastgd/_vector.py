"""`Vector`: LANES float64 values in one SIMD register, for kernels LLVM cannot vectorize alone.

numba vectorizes a loop over contiguous values (the rows of a column, in most of fastgd's
kernels). The k-target pass (`gradient.target_sums`) needs its vectors across a row instead:
the k targets of one row sit side by side in Y, and a register tile of several targets by
several features or rows is what keeps its multiply-adds fed. LLVM builds such vectors from
straight-line code only in its SLP vectorizer, which numba leaves off (NUMBA_SLP_VECTORIZE=0),
so the vectors are written out here: a numba type whose value is an LLVM vector, with loads,
stores, broadcasts, + - * min max. Each lane is computed exactly as the scalar code would, so
results do not depend on LANES.

LANES is 8 where the CPU has AVX-512 (its 32 registers of 8 values hold the tiles) and 4
elsewhere (AVX2's 16 registers of 4 values: a tile of 8-value vectors would spill).
FASTGD_LANES (4 or 8) overrides it, for tests and measurements; fastgd/_cache.py keys numba's
cache on it. Other CPUs split the vectors into what they have: the results are the same, only
the speed differs.
"""

import operator
import os

from llvmlite import binding, ir
from numba import types
from numba.extending import intrinsic, models, overload, register_model

from ._config import FASTMATH


def _lanes():
    chosen = os.environ.get("FASTGD_LANES")
    if chosen in ("4", "8"):
        return int(chosen)
    return 8 if binding.get_host_cpu_features().get("avx512f", False) else 4


LANES = _lanes()
_LLVM_VECTOR = ir.VectorType(ir.DoubleType(), LANES)
_FLAGS = tuple(sorted(FASTMATH))  # the flags of every kernel: contract lets a * b + c be an FMA


class VectorType(types.Type):
    def __init__(self):
        super().__init__(name=f"Vector{LANES}")


Vector = VectorType()


@register_model(VectorType)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _LLVM_VECTOR)


def _contiguous_float64(array):
    return (
        isinstance(array, types.Array)
        and array.ndim == 1
        and array.layout == "C"
        and array.dtype == types.float64
    )


def _address(context, builder, array_type, array, index):
    """A pointer to LANES values of a contiguous 1-D float64 array from `index` (not checked:
    the kernels keep index + LANES <= len(array))."""
    data = context.make_array(array_type)(context, builder, array).data
    offset = builder.sext(index, ir.IntType(64)) if index.type.width < 64 else index
    return builder.bitcast(builder.gep(data, [offset]), _LLVM_VECTOR.as_pointer())


@intrinsic
def load(typingctx, array, index):
    """array[index : index + LANES] as a Vector."""
    if not _contiguous_float64(array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.load(_address(context, builder, signature.args[0], *args), align=8)

    return Vector(array, index), codegen


@intrinsic
def store(typingctx, array, index, vector):
    """array[index : index + LANES] = vector."""
    if not _contiguous_float64(array) or vector is not Vector:
        return None

    def codegen(context, builder, signature, args):
        address = _address(context, builder, signature.args[0], args[0], args[1])
        builder.store(args[2], address, align=8)
        return context.get_dummy_value()

    return types.void(array, index, vector), codegen


@intrinsic
def splat(typingctx, value):
    """A Vector of LANES copies of a number."""
    if not isinstance(value, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        number = context.cast(builder, args[0], signature.args[0], types.float64)
        undefined = ir.Constant(_LLVM_VECTOR, ir.Undefined)
        first = builder.insert_element(undefined, number, ir.Constant(ir.IntType(32), 0))
        zeros = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        return builder.shuffle_vector(first, undefined, zeros)

    return Vector(value), codegen


def _lane_by_lane(emit):
    """An intrinsic of two Vectors whose result is emit(builder, left, right)."""

    @intrinsic
    def apply(typingctx, left, right):
        if left is not Vector or right is not Vector:
            return None

        def codegen(context, builder, signature, args):
            return emit(builder, *args)

        return Vector(left, right), codegen

    return apply


def _arithmetic(instruction):
    return _lane_by_lane(lambda builder, *args: getattr(builder, instruction)(*args, flags=_FLAGS))


def _select(comparison):
    return _lane_by_lane(
        lambda builder, *args: builder.select(builder.fcmp_ordered(comparison, *args), *args)
    )


minimum = _select("<")
maximum = _select(">")


def _operator(python_operator, instruction):
    apply = _arithmetic(instruction)

    @overload(python_operator)
    def _vector_operator(left, right):
        if left is Vector and right is Vector:
            return lambda left, right: apply(left, right)


_operator(operator.add, "fadd")
_operator(operator.sub, "fsub")
_operator(operator.mul, "fmul")
