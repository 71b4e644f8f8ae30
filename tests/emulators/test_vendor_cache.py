"""The vendor SDK virtualenv cache: keyed by the pins, built once under a lock."""

import base64
import hashlib
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.emulators.vendor import cache_dir, cache_key, cached_python


def _tiny_wheel(where: Path) -> Path:
    """A one-module wheel, ``tinyvendor==1.0``, for pip to install offline."""
    files = {
        "tinyvendor.py": b"ANSWER = 42\n",
        "tinyvendor-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinyvendor\nVersion: 1.0\n",
        "tinyvendor-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(data)}")
    record.append("tinyvendor-1.0.dist-info/RECORD,,")
    wheel = where / "tinyvendor-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr("tinyvendor-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def test_the_key_is_the_pins() -> None:
    assert cache_key(["a==1", "b==2"]) == cache_key(["b==2", "a==1"])
    assert cache_key(["a==1"]) != cache_key(["a==2"])
    assert cache_dir("sdk", ["a==1"]) != cache_dir("sdk", ["a==2"])


def test_concurrent_callers_build_one_virtualenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCGROUPS_FIDELITY_CACHE", str(tmp_path / "cache"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _tiny_wheel(wheels)
    log = tmp_path / "pip.log"
    packages = (
        "--no-index",
        "--find-links",
        str(wheels),
        "--log",
        str(log),
        "tinyvendor==1.0",
    )
    check = "import tinyvendor; assert tinyvendor.ANSWER == 42"
    with ThreadPoolExecutor(3) as pool:
        pythons = list(
            pool.map(lambda _: cached_python("tiny", packages, check), range(3))
        )
    assert len(set(pythons)) == 1
    assert pythons[0].parent.parent == cache_dir("tiny", packages)
    # One pip run installed it; the callers that waited found it ready.
    assert log.read_text().count("Successfully installed tinyvendor-1.0") == 1
    done = subprocess.run([str(pythons[0]), "-c", check], check=False)
    assert done.returncode == 0
    assert cached_python("tiny", packages, check) == pythons[0]
    assert log.read_text().count("Successfully installed tinyvendor-1.0") == 1
