"""The signer: turns a result PDF and its metadata into a signed, stamped result.

The only package that touches a private key. ``metadata`` validates what the
back office sends, ``pdfinput`` vets the PDF, ``stamp`` draws the visible
signature (Vietnamese text + QR seal), ``pades`` applies the PAdES signature,
``document`` ties them into one call, and ``batch`` signs folders in a
process pool.
"""
