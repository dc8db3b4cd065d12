import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

SITE = Path(__file__).resolve().parents[2] / "_build" / "html"


@pytest.fixture
def site_copy(tmp_path):
    """A copy of the built site that a test may break."""
    copy = tmp_path / "html"
    shutil.copytree(SITE, copy)
    return copy
