"""`nst download`'s matconvnet route against a local HTTP server: cache by default, resumable, digest-checked,
one-line errors."""
import hashlib
import http.server
import os
import threading

import pytest

from loopback import free_port
from nst.errors import NSTError
from nst.algorithm.vgg import read_vgg_weights, resolve_weights_path
from nst.commands import download
from nst.weights import routes
from synthetic_vgg import write_vgg_mat


class Server(http.server.ThreadingHTTPServer):
    """Serves ``payload`` at any path; records (Range header, bytes sent) of each request.

    ``honour_range`` False answers 200 with the whole file to a Range request;
    ``cut_after`` K sends the full Content-Length but drops the connection
    after K bytes, the first time only; ``status`` 404 answers every request so.
    """

    def __init__(self, payload, honour_range=True, cut_after=None, status=200):
        super().__init__(("127.0.0.1", 0), Handler)
        self.payload, self.honour_range, self.cut_after, self.status = payload, honour_range, cut_after, status
        self.requests = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/imagenet-vgg-verydeep-19.mat"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv, asked = self.server, self.headers.get("Range")
        if srv.status != 200:
            srv.requests.append((asked, 0))
            self.send_error(srv.status)
            return
        start = int(asked[len("bytes="):-1]) if asked and srv.honour_range else 0
        if start >= len(srv.payload) > 0:  # as real servers do: nothing left to send
            srv.requests.append((asked, 0))
            self.send_error(416)
            return
        body = srv.payload[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(srv.payload) - 1}/{len(srv.payload)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.cut_after is not None:
            body, srv.cut_after = body[: srv.cut_after], None
            self.close_connection = True
        srv.requests.append((asked, len(body)))  # before sending: the client may finish first
        self.wfile.write(body)


def fetch(dest=None, url=None, md5=None, progress=False):
    """The matconvnet route, as ``nst download --url URL --md5 HEX [DEST]`` runs it: (path, how)."""
    got = routes.obtain(routes.MATCONVNET, dest, url=url, md5=md5, say=print, progress=progress)
    return got.path, got.how


@pytest.fixture
def weights(tmp_path_factory):
    """The bytes of a tiny synthetic VGG-19 file and their MD5."""
    path = tmp_path_factory.mktemp("src") / "tiny.mat"
    write_vgg_mat(str(path))
    data = path.read_bytes()
    return data, hashlib.md5(data).hexdigest()


@pytest.fixture
def serve(weights):
    servers = []

    def start(**kwargs):
        server = Server(weights[0], **kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cache(user_cache):
    """The default DEST in an empty user cache."""
    return user_cache / "imagenet-vgg-verydeep-19.mat"


def _one_line(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nst download: error: "), err
    return err


def test_full_download_into_the_user_cache(serve, weights, cache, capsys):
    server = serve()
    assert download.main(["--url", server.url, "--md5", weights[1], "--quiet"]) == 0
    assert cache.read_bytes() == weights[0]
    assert sorted(os.listdir(cache.parent)) == [cache.name, cache.name + ".json"]  # no .part left
    assert server.requests == [(None, len(weights[0]))]
    assert capsys.readouterr().out == f"{cache}: downloaded from matconvnet, MD5 as given\n"
    assert os.listdir(".") == []  # nothing made in the current folder


def test_found_from_another_folder_and_not_fetched_twice(serve, weights, cache, tmp_path, monkeypatch, capsys):
    server = serve()
    got = fetch(url=server.url, md5=weights[1], progress=False)
    assert got == (str(cache), "downloaded from matconvnet, MD5 as given")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert resolve_weights_path() == str(cache)
    assert read_vgg_weights(resolve_weights_path()).convs["conv1_1"][0].shape == (3, 3, 3, 4)
    assert download.main(["--url", server.url, "--md5", weights[1].upper()]) == 0
    assert capsys.readouterr().out == f"{cache}: already there, MD5 as given\n"
    assert len(server.requests) == 1


def test_interrupted_download_resumes_with_a_range_request(serve, weights, cache, capsys):
    data, md5 = weights
    cut = len(data) // 3
    server = serve(cut_after=cut)
    assert download.main(["--url", server.url, "--md5", md5, "--quiet"]) == 2
    err = _one_line(capsys)
    assert server.url in err and f"connection closed after {cut} of {len(data)} bytes" in err
    assert f"{cache}.part kept" in err and not cache.exists()
    assert (cache.parent / (cache.name + ".part")).read_bytes() == data[:cut]

    assert download.main(["--url", server.url, "--md5", md5, "--quiet"]) == 0
    assert server.requests == [(None, cut), (f"bytes={cut}-", len(data) - cut)]
    assert cache.read_bytes() == data and sorted(os.listdir(cache.parent)) == [cache.name, cache.name + ".json"]


def test_server_ignoring_range_restarts_from_zero(serve, weights, cache):
    data, md5 = weights
    part = cache.parent / (cache.name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 100)  # appended to, this would spoil the file
    server = serve(honour_range=False)
    path, _ = fetch(url=server.url, md5=md5, progress=False)
    assert server.requests == [("bytes=100-", len(data))]
    assert path == str(cache) and cache.read_bytes() == data and not part.exists()


def test_complete_part_is_checked_without_fetching_again(serve, weights, cache):
    data, md5 = weights
    part = cache.parent / (cache.name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(data)
    server = serve()  # answers 416 Range Not Satisfiable
    fetch(url=server.url, md5=md5, progress=False)
    assert server.requests == [(f"bytes={len(data)}-", 0)]
    assert cache.read_bytes() == data and not part.exists()


def test_wrong_md5_keeps_nothing(serve, weights, tmp_path, capsys):
    data, md5 = weights
    server = serve()
    dest = tmp_path / "vgg.mat"
    (tmp_path / "vgg.mat.part").write_bytes(data[:50])  # resumed, refused, fetched whole again, refused
    assert download.main([str(dest), "--url", server.url, "--quiet"]) == 2  # the known releases only
    err = _one_line(capsys)
    assert f"{server.url}: downloaded file has MD5 {md5} (SHA-256 " in err and "nothing kept" in err
    assert all(known in err for known in routes.MATCONVNET.known)
    assert os.listdir(tmp_path) == [] and server.requests == [("bytes=50-", len(data) - 50), (None, len(data))]


def test_wrong_md5_removes_the_folders_it_made(serve, weights, tmp_path):
    server = serve()
    with pytest.raises(NSTError, match="nothing kept"):
        fetch(str(tmp_path / "new" / "sub" / "vgg.mat"), server.url, md5="0" * 32, progress=False)
    assert os.listdir(tmp_path) == []


def test_http_404_is_one_line_naming_the_url(serve, tmp_path, capsys):
    server = serve(status=404)
    dest = tmp_path / "models" / "vgg.mat"
    assert download.main([str(dest), "--url", server.url, "--quiet"]) == 2
    err = _one_line(capsys)
    assert f"{server.url}: cannot download (HTTP 404 Not Found)" in err and f"put the weights at {dest}" in err
    assert "kept" not in err and os.listdir(tmp_path) == []  # no empty folder made


def test_connection_refused_is_one_line_naming_the_url(tmp_path, capsys):
    port = free_port()  # nobody listens on it
    url = f"http://127.0.0.1:{port}/imagenet-vgg-verydeep-19.mat"
    dest = tmp_path / "vgg.mat"
    assert download.main([str(dest), "--url", url, "--quiet"]) == 2
    err = _one_line(capsys)
    assert f"{url}: cannot download (" in err and "refused" in err.lower() and f"put the weights at {dest}" in err
    assert os.listdir(tmp_path) == []


def test_run_elsewhere_leaves_no_pretrained_model_folder(serve, weights, cache, tmp_path):
    server = serve(status=404)
    assert download.main(["--url", server.url, "--quiet"]) == 2
    server = serve()
    assert download.main(["--url", server.url, "--md5", weights[1], "--quiet"]) == 0
    assert os.listdir(tmp_path / "work") == [] and cache.exists()


def test_folder_as_dest_gets_the_usual_name(serve, weights, tmp_path):
    server = serve()
    path, _ = fetch(str(tmp_path) + os.sep, server.url, md5=weights[1], progress=False)
    assert path == str(tmp_path / "imagenet-vgg-verydeep-19.mat")
    assert sorted(os.listdir(tmp_path)) == ["imagenet-vgg-verydeep-19.mat", "imagenet-vgg-verydeep-19.mat.json"]


def test_malformed_md5_is_refused_before_fetching(serve, tmp_path, capsys):
    server = serve()
    assert download.main([str(tmp_path / "vgg.mat"), "--url", server.url, "--md5", "abc"]) == 2
    assert "'abc' is not an MD5 digest" in _one_line(capsys)
    assert server.requests == [] and os.listdir(tmp_path) == []
