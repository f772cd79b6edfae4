"""Plumbing every other package stands on; it imports none of them.

The error base (``errors``), atomic file writes (``files``), Vietnam time
and how people read dates and numbers (``vietnam``), masking personal data
for the public (``masking``), process pools for CPU-bound work
(``workers``) and the HTTP plumbing both services share (``web``: problem
documents, metrics, multipart reading, security headers, rate limits).
"""
