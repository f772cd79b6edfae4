"""The verifier: everything a third party needs to check a result, with public material only.

Today: the QR seal codec (``seal``). The public verification
service, the PDF validation report and the offline ``ketqua verify`` come
with the verifier issue. Nothing in this package may import a private-key
loader (``keys.local``, ``keys.token``, ``keys.agency``) or ``signer``.
"""
