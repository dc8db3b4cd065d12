"""The layer of the interpretability chapter: TopK, which keeps the k largest latents.

The chapter "Sparse autoencoders for interpretability" shows it with
:func:`aehelpers.show_source`; it lives here, registered, so that the book's trained
sparse autoencoders load in safe mode. Written with ``keras.ops``: it runs on TensorFlow,
JAX and PyTorch.
"""

from __future__ import annotations

import keras
from keras import ops

PACKAGE = "aehelpers"


# The chapter prints this class, so it is written as a reader would type it.
@keras.saving.register_keras_serializable(package=PACKAGE)
class TopK(keras.layers.Layer):
    """Keep the `k` largest values of the last axis of each example and set the rest to zero."""

    def __init__(self, k, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k, the number of latents to keep, must be a positive integer, got {k!r}.")
        self.k = k

    def call(self, latents):
        kth_largest = ops.top_k(latents, self.k, sorted=True)[0][..., -1:]
        return ops.where(latents >= kth_largest, latents, ops.zeros_like(latents))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "k": self.k}
