"""What the signer's handlers share, made once at start and passed in (never per request)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from plumbing.workers import WorkerPool
from registry.apikeys import ApiKey
from registry.audit import AuditTrail
from registry.blobs import BlobStore
from registry.database import Database
from signer.delivery.worker import Deliverer
from signer.pipeline.pool import CertificateExpiry
from signer.pipeline.worker import Pipeline


@dataclass(frozen=True, slots=True)
class SignerContext:
    db: Database
    blobs: BlobStore
    intake_pool: WorkerPool
    pipeline: Pipeline
    deliverer: Deliverer
    mail_domain: str  # of the sender address: the right-hand side of Message-IDs
    audit: AuditTrail
    agency_code: str  # the agency the keys sign for: other agencies' results are refused
    max_document_bytes: int
    certificates: tuple[CertificateExpiry, ...] = ()  # each with the moment it runs out


SIGNER = web.AppKey("signer", SignerContext)
API_KEY = web.RequestKey("api_key", ApiKey)
