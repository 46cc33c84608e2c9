"""Writes a small ONNX face-embedding model of the common ArcFace layout, for the ONNX path's tests.

Input `input`: float32 [1, 3, 112, 112] (an aligned 112x112 RGB face, (x - 127.5) / 127.5).
Output `embedding`: float32 [1, DIM]. The graph is a strided convolution, ReLU, flatten and a dense
layer with fixed pseudo-random weights (seed 7): it embeds any face deterministically but has
learned nothing, so it proves loading, alignment, running and evaluation, not accuracy.

Usage: make_arcface_layout_model.py OUT.onnx [DIM]
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main() -> None:
    out = sys.argv[1]
    dim = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    rng = np.random.RandomState(7)
    conv_w = (rng.standard_normal((16, 3, 8, 8)) * 0.05).astype(np.float32)
    dense_w = (rng.standard_normal((16 * 14 * 14, dim)) * 0.02).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "conv_w"], ["conv"], strides=[8, 8]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("Flatten", ["relu"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "dense_w"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "arcface_layout_test_model",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, dim])],
        [numpy_helper.from_array(conv_w, "conv_w"), numpy_helper.from_array(dense_w, "dense_w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main()
