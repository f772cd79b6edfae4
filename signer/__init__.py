"""The signer: the internal service, and the only package that touches a private key.

The signing core: ``metadata`` validates what the back office sends,
``pdfinput`` vets the PDF, ``stamp`` draws the visible signature
(Vietnamese text + QR seal), ``pades`` applies the PAdES signature,
``document`` ties them into one call, ``runtime`` prepares keys and fonts
once per process, and ``batch`` signs folders (``ketqua sign``). The
service: ``api`` (the intake API), ``pipeline`` (the durable queue from
accepted to published, with the signing processes) and ``delivery``
(e-mail through SMTP or a pickup folder).
"""
