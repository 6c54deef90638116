"""`prefetch(array, index)`: ask the CPU to start loading the cache line of one element.

numba exposes no prefetch, so this emits LLVM's `llvm.prefetch` (a read, to be kept in all
cache levels: into L1). `prefetch_to_l2` asks for the line in L2 only, which suits lines needed
later than the next few hundred nanoseconds: they do not take L1's room or its few slots for
lines in flight. A hint only: it never faults, whatever the address, and changes no result.
Kernels that are bound by their arithmetic while the data streams in (`gradient.target_sums`)
issue it for the rows of a block ahead, so that memory and arithmetic overlap.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _prefetch_into(locality):
    """A prefetch intrinsic with LLVM's locality hint (3: all cache levels, 1: L2 and beyond)."""

    @intrinsic
    def prefetch(typingctx, array, index):
        """Prefetch the line holding the element at flat `index` of a contiguous `array`."""
        if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            array_type = signature.args[0]
            data = context.make_array(array_type)(context, builder, args[0]).data
            offset = builder.sext(args[1], ir.IntType(64)) if args[1].type.width < 64 else args[1]
            address = builder.bitcast(builder.gep(data, [offset]), ir.IntType(8).as_pointer())
            arguments = [address.type] + [ir.IntType(32)] * 3
            signature_ = ir.FunctionType(ir.VoidType(), arguments)
            # The typed-pointer name; LLVM with opaque pointers reads it as llvm.prefetch.p0.
            function = cgutils.get_or_insert_function(
                builder.module, signature_, "llvm.prefetch.p0i8"
            )
            read, keep, data_cache = (ir.Constant(ir.IntType(32), v) for v in (0, locality, 1))
            builder.call(function, [address, read, keep, data_cache])
            return context.get_dummy_value()

        return types.void(array, index), codegen

    return prefetch


prefetch = _prefetch_into(3)
prefetch_to_l2 = _prefetch_into(1)
