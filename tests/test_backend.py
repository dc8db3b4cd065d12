import os
import subprocess
import sys


def run(code, **extra_env):
    # Without conftest's TF_CPP_MIN_LOG_LEVEL: aehelpers must quieten TensorFlow by itself.
    env = {**{k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}, **extra_env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)


def test_silenced_block_hides_native_stderr_and_restores_it():
    result = run(
        "import os\n"
        "from aehelpers.backend import silenced_stderr_fd\n"
        "with silenced_stderr_fd():\n"
        "    os.write(2, b'hidden\\n')\n"
        "os.write(2, b'shown\\n')\n"
    )
    assert result.stderr == "shown\n"


def test_a_failing_silenced_block_shows_what_it_hid_before_the_error():
    code = (
        "import os\n"
        "from aehelpers.backend import silenced_stderr_fd\n"
        "with silenced_stderr_fd():\n"
        "    os.write(2, b'libfoo.so: cannot open shared object file\\n')\n"
        "    raise ImportError('no foo')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.startswith("libfoo.so: cannot open shared object file\n")
    assert "ImportError: no foo" in result.stderr


def test_importing_aehelpers_prints_no_backend_banners():
    result = run("import aehelpers, keras; keras.ops.ones((2,)) + 1")
    assert result.stderr == "", result.stderr


def test_the_backend_log_can_be_asked_for():
    result = run("import aehelpers, keras; keras.ops.ones((2,)) + 1",
                 AE_SHOW_BACKEND_LOG="1", KERAS_BACKEND="tensorflow")
    assert "oneDNN" in result.stderr or "cuda" in result.stderr.lower(), (
        f"AE_SHOW_BACKEND_LOG=1 should let TensorFlow's start-up messages through; stderr was {result.stderr!r}")
