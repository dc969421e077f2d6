#!/usr/bin/env python3
"""Converts a TF.js Keras layers model (model.json + weights.bin) to ONNX for OpenCV DNN,
and writes a reference output computed by an independent numpy forward pass.

Setup-time only (scripts/fetch_pretrained.sh); needs Debian's python3-onnx and python3-numpy.
Nothing at run time uses Python.

  convert_tfjs_keras.py MODEL_JSON WEIGHTS_BIN OUT_DIR

Writes OUT_DIR/model.onnx (NCHW input "input", RGB in [0, 1] as the TF.js package feeds it;
every ONNX node and its output are named after the Keras layer, so any layer can be tapped),
OUT_DIR/layers.tsv (layer, Keras class, output shape for one image, trainable flag) and
OUT_DIR/reference/ (a fixed input and the numpy outputs of a few layers, raw float32 NCHW,
with reference.json naming shapes and files). The two paths share only the dequantised
weight arrays: numpy works in NHWC with Keras' own padding and BN formulas, the ONNX graph
is NCHW with transposed kernels, so a layout, padding or folding mistake shows up as a
mismatch in tests/encoders/pretrained_test.cc.
"""
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def load_weights(manifest, blob):
    """Dequantises TF.js weights: uint8/uint16 q -> min + scale * q (tfjs-converter's rule)."""
    out = {}
    pos = 0
    for group in manifest:
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                dt = {"uint8": np.uint8, "uint16": np.uint16}[q["dtype"]]
                size = n * np.dtype(dt).itemsize
                raw = np.frombuffer(blob, dtype=dt, count=n, offset=pos).astype(np.float64)
                arr = (q["min"] + q["scale"] * raw).astype(np.float32)
            else:
                if w["dtype"] != "float32":
                    raise SystemExit("unsupported weight dtype %s for %s" % (w["dtype"], w["name"]))
                size = n * 4
                arr = np.frombuffer(blob, dtype=np.float32, count=n, offset=pos).copy()
            pos += size
            out[w["name"]] = arr.reshape(w["shape"])
    if pos != len(blob):
        raise SystemExit("weights: manifest covers %d bytes, file has %d" % (pos, len(blob)))
    return out


def same_pads(size, k, s, d=1):
    """TensorFlow's SAME padding for one axis: (begin, end), the extra pixel at the end."""
    eff = (k - 1) * d + 1
    out = math.ceil(size / s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


# ---------------------------------------------------------------- numpy forward (NHWC)

def np_pad_hw(x, pads, value=0.0):
    (t, b), (l, r) = pads
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def np_conv(x, w, stride, padding, dilation=(1, 1)):
    """x NHWC, w [kh, kw, in, out] (Keras layout)."""
    kh, kw = w.shape[0], w.shape[1]
    if padding == "same":
        x = np_pad_hw(x, (same_pads(x.shape[1], kh, stride[0], dilation[0]),
                          same_pads(x.shape[2], kw, stride[1], dilation[1])))
    n, h, wd, c = x.shape
    oh = (h - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    ow = (wd - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    y = np.zeros((n, oh, ow, w.shape[3]), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i * dilation[0]: i * dilation[0] + stride[0] * (oh - 1) + 1: stride[0],
                      j * dilation[1]: j * dilation[1] + stride[1] * (ow - 1) + 1: stride[1], :]
            y += patch @ w[i, j].astype(np.float64)
    return y


def np_depthwise(x, w, stride, padding):
    """w [kh, kw, C, mult]; output channel c * mult + m, as Keras orders it."""
    kh, kw, c, mult = w.shape
    if padding == "same":
        x = np_pad_hw(x, (same_pads(x.shape[1], kh, stride[0]), same_pads(x.shape[2], kw, stride[1])))
    n, h, wd, _ = x.shape
    oh = (h - kh) // stride[0] + 1
    ow = (wd - kw) // stride[1] + 1
    y = np.zeros((n, oh, ow, c, mult), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i: i + stride[0] * (oh - 1) + 1: stride[0], j: j + stride[1] * (ow - 1) + 1: stride[1], :]
            y += patch[..., None] * w[i, j].astype(np.float64)
    return y.reshape(n, oh, ow, c * mult)


def np_pool(x, size, stride, padding, kind):
    kh, kw = size
    if padding == "same":
        pads = (same_pads(x.shape[1], kh, stride[0]), same_pads(x.shape[2], kw, stride[1]))
    else:
        pads = ((0, 0), (0, 0))
    fill = -np.inf if kind == "max" else 0.0
    xp = np_pad_hw(x, pads, fill)
    ones = np_pad_hw(np.ones((1,) + x.shape[1:3] + (1,)), pads, 0.0)  # TF averages real pixels only
    n, h, wd, c = xp.shape
    oh = (h - kh) // stride[0] + 1
    ow = (wd - kw) // stride[1] + 1
    acc = np.full((n, oh, ow, c), fill, dtype=np.float64)
    cnt = np.zeros((1, oh, ow, 1))
    for i in range(kh):
        for j in range(kw):
            sl = (slice(None), slice(i, i + stride[0] * (oh - 1) + 1, stride[0]),
                  slice(j, j + stride[1] * (ow - 1) + 1, stride[1]), slice(None))
            if kind == "max":
                acc = np.maximum(acc, xp[sl])
            else:
                acc += xp[sl]
                cnt += ones[sl]
    return acc if kind == "max" else acc / cnt


def np_activation(x, name):
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise SystemExit("unsupported activation '%s'" % name)


def inbound(layer):
    nodes = layer["inbound_nodes"]
    if not nodes:
        return []
    if len(nodes) != 1:
        raise SystemExit("layer %s is shared (%d inbound nodes): unsupported" % (layer["name"], len(nodes)))
    return [n[0] for n in nodes[0]]


def numpy_forward(layers, weights, x):
    """Keras semantics in float64, NHWC; returns every layer's output."""
    out = {}
    for layer in layers:
        cls, cfg, name = layer["class_name"], layer["config"], layer["name"]
        ins = [out[i] for i in inbound(layer)]
        if cls == "InputLayer":
            y = x
        elif cls == "ZeroPadding2D":
            y = np_pad_hw(ins[0], cfg["padding"])
        elif cls == "Conv2D":
            y = np_conv(ins[0], weights[name + "/kernel"], cfg["strides"], cfg["padding"], cfg["dilation_rate"])
            if cfg["use_bias"]:
                y = y + weights[name + "/bias"]
            y = np_activation(y, cfg["activation"])
        elif cls == "DepthwiseConv2D":
            y = np_depthwise(ins[0], weights[name + "/depthwise_kernel"], cfg["strides"], cfg["padding"])
            if cfg["use_bias"]:
                y = y + weights[name + "/bias"]
            y = np_activation(y, cfg["activation"])
        elif cls == "BatchNormalization":
            c = ins[0].shape[-1]
            gamma = weights[name + "/gamma"] if cfg["scale"] else np.ones(c)
            beta = weights[name + "/beta"] if cfg["center"] else np.zeros(c)
            y = gamma * (ins[0] - weights[name + "/moving_mean"]) / np.sqrt(
                weights[name + "/moving_variance"].astype(np.float64) + cfg["epsilon"]) + beta
        elif cls == "ReLU":
            y = np.maximum(ins[0], 0)
            if cfg.get("max_value") is not None:
                y = np.minimum(y, cfg["max_value"])
        elif cls == "Activation":
            y = np_activation(ins[0], cfg["activation"])
        elif cls == "Add":
            y = sum(ins)
        elif cls == "Concatenate":
            y = np.concatenate(ins, axis=-1)
        elif cls in ("AveragePooling2D", "MaxPooling2D"):
            y = np_pool(ins[0], cfg["pool_size"], cfg["strides"], cfg["padding"],
                        "avg" if cls.startswith("Average") else "max")
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        elif cls == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif cls == "Dense":
            y = np_activation(ins[0] @ weights[name + "/kernel"].astype(np.float64) + weights[name + "/bias"],
                              cfg["activation"])
        elif cls == "Dropout":
            y = ins[0]
        else:
            raise SystemExit("unsupported Keras layer %s (%s)" % (name, cls))
        out[name] = y
    return out


# ---------------------------------------------------------------- ONNX graph (NCHW)

class Graph:
    def __init__(self):
        self.nodes, self.inits, self.alias = [], [], {}

    def const(self, name, arr, dtype=np.float32):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=dtype), name))
        return name

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def tensor(self, layer_name):
        return self.alias.get(layer_name, layer_name)


def conv_pads(graph, name, src, hw, k, stride, padding, dilation=(1, 1)):
    """ONNX Conv/Pool pads for Keras padding; an asymmetric SAME pad becomes its own Pad node
    (OpenCV 4.6 takes only symmetric pads inside a Conv)."""
    if padding == "valid":
        return src, [0, 0, 0, 0]
    (t, b) = same_pads(hw[0], k[0], stride[0], dilation[0])
    (l, r) = same_pads(hw[1], k[1], stride[1], dilation[1])
    if t == b and l == r:
        return src, [t, l, b, r]
    return graph.node("Pad", [src], name + "/pad", mode="constant", pads=[0, 0, t, l, 0, 0, b, r]), [0, 0, 0, 0]


def activation_node(graph, src, act, name):
    if act == "linear":
        return src
    if act == "relu":
        return graph.node("Relu", [src], name)
    if act == "softmax":
        return graph.node("Softmax", [src], name, axis=1)
    raise SystemExit("unsupported activation '%s'" % act)


def build_onnx(layers, weights, shapes, size):
    g = Graph()
    for layer in layers:
        cls, cfg, name = layer["class_name"], layer["config"], layer["name"]
        ins = [g.tensor(i) for i in inbound(layer)]
        in_hw = shapes[inbound(layer)[0]][1:3] if ins else None
        if cls == "InputLayer":
            g.alias[name] = "input"
        elif cls == "ZeroPadding2D":
            (t, b), (l, r) = cfg["padding"]
            g.node("Pad", ins, name, mode="constant", pads=[0, 0, t, l, 0, 0, b, r])
        elif cls in ("Conv2D", "DepthwiseConv2D"):
            if cls == "Conv2D":
                w = weights[name + "/kernel"].transpose(3, 2, 0, 1)  # [out, in, kh, kw]
                group = 1
                dil = cfg["dilation_rate"]
            else:
                kh, kw, c, mult = weights[name + "/depthwise_kernel"].shape
                w = weights[name + "/depthwise_kernel"].transpose(2, 3, 0, 1).reshape(c * mult, 1, kh, kw)
                group = c
                dil = [1, 1]
            k = list(w.shape[2:])
            src, pads = conv_pads(g, name, ins[0], in_hw, k, cfg["strides"], cfg["padding"], dil)
            inputs = [src, g.const(name + "/W", w)]
            if cfg["use_bias"]:
                inputs.append(g.const(name + "/B", weights[name + "/bias"]))
            act = cfg["activation"]
            conv_name = name if act == "linear" else name + "/conv"
            g.node("Conv", inputs, conv_name, kernel_shape=k, strides=list(cfg["strides"]), pads=pads,
                   dilations=list(dil), group=group)
            if act != "linear":
                activation_node(g, conv_name, act, name)
        elif cls == "BatchNormalization":
            c = shapes[name][-1]
            gamma = weights[name + "/gamma"] if cfg["scale"] else np.ones(c)
            beta = weights[name + "/beta"] if cfg["center"] else np.zeros(c)
            g.node("BatchNormalization",
                   [ins[0], g.const(name + "/scale", gamma), g.const(name + "/bias", beta),
                    g.const(name + "/mean", weights[name + "/moving_mean"]),
                    g.const(name + "/var", weights[name + "/moving_variance"])],
                   name, epsilon=float(cfg["epsilon"]))
        elif cls == "ReLU":
            if cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
                raise SystemExit("ReLU %s: negative_slope/threshold unsupported" % name)
            if cfg.get("max_value") is None:
                g.node("Relu", ins, name)
            else:
                g.node("Clip", ins, name, min=0.0, max=float(cfg["max_value"]))
        elif cls == "Activation":
            if cfg["activation"] == "linear":
                g.alias[name] = ins[0]
            else:
                activation_node(g, ins[0], cfg["activation"], name)
        elif cls == "Add":
            acc = ins[0]
            for k, other in enumerate(ins[1:]):
                acc = g.node("Add", [acc, other], name if k == len(ins) - 2 else "%s/%d" % (name, k))
        elif cls == "Concatenate":
            if cfg["axis"] not in (3, -1):
                raise SystemExit("Concatenate %s on axis %s unsupported" % (name, cfg["axis"]))
            g.node("Concat", ins, name, axis=1)
        elif cls in ("AveragePooling2D", "MaxPooling2D"):
            k = list(cfg["pool_size"])
            pads = [0, 0, 0, 0]
            if cfg["padding"] == "same":
                (t, b) = same_pads(in_hw[0], k[0], cfg["strides"][0])
                (l, r) = same_pads(in_hw[1], k[1], cfg["strides"][1])
                if t != b or l != r:
                    raise SystemExit("pool %s: asymmetric SAME padding unsupported" % name)
                pads = [t, l, b, r]
            if cls == "MaxPooling2D":
                g.node("MaxPool", ins, name, kernel_shape=k, strides=list(cfg["strides"]), pads=pads)
            else:
                g.node("AveragePool", ins, name, kernel_shape=k, strides=list(cfg["strides"]), pads=pads,
                       count_include_pad=0)
        elif cls == "GlobalAveragePooling2D":
            gap = g.node("GlobalAveragePool", ins, name + "/gap")
            g.node("Flatten", [gap], name, axis=1)
        elif cls == "Flatten":
            # NHWC and NCHW flatten alike only when there is one pixel.
            if len(shapes[inbound(layer)[0]]) == 4 and tuple(shapes[inbound(layer)[0]][1:3]) != (1, 1):
                raise SystemExit("Flatten %s over a spatial map: layout-dependent, unsupported" % name)
            g.node("Flatten", ins, name, axis=1)
        elif cls == "Dense":
            # OpenCV 4.6 reads Gemm's B as [out, in] with transB = 1 (not [in, out] with transB = 0).
            act = cfg["activation"]
            gemm = name if act == "linear" else name + "/gemm"
            g.node("Gemm", [ins[0], g.const(name + "/W", weights[name + "/kernel"].T),
                            g.const(name + "/B", weights[name + "/bias"])], gemm, transB=1)
            if act != "linear":
                activation_node(g, gemm, act, name)
        elif cls == "Dropout":
            g.alias[name] = ins[0]
        else:
            raise SystemExit("unsupported Keras layer %s (%s)" % (name, cls))
    last = g.tensor(layers[-1]["name"])
    last_shape = ["N"] + list(shapes[layers[-1]["name"]][1:])
    graph = helper.make_graph(
        g.nodes, "model",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info(last, TensorProto.FLOAT, last_shape)],
        initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)],
                              producer_name="recfuse convert_tfjs_keras.py")
    onnx.checker.check_model(model)
    return model, g


def reference_input(size):
    """A fixed, smooth-plus-texture image in [0, 1] (NHWC), no RNG: reproducible anywhere."""
    yy, xx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    chans = [0.5 + 0.5 * np.sin(xx / 9.0 + c) * np.cos(yy / 13.0 - c) for c in range(3)]
    img = np.stack(chans, axis=-1)
    img = 0.8 * img + 0.2 * ((xx * 7 + yy * 13) % 17 / 16.0)[..., None]
    return img[None].astype(np.float32)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    model_json, weights_bin, out_dir = sys.argv[1:]
    with open(model_json) as f:
        model = json.load(f)
    with open(weights_bin, "rb") as f:
        blob = f.read()
    topo = model["modelTopology"]
    cfg = topo["model_config"]["config"]
    layers = cfg["layers"]
    size = layers[0]["config"]["batch_input_shape"][1]
    weights = load_weights(model["weightsManifest"], blob)

    x = reference_input(size)
    outs = numpy_forward(layers, weights, x.astype(np.float64))
    shapes = {k: v.shape for k, v in outs.items()}
    onnx_model, graph = build_onnx(layers, weights, shapes, size)

    os.makedirs(os.path.join(out_dir, "reference"), exist_ok=True)
    tmp = os.path.join(out_dir, "model.onnx.tmp")
    onnx.save(onnx_model, tmp)
    os.replace(tmp, os.path.join(out_dir, "model.onnx"))

    # OpenCV fuses a BatchNormalization or an activation into the layer before it and then
    # overwrites that layer's output in place: such a layer can be tapped only with fusion
    # off (measured on bn_Conv1: fused tap off by 19.3, unfused 2e-6).
    consumers = {}
    for layer in layers:
        for src in inbound(layer):
            consumers.setdefault(src, []).append(layer["class_name"])
    fusing = {"BatchNormalization", "ReLU", "Activation"}
    with open(os.path.join(out_dir, "layers.tsv"), "w") as f:
        f.write("layer\tclass\tshape\ttrainable\ttapable\tneeds_unfused\n")
        for layer in layers:
            name = layer["name"]
            # Only layers that are ONNX nodes of their own can be asked for by name.
            tapable = name not in graph.alias
            unfused = any(c in fusing for c in consumers.get(name, []))
            f.write("%s\t%s\t%s\t%d\t%d\t%d\n" % (name, layer["class_name"],
                                                  "x".join(str(d) for d in shapes[name][1:]),
                                                  int(layer["config"].get("trainable", True) is not False),
                                                  int(tapable), int(unfused)))

    # Reference taps: early, middle, the frozen boundary, the last conv map and the output.
    taps = [l["name"] for l in layers if l["name"] not in graph.alias and len(shapes[l["name"]]) == 4]
    frozen = [l["name"] for l in layers if l["config"].get("trainable", True) is False and l["name"] in taps]
    chosen = sorted(set([taps[2], taps[len(taps) // 2], frozen[-1] if frozen else taps[-1], taps[-1],
                         graph.tensor(layers[-1]["name"])]), key=[l["name"] for l in layers].index)
    ref = {"input": {"file": "input.f32", "shape": [1, 3, size, size]}, "outputs": {}}
    x.transpose(0, 3, 1, 2).astype(np.float32).tofile(os.path.join(out_dir, "reference", "input.f32"))
    for name in chosen:
        y = outs[name]
        if y.ndim == 4:
            y = y.transpose(0, 3, 1, 2)
        fname = name.replace("/", "_") + ".f32"
        y.astype(np.float32).tofile(os.path.join(out_dir, "reference", fname))
        ref["outputs"][name] = {"file": fname, "shape": list(y.shape),
                                "max_abs": float(np.abs(y).max())}
    with open(os.path.join(out_dir, "reference", "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print("converted %d layers (%d weights), input %dx%d; reference taps: %s" %
          (len(layers), len(weights), size, size, ", ".join(chosen)))


if __name__ == "__main__":
    main()
