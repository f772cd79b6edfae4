"""ketqua's application shell: the ``ketqua`` command and ``ketqua serve``.

The top layer, imported by no other package. ``cli`` parses the command
line, ``settings`` reads the TOML file and ``KETQUA_*`` variables (the only
place that reads the environment), ``serve`` builds the resources and wires
the signer and the verifier to them, ``logs`` writes the log lines.
Everything it runs lives below it: ``signer`` and ``verifier`` (the two
services), ``registry`` and ``keys``, the QR ``seal`` codec, ``plumbing``.
"""

__version__ = "0.1.0"
