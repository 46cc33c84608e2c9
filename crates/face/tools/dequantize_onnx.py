#!/usr/bin/env python3
"""Turns an ONNX model whose weights are stored int8-quantised (DequantizeLinear of constant
weights, per tensor, per axis or in blocks, as OpenCV Zoo's `*_int8bq.onnx` models are) into the
same network with plain float32 weights, so runtimes without block-quantised DequantizeLinear
(tract) can run it. Each constant DequantizeLinear becomes the float32 initializer it computes,
`(q - zero_point) * scale`; every other node is kept. Constant tensors that the file also lists as
graph inputs are dropped from the inputs (they are weights, not inputs). The remaining operators
have the same meaning in opset 13, which the output declares.

The output is byte-for-byte the same on every run with the same `onnx` package (pinned in
scripts/setup.d/face.pip), so scripts/setup pins its SHA-256.

Usage: dequantize_onnx.py IN.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def constants(graph):
    vals = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            vals[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return vals


def dequantize(node, vals):
    x = vals[node.input[0]].astype(np.float64)
    scale = vals[node.input[1]].astype(np.float64)
    has_zero = len(node.input) > 2 and node.input[2]
    zero = vals[node.input[2]].astype(np.float64) if has_zero else np.zeros_like(scale)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if scale.size == 1:
        return ((x - zero.reshape(())) * scale.reshape(())).astype(np.float32)
    axis = attrs.get("axis", 1) % x.ndim
    block = attrs.get("block_size", 0)
    if block:
        # Blocked: each run of `block` elements along `axis` shares one scale and zero point.
        n = x.shape[axis]
        scale = np.repeat(scale, block, axis=axis).take(range(n), axis=axis)
        zero = np.repeat(zero, block, axis=axis).take(range(n), axis=axis)
        return ((x - zero) * scale).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = -1
    return ((x - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model = onnx.load(sys.argv[1])
    graph = model.graph
    vals = constants(graph)
    kept, dequantized = [], []
    for n in graph.node:
        if n.op_type == "DequantizeLinear" and all(i in vals for i in n.input if i):
            dequantized.append(numpy_helper.from_array(dequantize(n, vals), n.output[0]))
        else:
            kept.append(n)
    used = {i for n in kept for i in n.input} | {o.name for o in graph.output}
    initializers = [i for i in graph.initializer if i.name in used] + dequantized
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    weights = {i.name for i in initializers}
    inputs = [i for i in graph.input if i.name not in weights and i.name in used]
    del graph.input[:]
    graph.input.extend(inputs)
    left = sorted({n.op_type for n in kept if n.op_type.endswith("QuantizeLinear")})
    if left:
        sys.exit(f"error: quantised operators on non-constant inputs remain: {left}")
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 13
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[2])
    print(
        f"{sys.argv[2]}: {len(dequantized)} weights dequantised, {len(kept)} nodes, "
        f"inputs {[i.name for i in inputs]}"
    )


if __name__ == "__main__":
    main()
