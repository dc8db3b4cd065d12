import keras
import pytest
from keras import layers

from aehelpers.flops import count_flops, epoch_flops


def test_dense_flops_are_two_per_weight():
    x = keras.Input((784,))
    model = keras.Model(x, layers.Dense(784)(layers.Dense(32)(x)))
    assert count_flops(model) == 2 * (784 * 32 + 32 * 784)


def test_conv_and_transposed_conv_flops():
    x = keras.Input((28, 28, 1))
    y = layers.Conv2D(8, 3, padding="same")(x)  # 28*28 positions * 9*1*8 MACs
    y = layers.Conv2DTranspose(4, 3, strides=2, padding="valid")(y)  # 28*28 inputs * 9*8*4
    model = keras.Model(x, y)
    assert count_flops(model) == 2 * 28 * 28 * 9 * 8 + 2 * 28 * 28 * 9 * 8 * 4


def test_lstm_and_time_distributed_and_nesting():
    x = keras.Input((28, 28))
    inner = keras.Model(x, layers.TimeDistributed(layers.Dense(28))(layers.LSTM(16, return_sequences=True)(x)))
    outer_input = keras.Input((28, 28))
    outer = keras.Model(outer_input, inner(outer_input))
    expected = 28 * 2 * 4 * 16 * (28 + 16) + 28 * 2 * 16 * 28
    assert count_flops(inner) == expected == count_flops(outer)


class Codebook(layers.Layer):
    """A stand-in for a vector quantiser: a layer with a codebook of 8 codes of width 4."""

    def build(self, input_shape):
        self.codebook = self.add_weight(shape=(8, 4), name="codebook")

    def call(self, x):
        return x


def test_a_quantiser_costs_the_distances_to_every_code_and_an_embedding_a_look_up():
    x = keras.Input((7, 7, 4))
    assert count_flops(keras.Model(x, Codebook()(x))) == 7 * 7 * 2 * 8 * 4
    indices = keras.Input((49,), dtype="int32")
    assert count_flops(keras.Model(indices, layers.Embedding(256, 16)(indices))) == 0


def test_unknown_time_distributed_layer_is_refused():
    x = keras.Input((5, 4, 4, 1))
    model = keras.Model(x, layers.TimeDistributed(layers.Conv2D(2, 3))(x))
    with pytest.raises(ValueError, match="TimeDistributed"):
        count_flops(model)


def test_unknown_layers_with_weights_and_open_sizes_are_refused_not_counted_as_zero():
    x = keras.Input((28, 3))
    with pytest.raises(ValueError, match="does not know GRU layers"):
        count_flops(keras.Model(x, layers.GRU(4)(x)))
    images = keras.Input((28, 28, 1))
    normalised = keras.Model(images, layers.BatchNormalization()(layers.Conv2D(2, 3)(images)))
    assert count_flops(normalised) == 2 * 26 * 26 * 9 * 2  # normalisation is element-wise
    rows = keras.Input((None, 28))
    with pytest.raises(ValueError, match="fixed input sizes"):
        count_flops(keras.Model(rows, layers.Dense(4)(rows)))


def test_save_results_keeps_the_record_when_flops_cannot_be_counted(full_run_in_tmp):
    from aehelpers.records import save_results

    x = keras.Input((28, 3))
    model = keras.Model(x, layers.GRU(4)(x))
    with pytest.warns(UserWarning, match="forward_flops left out"):
        record = save_results("toy", {"loss": [1.0, 0.5]}, model=model)
    assert record["forward_flops"] is None and record["final_loss"] == 0.5


def test_cpu_peak_is_positive_where_cpuinfo_exists():
    from pathlib import Path

    from aehelpers.flops import cpu_peak_gflops

    peak = cpu_peak_gflops()
    if Path("/proc/cpuinfo").is_file():
        assert peak is not None and 1.0 < peak < 100_000.0


def test_an_epoch_costs_three_passes_per_training_image_and_one_per_validation_image():
    assert epoch_flops(100, training_examples=60_000, validation_examples=10_000) == 100 * (3 * 60_000 + 10_000)
    assert epoch_flops(100, training_examples=10) == 3_000
