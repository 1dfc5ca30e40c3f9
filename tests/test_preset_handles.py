"""Preset handles: built-in names, directories, archives over a loopback HTTP
server, the cache, hub handles and the ``python -m keras_rnnzoo.presets`` CLI.

Offline and fast: every download comes from a server this file starts on
127.0.0.1; no model is built.
"""

import hashlib
import http.server
import io
import json
import os
import socketserver
import subprocess
import sys
import tarfile
import threading
import time
import zipfile

import pytest

from keras_rnnzoo.presets import _handles
from keras_rnnzoo.presets._format import FORMAT_VERSION
from keras_rnnzoo.presets._format import PresetError
from keras_rnnzoo.presets._format import zoo_version
from keras_rnnzoo.presets._handles import resolve

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------- helpers


def make_preset(directory, version=None, seed=0):
    """A fake preset: config.json, random weights bytes, metadata.json with
    the right sha256 of each."""
    os.makedirs(directory, exist_ok=True)
    files = {"config.json": json.dumps({"class_name": "Fake", "config": {}}).encode(),
             "model.weights.h5": os.urandom(256) + bytes([seed])}
    for name, data in files.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    metadata = {"format_version": FORMAT_VERSION, "keras_rnnzoo_version": version or zoo_version(),
                "task": "FakeTask", "parameter_count": 1234,
                "metrics": {"test": {"accuracy": 0.875}},
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}}
    with open(os.path.join(directory, "metadata.json"), "w") as f:
        json.dump(metadata, f)
    return str(directory)


def archive_bytes(directory, kind="zip", top=None, extra=()):
    """The bytes of a .zip or .tar.gz of ``directory``'s files, at the top
    level or under ``top/``; ``extra``: (member name, bytes) added as is."""
    members = [((f"{top}/" if top else "") + name, open(os.path.join(directory, name), "rb").read())
               for name in sorted(os.listdir(directory))] + list(extra)
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Server:
    """A loopback HTTP server: ``routes[path]`` is bytes (served with GET and
    HEAD), or a callable ``(handler) -> None`` that answers itself."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, body=True):
                server.requests.append((self.command, self.path))
                route = server.routes.get(self.path, server.routes.get(self.path.split("?")[0]))
                if route is None:
                    self.send_error(404)
                elif callable(route):
                    route(self)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(route)))
                    self.end_headers()
                    if body:
                        self.wfile.write(route)

            def do_GET(self):
                self._answer()

            def do_HEAD(self):
                self._answer(body=False)

        class HTTPServer(http.server.ThreadingHTTPServer):
            block_on_close = False

            def server_bind(self):  # skip HTTPServer's getfqdn (a slow reverse DNS lookup)
                socketserver.TCPServer.server_bind(self)
                self.server_name, self.server_port = self.server_address[:2]

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def count(self, path):
        return sum(1 for _, p in self.requests if p.split("?")[0] == path)

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("KERAS_RNNZOO_CACHE", str(root))
    monkeypatch.delenv("KERAS_RNNZOO_DOWNLOAD_TIMEOUT", raising=False)
    return root


def cache_listing(root):
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def assert_clean(root):
    """No entry and no temporary directory in the cache."""
    assert [n for n in cache_listing(root) if n != "huggingface"] == []


# ----------------------------------------------------------- archives over HTTP


@pytest.mark.parametrize("kind,suffix,top", [("zip", ".zip", None), ("tar", ".tar.gz", "copy"),
                                             ("tar", ".tgz", None), ("zip", ".zip", "inner")])
@pytest.mark.parametrize("with_hash", [False, True])
def test_archive_download_and_cache(tmp_path, server, cache, kind, suffix, top, with_hash):
    data = archive_bytes(make_preset(tmp_path / "p"), kind, top=top)
    server.routes["/presets/copy" + suffix] = data
    url = server.url + "/presets/copy" + suffix + (f"#sha256={sha(data)}" if with_hash else "")
    directory, metadata = resolve(url, progress=False)
    assert metadata["task"] == "FakeTask"
    assert os.path.dirname(directory) == str(cache)
    assert os.path.basename(directory).startswith("copy-")
    assert sorted(os.listdir(directory))[:3] == [".keras_rnnzoo_source.json", "config.json",
                                                "metadata.json"]
    assert cache_listing(cache) == [os.path.basename(directory)]  # no temp leftovers
    # A second resolve uses the cache: no request.
    assert resolve(url, progress=False)[0] == directory
    assert server.count("/presets/copy" + suffix) == 1
    assert _handles.download(url, progress=False) == directory


def test_wrong_hash_in_cache_or_download(tmp_path, server, cache):
    data = archive_bytes(make_preset(tmp_path / "p"))
    server.routes["/copy.zip"] = data
    wrong = "0" * 64
    with pytest.raises(PresetError) as e:
        resolve(server.url + f"/copy.zip#sha256={wrong}", progress=False)
    assert sha(data) in str(e.value) and wrong in str(e.value) and "copy.zip" in str(e.value)
    assert_clean(cache)
    # A cached entry with another archive hash is not trusted for the new one.
    directory = resolve(server.url + "/copy.zip", progress=False)[0]
    with pytest.raises(PresetError, match="sha256"):
        resolve(server.url + f"/copy.zip#sha256={wrong}", progress=False)
    assert not os.path.exists(directory)
    assert_clean(cache)


def test_bad_fragment(server, cache):
    with pytest.raises(PresetError, match="#sha256=<64 hex digits>"):
        resolve(server.url + "/copy.zip#md5=abc")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "corrupt_member"])
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_damaged_archive(tmp_path, server, cache, kind, damage):
    data = archive_bytes(make_preset(tmp_path / "p"), kind)
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = b"<html>not an archive</html>" * 10
    else:  # flip bytes in the middle of the compressed data
        middle = len(data) // 3
        data = data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 40]) + data[middle + 40:]
    suffix = ".zip" if kind == "zip" else ".tar.gz"
    server.routes["/copy" + suffix] = data
    with pytest.raises(PresetError) as e:
        resolve(server.url + "/copy" + suffix, progress=False)
    message = str(e.value)
    assert "copy" + suffix in message
    assert ("truncated or corrupted" in message or "sha256" in message), message
    assert_clean(cache)


def test_cut_short_transfer(tmp_path, server, cache):
    data = archive_bytes(make_preset(tmp_path / "p"))

    def short(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data) + 1000))
        handler.end_headers()
        handler.wfile.write(data)
        handler.close_connection = True

    server.routes["/copy.zip"] = short
    with pytest.raises(PresetError, match="cut short|truncated"):
        resolve(server.url + "/copy.zip", progress=False)
    assert_clean(cache)


def test_corrupt_file_inside_archive(tmp_path, server, cache):
    preset = make_preset(tmp_path / "p")
    with open(os.path.join(preset, "model.weights.h5"), "r+b") as f:
        f.write(b"XXXX")
    server.routes["/copy.tar.gz"] = archive_bytes(preset, "tar")
    with pytest.raises(PresetError) as e:
        resolve(server.url + "/copy.tar.gz", progress=False)
    assert "model.weights.h5" in str(e.value) and "download the preset again" in str(e.value)
    assert_clean(cache)


def test_archive_without_preset(tmp_path, server, cache):
    server.routes["/empty.zip"] = archive_bytes(tmp_path, "zip", extra=[("README.txt", b"hi")])
    with pytest.raises(PresetError, match="holds no preset"):
        resolve(server.url + "/empty.zip", progress=False)
    assert_clean(cache)


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt"])
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_path_traversal_refused(tmp_path, server, cache, kind, member):
    preset = make_preset(tmp_path / "p")
    suffix = ".zip" if kind == "zip" else ".tar.gz"
    server.routes["/evil" + suffix] = archive_bytes(preset, kind, extra=[(member, b"owned")])
    with pytest.raises(PresetError, match="path traversal"):
        resolve(server.url + "/evil" + suffix, progress=False)
    assert not (tmp_path / "evil.txt").exists()
    assert_clean(cache)


def test_newer_zoo_refused(tmp_path, server, cache):
    server.routes["/new.zip"] = archive_bytes(make_preset(tmp_path / "p", version="99.0.0"))
    with pytest.raises(PresetError, match="upgrade"):
        resolve(server.url + "/new.zip", progress=False)
    assert_clean(cache)


def test_http_errors(server, cache):
    with pytest.raises(PresetError) as e:
        resolve(server.url + "/missing.zip", progress=False)
    assert "404" in str(e.value) and "missing.zip" in str(e.value) and "check the URL" in str(e.value)

    def forbidden(handler):
        handler.send_error(503)

    server.routes["/busy.zip"] = forbidden
    with pytest.raises(PresetError, match="HTTP 503"):
        resolve(server.url + "/busy.zip", progress=False)
    assert_clean(cache)


def test_connection_refused(cache):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PresetError, match="connection refused|cannot reach"):
        resolve(f"http://127.0.0.1:{port}/copy.zip", progress=False)
    assert_clean(cache)


@pytest.mark.parametrize("where", ["before_headers", "mid_body"])
def test_stalled_server_times_out(tmp_path, server, cache, monkeypatch, where):
    import socket

    data = archive_bytes(make_preset(tmp_path / "p"))

    def stall(handler):
        if where == "mid_body":
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data[:10])
            handler.wfile.flush()
        server.release.wait(10)

    server.routes["/slow.zip"] = stall
    monkeypatch.setenv("KERAS_RNNZOO_DOWNLOAD_TIMEOUT", "0.5")
    before = socket.getdefaulttimeout()
    start = time.monotonic()
    with pytest.raises(PresetError) as e:
        resolve(server.url + "/slow.zip", progress=False)
    assert time.monotonic() - start < 5
    assert "timed out" in str(e.value) and "KERAS_RNNZOO_DOWNLOAD_TIMEOUT" in str(e.value)
    assert socket.getdefaulttimeout() == before  # restored
    assert_clean(cache)


def test_bad_timeout_env(server, cache, monkeypatch):
    monkeypatch.setenv("KERAS_RNNZOO_DOWNLOAD_TIMEOUT", "soon")
    with pytest.raises(PresetError, match="KERAS_RNNZOO_DOWNLOAD_TIMEOUT"):
        resolve(server.url + "/copy.zip", progress=False)


def test_corrupt_cache_entry_downloaded_again(tmp_path, server, cache):
    server.routes["/copy.zip"] = archive_bytes(make_preset(tmp_path / "p"))
    url = server.url + "/copy.zip"
    directory = resolve(url, progress=False)[0]
    with open(os.path.join(directory, "model.weights.h5"), "ab") as f:
        f.write(b"damage")
    assert resolve(url, progress=False)[0] == directory
    assert server.count("/copy.zip") == 2
    assert cache_listing(cache) == [os.path.basename(directory)]


def test_progress_silenced(tmp_path, server, cache, capsys):
    server.routes["/copy.zip"] = archive_bytes(make_preset(tmp_path / "p"))
    resolve(server.url + "/copy.zip", progress=False)
    assert capsys.readouterr().out == ""


def test_concurrent_threads_one_entry(tmp_path, server, cache):
    data = archive_bytes(make_preset(tmp_path / "p"))
    barrier = threading.Barrier(2, timeout=5)

    def both_at_once(handler):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    server.routes["/race.zip"] = both_at_once
    results, errors = [], []

    def run():
        try:
            results.append(resolve(server.url + "/race.zip", progress=False)[0])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors and len(results) == 2 and results[0] == results[1]
    assert server.count("/race.zip") == 2
    assert cache_listing(cache) == [os.path.basename(results[0])]


CHILD = ("import sys; from keras_rnnzoo.presets._handles import resolve; "
         "print(resolve(sys.argv[1], progress=False)[0])")


@pytest.mark.slow  # two interpreters importing keras: several seconds
def test_concurrent_processes_one_entry(tmp_path, server, cache):
    data = archive_bytes(make_preset(tmp_path / "p"), "tar")
    barrier = threading.Barrier(2, timeout=20)

    def both_at_once(handler):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    server.routes["/race.tar.gz"] = both_at_once
    # The children only download: the numpy backend is the cheapest to import.
    env = dict(os.environ, KERAS_BACKEND="numpy", PYTHONPATH=REPO)
    children = [subprocess.Popen([sys.executable, "-c", CHILD, server.url + "/race.tar.gz"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
                for _ in range(2)]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0, err[-3000:]
    directories = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(directories) == 1
    assert cache_listing(cache) == [os.path.basename(directories.pop())]
    assert server.count("/race.tar.gz") == 2


# ------------------------------------------------------- local handles


def test_local_directory_and_file_url(tmp_path, cache, monkeypatch):
    preset = make_preset(tmp_path / "p")
    assert resolve(preset)[0] == preset
    assert resolve("file://" + preset)[0] == preset
    monkeypatch.chdir(tmp_path)
    assert resolve("./p")[0] == preset
    assert resolve("p", builtin={})[0] == preset  # an existing directory that is no built-in
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve("~/p")[0] == preset
    assert cache_listing(cache) == []  # directories are verified in place, not copied
    with pytest.raises(PresetError, match="does not exist"):
        resolve(str(tmp_path / "nowhere"))


def test_local_directory_damaged(tmp_path):
    preset = make_preset(tmp_path / "p")
    with open(os.path.join(preset, "config.json"), "a") as f:
        f.write(" ")
    with pytest.raises(PresetError, match="config.json has sha256"):
        resolve(preset)


def test_file_url_archive(tmp_path, cache):
    path = tmp_path / "copy.tar.gz"
    path.write_bytes(archive_bytes(make_preset(tmp_path / "p"), "tar"))
    directory = resolve("file://" + str(path), progress=False)[0]
    assert os.path.dirname(directory) == str(cache)
    assert resolve(str(path), progress=False)[0] == directory  # a plain path: same entry
    assert cache_listing(cache) == [os.path.basename(directory)]


def test_cache_dir_argument_and_cache_root(tmp_path, server, monkeypatch):
    monkeypatch.delenv("KERAS_RNNZOO_CACHE", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert _handles.cache_root() == str(tmp_path / "kh" / "keras_rnnzoo" / "presets")
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _handles.cache_root() == str(tmp_path / "home" / ".keras" / "keras_rnnzoo" / "presets")
    server.routes["/copy.zip"] = archive_bytes(make_preset(tmp_path / "p"))
    directory = resolve(server.url + "/copy.zip", cache_dir=tmp_path / "mine", progress=False)[0]
    assert os.path.dirname(directory) == str(tmp_path / "mine")


# ------------------------------------------------------- built-in names


def test_builtin_names(tmp_path):
    builtin = {"copy_urnn": {"path": make_preset(tmp_path / "copy_urnn")},
               "adding_expRNN": {"path": make_preset(tmp_path / "adding")}}
    directory, metadata = resolve("copy_urnn", builtin=builtin)
    assert directory == builtin["copy_urnn"]["path"] and metadata["task"] == "FakeTask"
    with pytest.raises(PresetError) as e:
        resolve("copy_unrn", builtin=builtin)
    message = str(e.value)
    assert "'copy_unrn'" in message and "did you mean 'copy_urnn'" in message
    assert "list_presets()" in message and "python -m keras_rnnzoo.presets list" in message
    with pytest.raises(PresetError, match="no built-in presets"):
        resolve("copy_urnn", builtin={})


def test_unknown_forms():
    for handle in ["ftp://host/copy.zip", "s3://bucket/copy.zip", "https://example.org/copy.h5",
                   "https://example.org/copy"]:
        with pytest.raises(PresetError) as e:
            resolve(handle)
        assert repr(handle) in str(e.value) and "hf://org/name" in str(e.value)
    with pytest.raises(PresetError, match="hf://org/name"):
        resolve("hf://just-a-name")
    with pytest.raises(PresetError, match="kaggle://owner/model/framework/variation"):
        resolve("kaggle://owner/model")


# ------------------------------------------------------------------ hubs


def test_hf_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(PresetError) as e:
        resolve("hf://org/name")
    assert isinstance(e.value, ImportError)
    assert "'hf://org/name'" in str(e.value) and "pip install huggingface_hub" in str(e.value)
    assert "keras-rnnzoo[hub]" in str(e.value)


def test_kaggle_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "kagglehub", None)
    with pytest.raises(ImportError) as e:
        resolve("kaggle://owner/model/keras/copy/1")
    assert isinstance(e.value, PresetError)
    assert "pip install kagglehub" in str(e.value) and "kaggle://owner/model" in str(e.value)


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hf_routes(server, repo, preset):
    """The endpoints huggingface_hub's snapshot_download calls: the revision
    info, the file tree and HEAD/GET on /{repo}/resolve/{revision}/{file}."""
    files = {name: open(os.path.join(preset, name), "rb").read() for name in os.listdir(preset)}

    def json_route(payload):
        body = json.dumps(payload).encode()

        def answer(handler):
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(body)
        return answer

    server.routes[f"/api/models/{repo}/revision/main"] = json_route({"id": repo, "sha": COMMIT})
    server.routes[f"/api/models/{repo}/tree/{COMMIT}"] = json_route(
        [{"type": "file", "oid": hashlib.sha1(data).hexdigest(), "size": len(data), "path": name}
         for name, data in files.items()])
    for name, data in files.items():
        def answer(handler, data=data):
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("X-Repo-Commit", COMMIT)
            handler.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(data)
        for revision in ("main", COMMIT):
            server.routes[f"/{repo}/resolve/{revision}/{name}"] = answer


def test_hf_snapshot_from_loopback_endpoint(tmp_path, server, cache, monkeypatch):
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", "")
    hf_routes(server, "org/copy", make_preset(tmp_path / "p"))
    directory, metadata = resolve("hf://org/copy", progress=False)
    assert metadata["task"] == "FakeTask"
    assert directory.startswith(str(cache / "huggingface"))
    assert resolve("hf://org/copy@main", progress=False)[0] == directory
    with pytest.raises(PresetError) as e:
        resolve("hf://org/absent", progress=False)
    assert "'hf://org/absent'" in str(e.value) and "repository name" in str(e.value)


# ------------------------------------------------------------------- CLI


def test_cli_verify_and_download(tmp_path, server, cache, capsys):
    from keras_rnnzoo.presets.__main__ import main

    preset = make_preset(tmp_path / "p")
    assert main(["verify", preset]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK {preset}\n")
    assert json.load(open(os.path.join(preset, "metadata.json")))["files"]["config.json"] in out

    with open(os.path.join(preset, "model.weights.h5"), "ab") as f:
        f.write(b"x")
    assert main(["verify", preset]) == 1
    captured = capsys.readouterr()
    assert "model.weights.h5 has sha256" in captured.err and "Traceback" not in captured.err

    server.routes["/copy.zip"] = archive_bytes(make_preset(tmp_path / "q"))
    assert main(["download", server.url + "/copy.zip", "--cache-dir", str(tmp_path / "c"),
                 "--quiet"]) == 0
    directory = capsys.readouterr().out.strip()
    assert os.path.dirname(directory) == str(tmp_path / "c")

    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["verify"])
    assert e.value.code == 2


def test_cli_list(tmp_path, monkeypatch, capsys):
    from keras_rnnzoo.presets.__main__ import main

    monkeypatch.setattr(_handles, "builtin_presets", lambda: {})
    assert main(["list"]) == 0
    assert "no built-in presets" in capsys.readouterr().out
    registry = {"copy_urnn": {"path": make_preset(tmp_path / "a")},
                "adding_lstm": {"path": str(tmp_path / "absent"), "task": "AddingRegressor",
                                "metrics": {"test": {"mse": 0.00123}}, "parameter_count": 5000}}
    monkeypatch.setattr(_handles, "builtin_presets", lambda: registry)
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["copy_urnn", "FakeTask", "accuracy=0.875", "(test)", "1,234", "params"]
    assert lines[1].split() == ["adding_lstm", "AddingRegressor", "mse=0.00123", "(test)", "5,000",
                                "params"]
