"""ketqua's application shell: the ``ketqua`` command line and the error base.

The work itself lives in three packages with different trust:
``keys`` (key and certificate material), ``signer`` (the only code that
touches a private key: stamping and PAdES signing) and ``verifier`` (public
material only: the QR seal codec and verification).
"""

__version__ = "0.1.0"
