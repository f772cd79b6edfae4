"""Key and certificate material for ketqua.

- ``devpki``: ``ketqua keys init``, a development PKI (root CA, issuing CA, the
  agency's document-signing certificate, the QR seal certificate).
- ``keydir``: where those files live and how the passphrase is found.
- ``local`` / ``token``: the signing key from a PKCS#12 file or a PKCS#11
  token, prepared once per process as a pyHanko signer.
- ``trust``: the trust list a verifier needs (public material only).
- ``anchors``: extra root certificates the operator trusts for officials'
  signatures (the national CA hierarchies; public material only).

Only the signer imports the private-key loaders; the verifier reads
``trust`` and ``anchors`` alone.
"""
