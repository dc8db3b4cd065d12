"""Count the arithmetic of a model, to set measured speed against what the CPU could do.

:func:`count_flops` adds up the floating-point operations of one forward pass of one
example through the layers that dominate the cost: dense, convolution, transposed
convolution and LSTM layers, with a multiply-add counted as 2 operations. Biases,
activations, batch normalisation, pooling and up-sampling are element-wise and left out
(they are a few per cent of the total for every model of the book). Training costs
about three forward passes per example: the forward pass, and a backward pass that
computes gradients with respect to both the inputs and the weights of each layer.
"""

from __future__ import annotations

import math

import keras

TRAINING_PASSES = 3  # forward + two backward products per layer


def _dims(shape: tuple) -> list[int]:
    if any(d is None for d in shape[1:]):
        raise ValueError(f"count_flops needs fixed input sizes, got a layer input of shape {shape}.")
    return [int(d) for d in shape[1:]]


# Layers whose weights cost only element-wise arithmetic or a look-up, which the count leaves out.
ELEMENTWISE_WITH_WEIGHTS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.Embedding)


def layer_flops(layer: keras.layers.Layer) -> int:
    """Forward-pass FLOPs per example of one layer (0 for element-wise and weightless ones).

    Raises:
        ValueError: for a layer with weights that has no rule here, or an input of
            unknown size.
    """
    if isinstance(layer, keras.Model):
        return count_flops(layer)
    if isinstance(layer, keras.layers.TimeDistributed):
        steps = _dims(layer.input.shape)[0]
        inner = layer.layer
        if isinstance(inner, keras.layers.Dense):
            return steps * 2 * int(inner.kernel.shape[0]) * int(inner.kernel.shape[1])
        raise ValueError(f"count_flops does not know TimeDistributed({type(inner).__name__}).")
    if isinstance(layer, keras.layers.Dense):
        positions = math.prod(_dims(layer.input.shape)[:-1])  # Dense on (steps, features)
        return positions * 2 * int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    if isinstance(layer, keras.layers.Conv2DTranspose):
        height, width, _ = _dims(layer.input.shape)
        kh, kw, c_out, c_in = (int(d) for d in layer.kernel.shape)
        return 2 * height * width * kh * kw * c_in * c_out
    if isinstance(layer, keras.layers.Conv2D):
        height, width, _ = _dims(layer.output.shape)
        kh, kw, c_in, c_out = (int(d) for d in layer.kernel.shape)
        return 2 * height * width * kh * kw * c_in * c_out
    if isinstance(layer, keras.layers.LSTM):
        steps, features = _dims(layer.input.shape)
        units = layer.units
        return steps * 2 * 4 * units * (features + units)
    if hasattr(layer, "codebook"):  # a vector quantiser: distances of every vector to every code
        positions = math.prod(_dims(layer.input.shape)[:-1])
        codes, width = (int(d) for d in layer.codebook.shape)
        return positions * 2 * codes * width
    if layer.weights and not isinstance(layer, ELEMENTWISE_WITH_WEIGHTS):
        raise ValueError(
            f"count_flops does not know {type(layer).__name__} layers ({layer.name}); "
            "add a rule for them to aehelpers.flops.layer_flops."
        )
    return 0


def count_flops(model: keras.Model) -> int:
    """Forward-pass FLOPs per example of a built functional model (nested models included)."""
    if not model.built:
        raise ValueError(f"{model.name} is not built; build it (or call it once) before counting.")
    return sum(layer_flops(layer) for layer in model.layers)


def epoch_flops(forward_flops: int, training_examples: int, validation_examples: int = 0) -> int:
    """Operations of one epoch: :data:`TRAINING_PASSES` forward passes for each training
    example and one for each validation example."""
    return (TRAINING_PASSES * training_examples + validation_examples) * forward_flops


def cpu_peak_gflops() -> float | None:
    """Estimate this CPU's peak single-precision rate in GFLOP/s, or None if unknown.

    ``cores x clock x FLOPs per cycle``, with the clock that ``/proc/cpuinfo`` reports and
    16 FP32 lanes x 2 FMA units x 2 (multiply and add) = 64 FLOPs per cycle and core with
    AVX-512, 32 with AVX2 and FMA, 16 otherwise. It is an upper bound: cores that split
    512-bit work into two halves, turbo clocks and shared SMT siblings all change it.
    """
    import os
    from pathlib import Path

    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    mhz = [float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz")]
    flags = next((line.split(":")[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    if not mhz:
        return None
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= set(flags) else 16
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores * max(mhz) / 1000 * per_cycle
