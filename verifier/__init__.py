"""The verifier: the public service, and everything a third party needs, with public material only.

``app`` builds the public application: the page a QR scan opens (``pages``,
one verdict per seal from ``report`` and ``lookup``), the upload check
(``upload``, run by ``validation`` in worker processes), the portal's
listing, lookup and statistics (``listing``, ``portal``, ``statistics``),
the trust list; ``offline`` is ``ketqua verify`` without a registry. It
reads the registry and the trust list; nothing in it may import a
private-key loader (``keys.local``, ``keys.token``, ``keys.agency``) or
``signer`` (tests/test_architecture.py).
"""
