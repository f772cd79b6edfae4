"""HTTP plumbing both services share, knowing neither.

``problems`` (RFC 9457 problem documents from errors), ``metrics``
(Prometheus counters and ``/metrics``), ``multipart`` (streaming uploads
under per-part limits), ``security`` (security headers and the per-client
rate limit), ``openapi`` (serving a service's OpenAPI document).
"""
