"""The SSRF guard: base URL checks, and connect-time refusal that DNS rebinding cannot get past.

Everything runs on 127.0.0.1; names are mapped to addresses by fake resolvers. A refused request must
never open a TCP connection, so the local server counts the connections it accepts.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from shared.providers.client import new_http_client
from shared.providers.egress import (
    EgressRefused,
    check_base_url,
    check_base_url_resolved,
    guarded_transport,
    refusal_reason,
)
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import ProviderCredential
from shared.providers.registry import adapter_for
from tests.providers.builders import chat

TEST_HOST = "api.tokenroute.test"
PUBLIC_ADDRESS = "93.184.215.14"  # any globally routable address; never contacted


class LocalServer:
    """HTTP(S) on 127.0.0.1 that counts accepted connections and records (path, Host) of each request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, self.headers.get("Host", "")))
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{outer.port}/landed")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: object, client_address: object) -> bool:
                outer.connections += 1
                return True

        self._httpd = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def local() -> Iterator[LocalServer]:
    server = LocalServer()
    try:
        yield server
    finally:
        server.stop()


class FakeResolver:
    """Answers the given address lists in turn (the last one from then on) and records each lookup."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = answers
        self.lookups: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append((host, port))
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


def guarded_client(allow_private: bool, resolver: FakeResolver | None = None) -> httpx.AsyncClient:
    if resolver is None:
        return new_http_client(timeout=httpx.Timeout(3.0), transport=guarded_transport(allow_private))
    transport = guarded_transport(allow_private, resolver=resolver)
    return new_http_client(timeout=httpx.Timeout(3.0), transport=transport)


# --- check_base_url ---------------------------------------------------------------------------------

REFUSED = [
    ("https://127.0.0.1", "loopback"),
    ("https://127.0.0.1.:8443/v1", "loopback"),
    ("https://[::1]", "loopback"),
    ("https://10.0.0.1", "private"),
    ("https://172.16.5.4", "private"),
    ("https://192.168.1.10", "private"),
    ("https://[fd00::1]", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]", "link-local"),
    ("https://0.0.0.0", "unspecified"),
    ("https://[::]", "unspecified"),
    ("https://[::ffff:127.0.0.1]", "loopback"),
    ("https://[::ffff:169.254.169.254]", "link-local"),
    ("https://[64:ff9b::a9fe:a9fe]", "link-local"),  # NAT64 of 169.254.169.254
    ("https://[2002:7f00:1::1]", "loopback"),  # 6to4 of 127.0.0.1
    ("https://100.64.0.1", "carrier-grade NAT"),
    ("https://224.0.0.251", "multicast"),
    ("https://[ff02::1]", "multicast"),
    ("https://240.0.0.1", "private"),  # 240/4 is reserved; Python lists it among the private ranges
    ("https://2130706433", "loopback"),  # decimal 127.0.0.1: getaddrinfo reads it as an address
    ("https://017700000001", "loopback"),  # octal
    ("https://0x7f000001", "loopback"),  # hex
    ("https://127.1", "loopback"),  # inet_aton short form
    ("https://0x7f.1", "loopback"),
    ("https://127%2e0.0.1", "not a valid host"),  # httpx keeps the escape; getaddrinfo would see it
    ("https://1.1.1.1 /v1", "not a valid host"),
    ("https://localhost:8443", "localhost"),
    ("https://evil.localhost", "localhost"),
    ("http://example.com", "https"),
    ("ftp://example.com", "https"),
    ("example.com", "https"),
    ("", "empty"),
    ("https://", "no host"),
    ("https://user:hunter2@api.openai.com/v1", "user name or password"),
    ("https://api.openai.com/v1#frag", "fragment"),
    ("https://api.openai.com/v1?api-version=1", "query"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_check_base_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(EgressRefused, match=reason) as caught:
        check_base_url(url, allow_private=False)
    assert isinstance(caught.value, ValueError)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
        ("  HTTPS://API.Anthropic.COM:443/ ", "https://api.anthropic.com"),
        ("https://example.com:8443/a/b", "https://example.com:8443/a/b"),
        ("https://bücher.example/v1", "https://xn--bcher-kva.example/v1"),
        ("https://8.8.8.8/v1", "https://8.8.8.8/v1"),
        ("https://[2606:4700:4700::1111]/v1", "https://[2606:4700:4700::1111]/v1"),
        ("https://my-resource.openai.azure.com", "https://my-resource.openai.azure.com"),
    ],
)
def test_check_base_url_accepts_and_normalizes(url: str, normalized: str) -> None:
    assert check_base_url(url, allow_private=False) == normalized


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:11434/v1", "http://localhost:8000/v1", "https://10.0.0.1", "https://[::1]:1234"]
)
def test_allow_private_accepts_private_and_http(url: str) -> None:
    assert check_base_url(url, allow_private=True).startswith(url.split(":")[0])


@pytest.mark.parametrize(
    ("url", "reason"), [("ftp://10.0.0.1", "https"), ("http://u:p@127.0.0.1", "password"), ("http://h/#x", "fragment")]
)
def test_allow_private_still_refuses_malformed_urls(url: str, reason: str) -> None:
    with pytest.raises(EgressRefused, match=reason):
        check_base_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("::ffff:8.8.8.8", False),  # mapped public IPv4 is that public address
        ("64:ff9b::808:808", False),  # NAT64 of 8.8.8.8
        ("192.0.2.1", True),  # documentation range
        ("198.18.0.1", True),  # benchmarking range
        ("2001::1", True),  # Teredo
        ("::7f00:1", True),  # deprecated IPv4-compatible form
    ],
)
def test_refusal_reason(address: str, refused: bool) -> None:
    assert (refusal_reason(ipaddress.ip_address(address)) is not None) is refused


async def test_resolved_check_refuses_a_name_resolving_to_loopback() -> None:
    with pytest.raises(EgressRefused, match=r"resolves to 127\.0\.0\.1, which is loopback"):
        await check_base_url_resolved(
            f"https://{TEST_HOST}/v1", allow_private=False, resolver=FakeResolver([PUBLIC_ADDRESS, "127.0.0.1"])
        )
    resolver = FakeResolver([PUBLIC_ADDRESS])
    assert await check_base_url_resolved(f"https://{TEST_HOST}/v1/", allow_private=False, resolver=resolver) == (
        f"https://{TEST_HOST}/v1"
    )
    assert resolver.lookups == [(TEST_HOST, 443)]


# --- connect-time refusal -----------------------------------------------------------------------------


async def test_transport_refuses_local_addresses_without_connecting(local: LocalServer) -> None:
    port = local.port
    urls = [
        f"https://127.0.0.1:{port}/",
        f"https://[::1]:{port}/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        f"http://127.0.0.1:{port}/",  # http is refused before the address is even looked at
        "http://example.com/",
        f"https://localhost:{port}/",
        f"https://2130706433:{port}/",
        f"https://[::ffff:127.0.0.1]:{port}/",
    ]
    async with guarded_client(False) as client:
        for url in urls:
            with pytest.raises(EgressRefused, match="refused"):
                await client.get(url)
    assert local.connections == 0
    assert local.requests == []


async def test_a_name_resolving_to_loopback_is_refused_at_connect(local: LocalServer) -> None:
    resolver = FakeResolver(["127.0.0.1"])
    async with guarded_client(False, resolver) as client:
        with pytest.raises(EgressRefused, match=r"'api\.tokenroute\.test'.*127\.0\.0\.1, which is loopback"):
            await client.get(f"https://{TEST_HOST}:{local.port}/")
    assert resolver.lookups == [(TEST_HOST, local.port)]
    assert local.connections == 0


async def test_dns_rebinding_is_refused_at_connect(local: LocalServer) -> None:
    # Public when the credential is saved, loopback when the call connects.
    resolver = FakeResolver([PUBLIC_ADDRESS], ["127.0.0.1"])
    url = f"https://{TEST_HOST}:{local.port}/v1"
    assert await check_base_url_resolved(url, allow_private=False, resolver=resolver) == url
    async with guarded_client(False, resolver) as client:
        with pytest.raises(EgressRefused, match="loopback"):
            await client.get(url + "/chat/completions")
    assert len(resolver.lookups) == 2
    assert local.connections == 0


@pytest.mark.parametrize(
    "answer",
    [
        [PUBLIC_ADDRESS, "127.0.0.1"],
        ["10.1.2.3", PUBLIC_ADDRESS],
        [PUBLIC_ADDRESS, "::ffff:169.254.169.254"],
        ["2606:4700:4700::1111", "fe80::1%1"],
    ],
)
async def test_any_refused_address_refuses_the_host(local: LocalServer, answer: list[str]) -> None:
    async with guarded_client(False, FakeResolver(answer)) as client:
        with pytest.raises(EgressRefused, match="refused"):
            await client.get(f"https://{TEST_HOST}:{local.port}/")
    assert local.connections == 0


async def test_an_unresolvable_name_is_a_connect_error() -> None:
    async def fail(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async with new_http_client(transport=guarded_transport(False, resolver=fail)) as client:
        with pytest.raises(httpx.ConnectError, match="cannot resolve"):
            await client.get(f"https://{TEST_HOST}/")


async def test_adapters_report_a_refusal_as_a_request_error(local: LocalServer) -> None:
    credential = ProviderCredential(api_key=SecretStr("sk-test"), base_url=f"https://127.0.0.1:{local.port}/v1")
    async with new_http_client() as client:
        with pytest.raises(ProviderError) as caught:
            await adapter_for("openai")(client, credential, chat())
    assert caught.value.kind is ErrorKind.REQUEST
    assert not caught.value.retryable
    assert "loopback" in caught.value.message
    assert local.connections == 0


async def test_new_http_client_is_guarded_by_default(local: LocalServer) -> None:
    async with new_http_client() as client:
        with pytest.raises(EgressRefused):
            await client.get(f"https://127.0.0.1:{local.port}/")
    assert local.connections == 0


# --- allowed private endpoints, redirects, TLS ----------------------------------------------------------


async def test_allow_private_reaches_a_local_server_over_http(local: LocalServer) -> None:
    async with new_http_client(allow_private=True) as client:
        response = await client.get(f"http://127.0.0.1:{local.port}/hello")
    assert response.status_code == 200
    assert local.requests == [("/hello", f"127.0.0.1:{local.port}")]


async def test_the_connection_goes_to_the_resolved_address_with_the_hostname_kept(local: LocalServer) -> None:
    resolver = FakeResolver(["127.0.0.1"])
    async with guarded_client(True, resolver) as client:
        response = await client.get(f"http://{TEST_HOST}:{local.port}/named")
    assert response.status_code == 200
    assert local.requests == [("/named", f"{TEST_HOST}:{local.port}")]
    assert resolver.lookups == [(TEST_HOST, local.port)]


async def test_a_redirect_to_loopback_is_not_followed(local: LocalServer) -> None:
    async with new_http_client(allow_private=True) as client:
        response = await client.get(f"http://127.0.0.1:{local.port}/redirect")
    assert response.status_code == 302
    location = response.headers["location"]
    assert location == f"http://127.0.0.1:{local.port}/landed"
    assert local.requests == [("/redirect", f"127.0.0.1:{local.port}")]
    assert local.connections == 1
    with pytest.raises(EgressRefused):
        check_base_url(location, allow_private=False)


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_tls_verifies_the_hostname_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    cert_path, key_path = _self_signed(tmp_path, TEST_HOST)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    sni: list[str | None] = []
    server_context.sni_callback = lambda _socket, name, _context: sni.append(name)
    server = LocalServer(tls=server_context)
    try:
        client_context = ssl.create_default_context(cafile=str(cert_path))
        transport = guarded_transport(True, resolver=FakeResolver(["127.0.0.1"]), verify=client_context)
        async with new_http_client(timeout=httpx.Timeout(3.0), transport=transport) as client:
            response = await client.get(f"https://{TEST_HOST}:{server.port}/tls")
            assert response.status_code == 200
            # The certificate names TEST_HOST, not 127.0.0.1: a URL with the address must fail verification.
            with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|IP address mismatch"):
                await client.get(f"https://127.0.0.1:{server.port}/tls")
    finally:
        server.stop()
    assert sni[0] == TEST_HOST
    assert server.requests[0] == ("/tls", f"{TEST_HOST}:{server.port}")
