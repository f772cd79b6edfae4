"""A secret value (a passphrase, a PIN) that names where it came from and never shows itself."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Secret:
    """``value`` never appears in ``repr`` or ``str``; ``source`` is for error messages."""

    value: bytes = field(repr=False)
    source: str  # where it was read: a setting's name, a file; never the value

    def __post_init__(self) -> None:
        if not self.value:
            raise ValueError(f"the secret from {self.source} is empty")

    def __str__(self) -> str:
        return f"<secret from {self.source}>"

    @property
    def text(self) -> str:
        return self.value.decode("utf-8")
