"""The two layers of the vector-quantised VAE chapter: the quantiser and the PixelCNN's masked convolution.

The chapter "Discrete codes" prints both classes from here (``ae.show_source``); they
live here, registered, so that the book's trained VQ-VAE and its prior load in safe mode
wherever the chapter's code is not at hand. Written with ``keras.ops`` only: they
run on TensorFlow, JAX and PyTorch.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

PACKAGE = "aehelpers"


# The chapter prints the two classes below, so they are written as a reader would type them.
@keras.saving.register_keras_serializable(package=PACKAGE)
class VectorQuantizer(keras.layers.Layer):
    """Replace each vector of the last axis by the nearest of `num_codes` learned codes."""

    def __init__(self, num_codes, code_dim, commitment=0.25, **kwargs):
        super().__init__(**kwargs)
        self.num_codes, self.code_dim, self.commitment = num_codes, code_dim, commitment
        self.codebook = self.add_weight(
            shape=(num_codes, code_dim), name="codebook",
            initializer=keras.initializers.RandomUniform(-1 / num_codes, 1 / num_codes))

    def code_indices(self, encoded):
        flat = ops.reshape(encoded, (-1, self.code_dim))
        distances = (ops.sum(ops.square(flat), axis=1, keepdims=True)
                     - 2 * ops.matmul(flat, ops.transpose(self.codebook))
                     + ops.sum(ops.square(self.codebook), axis=1))
        return ops.reshape(ops.argmin(distances, axis=1), ops.shape(encoded)[:-1])

    def call(self, encoded):
        quantized = ops.take(self.codebook, self.code_indices(encoded), axis=0)
        self.add_loss(ops.mean(ops.square(ops.stop_gradient(encoded) - quantized)))  # moves the codes
        self.add_loss(self.commitment * ops.mean(ops.square(encoded - ops.stop_gradient(quantized))))
        return encoded + ops.stop_gradient(quantized - encoded)  # straight-through gradient

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_codes": self.num_codes, "code_dim": self.code_dim,
                "commitment": self.commitment}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedConv2D(keras.layers.Conv2D):
    """A convolution that sees only the pixels above and to the left (PixelCNN).

    Mask "A" also hides the centre pixel (first layer); mask "B" lets it through.
    """

    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if mask_type not in ("A", "B"):
            raise ValueError(f'mask_type must be "A" (first layer) or "B" (later layers), got {mask_type!r}.')
        self.mask_type = mask_type

    def build(self, input_shape):
        super().build(input_shape)
        rows, cols = self.kernel_size
        mask = np.ones(self.kernel.shape, dtype="float32")
        mask[rows // 2, cols // 2 + (self.mask_type == "B"):] = 0.0
        mask[rows // 2 + 1:] = 0.0
        self.mask = ops.convert_to_tensor(mask)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel * self.mask)

    def get_config(self):
        return {**super().get_config(), "mask_type": self.mask_type}
