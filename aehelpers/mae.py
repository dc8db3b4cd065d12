"""The layers of the masked-autoencoder chapter: patches, their embedding and random masking.

The chapter "Masked autoencoders" shows the masking and the model with
:func:`aehelpers.show_source`. All four live here, registered, so that the book's trained
models load in safe mode. Written with ``keras.ops`` and ``keras.random``: they run on
TensorFlow, JAX and PyTorch.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

PACKAGE = "aehelpers"


@keras.saving.register_keras_serializable(package=PACKAGE)
class Patches(keras.layers.Layer):
    """Cut square images into non-overlapping `size` x `size` patches, in raster order.

    (batch, height, width, channels) -> (batch, patches, size * size * channels).
    """

    def __init__(self, size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = size

    def call(self, images: Any) -> Any:
        batch, height, width, channels = ops.shape(images)
        rows, cols = height // self.size, width // self.size
        x = ops.reshape(images, (batch, rows, self.size, cols, self.size, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (batch, rows * cols, self.size * self.size * channels))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        batch, height, width, channels = input_shape
        return (batch, (height // self.size) * (width // self.size), self.size * self.size * channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PatchEmbedding(keras.layers.Layer):
    """Project each patch to `width` numbers and add a learned embedding of its position."""

    def __init__(self, num_patches: int, width: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_patches, self.width = num_patches, width
        self.projection = keras.layers.Dense(width)
        self.position = keras.layers.Embedding(num_patches, width)

    def build(self, input_shape: tuple) -> None:
        self.projection.build(input_shape)
        self.position.build((self.num_patches,))

    def call(self, patches: Any) -> Any:
        return self.projection(patches) + self.position(ops.arange(self.num_patches))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.width)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_patches": self.num_patches, "width": self.width}


# The chapter prints the two classes below, so they are written as a reader would type them.
@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomMasking(keras.layers.Layer):
    """Keep a random `1 - mask_ratio` of the tokens of each example, a fresh draw each call.

    Returns the kept tokens, (batch, kept, width), and for every position of the original
    order the index it has in [kept tokens, then masked ones]: what puts them back.
    With `mask_ratio` 0 every token is kept, in order. The number of tokens must be
    known when the layer is called. The generator's state is not saved with a model:
    assign ``seed_generator.state`` to repeat a draw.
    """

    def __init__(self, mask_ratio, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= mask_ratio < 1:
            raise ValueError(f"mask_ratio must be at least 0 and below 1, got {mask_ratio}.")
        self.mask_ratio, self.seed = mask_ratio, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, tokens):
        batch, length = ops.shape(tokens)[0], ops.shape(tokens)[1]
        kept = length - int(round(self.mask_ratio * length))
        if kept < 1:
            raise ValueError(f"mask_ratio {self.mask_ratio} hides all {length} tokens; keep at least one.")
        noise = keras.random.uniform((batch, length), seed=self.seed_generator)
        if self.mask_ratio == 0:
            noise = ops.zeros_like(noise) + ops.arange(length, dtype=noise.dtype)  # keep the order
        shuffle = ops.argsort(noise, axis=1)  # a random order of the positions
        restore = ops.argsort(shuffle, axis=1)
        visible = ops.take_along_axis(tokens, ops.expand_dims(shuffle[:, :kept], -1), axis=1)
        return visible, restore

    def compute_output_shape(self, input_shape):
        batch, length, width = input_shape
        kept = length - int(round(self.mask_ratio * length))
        return (batch, kept, width), (batch, length)

    def get_config(self):
        return {**super().get_config(), "mask_ratio": self.mask_ratio, "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedAutoencoder(keras.Model):
    """A masked autoencoder (He et al., 2022) around an encoder and a decoder of the chapter's making.

    Args:
        encoder: a model from tokens ``(batch, n, width)`` to ``(batch, n, width)``, for any n.
        decoder: a model from ``(batch, patches, decoder_width)`` to the pixels of every
            patch, ``(batch, patches, patch_size**2)``.
        patch_size, image_size: square patches of square one-channel images.
        mask_ratio: the share of patches hidden from the encoder, drawn anew for every image.
        seed: seed of the masking's generator.

    Calling the model patches and embeds the images, hides a random ``mask_ratio`` of
    the patches, encodes the rest, puts a learned mask token where the hidden ones were
    and decodes all. It returns the predicted pixels of every patch and, per patch, 1 if
    it was hidden. The loss is the mean squared error on the hidden patches only.
    :meth:`features` encodes all patches, none hidden, and averages the encoder's outputs.
    """

    def __init__(self, encoder, decoder, patch_size=4, image_size=28, mask_ratio=0.75, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.patch_size, self.image_size, self.mask_ratio, self.seed = patch_size, image_size, mask_ratio, seed
        self.num_patches = (image_size // patch_size) ** 2
        width, decoder_width = encoder.output_shape[-1], decoder.input_shape[-1]
        self.patches = Patches(patch_size, name="patches")
        self.embedding = PatchEmbedding(self.num_patches, width, name="embedding")
        self.masking = RandomMasking(mask_ratio, seed=seed, name="masking")
        self.to_decoder = keras.layers.Dense(decoder_width, name="to_decoder")
        self.decoder_position = keras.layers.Embedding(self.num_patches, decoder_width, name="decoder_position")
        self.embedding.build((None, self.num_patches, patch_size * patch_size))
        self.to_decoder.build((None, None, width))
        self.decoder_position.build((self.num_patches,))
        self.mask_token = self.add_weight(shape=(decoder_width,), name="mask_token",
                                          initializer=keras.initializers.RandomNormal(stddev=0.02))
        self.built = True

    def call(self, images, training=False):
        tokens = self.embedding(self.patches(images))
        visible, restore = self.masking(tokens)
        kept = ops.shape(visible)[1]
        x = self.to_decoder(self.encoder(visible, training=training))
        hidden_tokens = ops.broadcast_to(self.mask_token, (ops.shape(x)[0], self.num_patches - kept, ops.shape(x)[2]))
        x = ops.concatenate([x, hidden_tokens], axis=1)
        x = ops.take_along_axis(x, ops.expand_dims(restore, -1), axis=1)  # back in image order
        x = x + self.decoder_position(ops.arange(self.num_patches))
        hidden = ops.cast(restore >= kept, x.dtype)
        return self.decoder(x, training=training), hidden

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The mean squared error on the hidden patches only; ``y`` and
        ``sample_weight`` are not used, nor are layers' added losses."""
        predicted, hidden = (ops.convert_to_tensor(t) for t in y_pred)  # NumPy arrays too, on every backend
        squared_error = ops.mean(ops.square(predicted - self.patches(x)), axis=-1)
        return ops.sum(squared_error * hidden) / ops.maximum(ops.sum(hidden), 1.0)

    def features(self, images):
        """The mean of the encoder's outputs over all patches, none hidden: (batch, width)."""
        tokens = self.embedding(self.patches(images))
        return ops.mean(self.encoder(tokens), axis=1)

    def get_config(self):
        return {**super().get_config(), "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder), "patch_size": self.patch_size,
                "image_size": self.image_size, "mask_ratio": self.mask_ratio, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder=encoder, decoder=decoder, **config)
