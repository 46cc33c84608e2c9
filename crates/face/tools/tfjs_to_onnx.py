"""Converts a TensorFlow.js graph model of a face-embedding network into an ONNX model of the
ArcFace layout that Probity's ONNX path runs (FR-23): input `input`, float [1, 3, H, W] (NCHW,
RGB), output the embedding [1, D].

TensorFlow.js graphs are NHWC; ONNX convolutions are NCHW. Every tensor is kept NCHW: kernels are
transposed (HWIO to OIHW, depthwise HWC1 to C1HW with one group per channel), per-channel
constants become [C, 1, 1], explicit and SAME paddings become ONNX pads, and a flattening
reshape goes back to NHWC first so the dense layer sees the order it was trained on.

Only the operations face-embedding networks of that format use are converted; any other stops
the conversion naming the node. The output is deterministic for a given `onnx` package, so the
setup step can check it by SHA-256.

Usage: tfjs_to_onnx.py MODEL.json OUT.onnx --output NODE
"""

import argparse
import base64
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def read_weights(model, base):
    weights = {}
    for group in model["weightsManifest"]:
        buf = b"".join(open(os.path.join(base, p), "rb").read() for p in group["paths"])
        at = 0
        for w in group["weights"]:
            if "quantization" in w:
                sys.exit(f"weight {w['name']}: quantized weights are not supported")
            dtype = {"float32": np.float32, "int32": np.int32}.get(w["dtype"])
            if dtype is None:
                sys.exit(f"weight {w['name']}: dtype {w['dtype']} is not supported")
            shape = [int(d) for d in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            if at + 4 * n > len(buf):
                sys.exit(f"weight {w['name']}: the weight files are too short")
            weights[w["name"]] = np.frombuffer(buf[at : at + 4 * n], dtype=dtype).reshape(shape)
            at += 4 * n
    return weights


class Converter:
    def __init__(self, model, weights):
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.weights = weights
        self.onnx_nodes = []
        self.initializers = []
        # name -> ("const", array) or ("tensor", onnx name, shape without batch, NCHW)
        self.values = {}

    def const(self, name, arr):
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op, inputs, output, **attrs):
        self.onnx_nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def value(self, ref):
        name = ref.split(":")[0]
        if name not in self.values:
            self.values[name] = self.convert(name)
        return self.values[name]

    def convert(self, name):
        n = self.nodes.get(name)
        if n is None:
            sys.exit(f"node {name} is not in the graph")
        op, attr = n["op"], n.get("attr", {})
        if op == "Const":
            return ("const", self.weights[name])
        if op == "Placeholder":
            dims = [int(d["size"]) for d in attr["shape"]["shape"]["dim"]]
            if len(dims) != 4:
                sys.exit(f"input {name}: expected NHWC, got shape {dims}")
            self.input_hw = (dims[1], dims[2])
            return ("tensor", "input", (dims[3], dims[1], dims[2]))
        ins = [self.value(i) for i in n.get("input", [])]
        text = lambda v: base64.b64decode(v).decode()
        if op in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            return self.conv(name, op, attr, ins, text)
        if op == "Pad":
            x, (c, h, w) = self.tensor(name, ins[0])
            p = ins[1][1].astype(np.int64)
            if p[0].any() or p[3].any():
                sys.exit(f"{name}: padding of the batch or channel axis is not supported")
            pads = self.const(f"{name}/pads", np.array([0, 0, p[1][0], p[2][0], 0, 0, p[1][1], p[2][1]], np.int64))
            self.node("Pad", [x, pads], name)
            return ("tensor", name, (c, h + int(p[1].sum()), w + int(p[2].sum())))
        if op in ("Relu", "Abs", "Sigmoid"):
            x, shape = self.tensor(name, ins[0])
            return ("tensor", self.node(op, [x], name), shape)
        if op in ("Add", "AddV2", "Sub", "Mul", "Maximum", "Minimum"):
            onnx_op = {"Add": "Add", "AddV2": "Add", "Sub": "Sub", "Mul": "Mul", "Maximum": "Max", "Minimum": "Min"}[op]
            shape = next((v[2] for v in ins if v[0] == "tensor"), None)
            if shape is None:
                sys.exit(f"{name}: an operation on constants only is not supported")
            args = [self.operand(f"{name}/{i}", v, flat=len(shape) == 1) for i, v in enumerate(ins)]
            return ("tensor", self.node(onnx_op, args, name), shape)
        if op == "Squeeze":
            x, (c, h, w) = self.tensor(name, ins[0])
            if (h, w) != (1, 1):
                sys.exit(f"{name}: squeezing a {h}x{w} map is not supported")
            return ("tensor", self.node("Flatten", [x], name, axis=1), (c,))
        if op == "Reshape":
            x, (c, h, w) = self.tensor(name, ins[0])
            self.node("Transpose", [x], f"{name}/nhwc", perm=[0, 2, 3, 1])
            return ("tensor", self.node("Flatten", [f"{name}/nhwc"], name, axis=1), (c * h * w,))
        if op == "MatMul":
            x, _ = self.tensor(name, ins[0])
            if ins[1][0] != "const" or attr.get("transpose_a", {}).get("b") or attr.get("transpose_b", {}).get("b"):
                sys.exit(f"{name}: only x times a constant matrix is supported")
            k = ins[1][1].astype(np.float32)
            return ("tensor", self.node("MatMul", [x, self.const(f"{name}/kernel", k)], name), (k.shape[1],))
        sys.exit(f"{name}: operation {op} is not supported")

    def tensor(self, name, v):
        if v[0] != "tensor":
            sys.exit(f"{name}: expected a computed input, found a constant")
        return v[1], v[2]

    def operand(self, name, v, flat):
        if v[0] == "tensor":
            return v[1]
        arr = np.asarray(v[1], dtype=np.float32)
        if not flat and arr.ndim == 1 and arr.size > 1:
            arr = arr.reshape(-1, 1, 1)  # one value per channel, broadcast over NCHW
        elif arr.ndim > 1:
            sys.exit(f"{name}: constant of shape {arr.shape} is not supported")
        return self.const(name, arr)

    def conv(self, name, op, attr, ins, text):
        x, (c, h, w) = self.tensor(name, ins[0])
        kernel = ins[1][1]
        kh, kw = kernel.shape[0], kernel.shape[1]
        strides = [int(i) for i in attr["strides"]["list"]["i"]][1:3]
        dilations = [int(i) for i in attr.get("dilations", {}).get("list", {}).get("i", ["1"] * 4)][1:3]
        if dilations != [1, 1]:
            sys.exit(f"{name}: dilated convolutions are not supported")
        if text(attr.get("data_format", {}).get("s", base64.b64encode(b"NHWC"))) != "NHWC":
            sys.exit(f"{name}: only NHWC graphs are supported")
        if "Depthwise" in op:
            mult = kernel.shape[3]
            weights = kernel.transpose(2, 3, 0, 1).reshape(c * mult, 1, kh, kw)
            group, out_c = c, c * mult
        else:
            weights = kernel.transpose(3, 2, 0, 1)
            group, out_c = 1, kernel.shape[3]
        padding = text(attr["padding"]["s"])
        if padding == "SAME":
            oh, ow = -(-h // strides[0]), -(-w // strides[1])
            ph = max((oh - 1) * strides[0] + kh - h, 0)
            pw = max((ow - 1) * strides[1] + kw - w, 0)
            pads = [ph // 2, pw // 2, ph - ph // 2, pw - pw // 2]
        elif padding == "VALID":
            oh, ow = (h - kh) // strides[0] + 1, (w - kw) // strides[1] + 1
            pads = [0, 0, 0, 0]
        else:
            sys.exit(f"{name}: padding {padding} is not supported")
        fused = [text(f) for f in attr.get("fused_ops", {}).get("list", {}).get("s", [])]
        args = [x, self.const(f"{name}/weights", weights.astype(np.float32))]
        if fused[:1] == ["BiasAdd"]:
            args.append(self.const(f"{name}/bias", ins[2][1].astype(np.float32)))
            fused = fused[1:]
        if fused not in ([], ["Relu"]):
            sys.exit(f"{name}: fused operations {fused} are not supported")
        conv_out = f"{name}/conv" if fused else name
        self.node("Conv", args, conv_out, kernel_shape=[kh, kw], strides=strides, pads=pads, group=group)
        if fused:
            self.node("Relu", [conv_out], name)
        return ("tensor", name, (out_c, oh, ow))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_json")
    ap.add_argument("out")
    ap.add_argument("--output", required=True, help="the graph node whose value is the embedding")
    a = ap.parse_args()
    model = json.load(open(a.model_json))
    if model.get("format") != "graph-model":
        sys.exit(f"{a.model_json}: not a TensorFlow.js graph model")
    conv = Converter(model, read_weights(model, os.path.dirname(a.model_json)))
    kind, out, shape = conv.value(a.output)
    if kind != "tensor" or len(shape) != 1:
        sys.exit(f"{a.output}: not an embedding vector (shape {shape})")
    h, w = conv.input_hw
    graph = helper.make_graph(
        conv.onnx_nodes,
        "face_embedding",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, shape[0]])],
        conv.initializers,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="probity-tfjs-to-onnx")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, a.out)
    print(f"{a.out}: {len(conv.onnx_nodes)} nodes, embedding of {shape[0]} from {a.output}")


if __name__ == "__main__":
    main()
