"""Shared fixtures: a development PKI made by ``keys init``, a signing runtime, an NSS db."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509

from keys.devpki import init_keydir
from keys.keydir import KeyDir
from keys.trust import TrustList
from signer.document import SignedResult, SignOptions
from signer.metadata import ResultMetadata, parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.officials import Hierarchy, hierarchy
from tests.pdfs import example_metadata
from tests.postgres import Cluster, start_cluster
from tests.service import PUBLIC_URL, Client, Service, create_api_key, use_registry
from tests.validators import make_nssdb

EXAMPLE_PDF = Path(__file__).resolve().parent.parent / "examples" / "ket-qua-mau.pdf"

REGISTRIES = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--registry",
        choices=REGISTRIES,
        default="sqlite",
        help="the registry every test's service runs on (make test runs the suite on both)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "registry(name): the test is about one registry backend only"
    )


# fixtures that start a real ``ketqua serve`` or database: a test that uses one is slow
SERVICE_FIXTURES = frozenset({"service", "client", "api_key", "database_files", "postgres"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test about one backend runs in that backend's run of the suite, and only there;
    a test that uses a real service is marked ``slow`` (``make test-fast`` leaves it out)."""
    chosen = config.getoption("--registry")
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        marker = item.get_closest_marker("registry")
        (dropped if marker is not None and marker.args[0] != chosen else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def registry_name(config: pytest.Config) -> str:
    return str(config.getoption("--registry"))


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``KETQUA_*`` variable of the caller's shell reaches the test's settings."""
    for name in list(os.environ):
        if name.startswith("KETQUA_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> KeyDir:
    root = tmp_path_factory.mktemp("pki") / "keys"
    return init_keydir(root)


@pytest.fixture(scope="session")
def trust_list(keydir: KeyDir) -> TrustList:
    return TrustList.load(keydir.trust_list)


@pytest.fixture(scope="session")
def roots(trust_list: TrustList) -> list[x509.Certificate]:
    return list(trust_list.document_roots)


@pytest.fixture(scope="session")
def nssdb(tmp_path_factory: pytest.TempPathFactory, roots: list[x509.Certificate]) -> Path:
    return make_nssdb(tmp_path_factory.mktemp("nss"), roots)


@pytest.fixture(scope="session")
def runtime(keydir: KeyDir) -> Iterator[SigningRuntime]:
    config = RuntimeConfig(KeySource(keydir.root), SignOptions(public_url=PUBLIC_URL))
    with SigningRuntime(config) as rt:
        yield rt


@pytest.fixture(scope="session")
def example_pdf() -> bytes:
    """The bundled example: a decision laid out as Decree 30/2020 sets it (tests.decision)."""
    return EXAMPLE_PDF.read_bytes()


@pytest.fixture(scope="session")
def signed(runtime: SigningRuntime, example_pdf: bytes) -> SignedResult:
    """The example result, signed once for the session by the development keys."""
    return runtime.sign(example_pdf, parse_metadata(json.dumps(example_metadata())))


@pytest.fixture
def metadata() -> ResultMetadata:
    return parse_metadata(json.dumps(example_metadata()))


@pytest.fixture
def metadata_file(tmp_path: Path) -> Path:
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(example_metadata(), ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def pdf_file(tmp_path: Path, example_pdf: bytes) -> Path:
    path = tmp_path / "in.pdf"
    path.write_bytes(example_pdf)
    return path


@pytest.fixture(scope="session")
def national() -> Hierarchy:
    """A look-alike of the national CA hierarchy, and an official certified under it."""
    return hierarchy()


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory, national: Hierarchy) -> Iterator[Service]:
    """One real ``ketqua serve`` (both roles, 2 signing workers) shared by a test session.

    Its upload check trusts the look-alike national root (``trust_anchors``).
    """
    home = tmp_path_factory.mktemp("serve") / "home"
    anchor = tmp_path_factory.mktemp("anchors") / "national-root.pem"
    anchor.write_bytes(national.root_pem)
    env = {"KETQUA_WORKERS": "2", "KETQUA_PUBLIC_URL": PUBLIC_URL}
    env["KETQUA_TRUST_ANCHORS"] = json.dumps([str(anchor)])
    # many tests share 127.0.0.1: the rate limit has its own test (test_verify_page.py)
    env |= {"KETQUA_VERIFY_RATE": "10000", "KETQUA_VERIFY_BURST": "10000"}
    svc = Service(home, env=env).start()
    yield svc
    if svc.process is not None and svc.process.poll() is None:
        svc.stop()


@pytest.fixture(scope="session")
def api_key(service: Service) -> str:
    return create_api_key(service.home)


@pytest.fixture
async def client(service: Service, api_key: str) -> AsyncIterator[Client]:
    """The back office's client of the session's service (signer API and verifier)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield Client(session, service, api_key)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster per test process (tests/postgres.py)."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session", autouse=True)
def registry_of_services(request: pytest.FixtureRequest) -> Iterator[None]:
    """In the PostgreSQL run, every service a test starts gets a database of its own."""
    if registry_name(request.config) != "postgresql":
        yield
        return
    cluster: Cluster = request.getfixturevalue("postgres")
    made: dict[Path, str] = {}

    def database_of(home: Path) -> str:
        home = home.resolve()
        if home not in made:
            made[home] = cluster.createdb("h" + hashlib.sha256(bytes(home)).hexdigest()[:20])
        return made[home]

    use_registry(database_of)
    yield
    use_registry(None)


_databases = iter(range(1, 1_000_000))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty registry database on the backend of this run of the suite."""
    if registry_name(request.config) == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.createdb(f"t{os.getpid()}_{next(_databases)}")


@pytest.fixture
def database_files(request: pytest.FixtureRequest, service: Service) -> list[Path]:
    """Every file the session service's registry keeps its data in (to scan for secrets)."""
    if registry_name(request.config) == "sqlite":
        return sorted(service.home.glob("ketqua.db*"))  # the database and its WAL
    cluster: Cluster = request.getfixturevalue("postgres")
    return sorted(p for p in cluster.data.rglob("*") if p.is_file())
