import os

import pytest

from synthetic_vgg import write_vgg_mat

REAL_WEIGHTS = os.environ.get("NST_VGG19")


@pytest.fixture(scope="session")
def tiny_vgg(tmp_path_factory):
    """{'new': path, 'old': path} of tiny synthetic VGG-19 files, and their weights."""
    folder = tmp_path_factory.mktemp("vgg")
    files = {}
    for fmt in ("new", "old"):
        path = str(folder / f"tiny-{fmt}.mat")
        files[fmt] = (path, write_vgg_mat(path, fmt))
    return files


@pytest.fixture
def real_vgg():
    if not REAL_WEIGHTS:
        pytest.skip("NST_VGG19 is not set: real-weight tests need the VGG-19 .mat")
    if not os.path.exists(REAL_WEIGHTS):
        pytest.skip(f"NST_VGG19={REAL_WEIGHTS} does not exist")
    return REAL_WEIGHTS
