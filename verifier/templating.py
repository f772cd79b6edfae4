"""The pages' jinja2 environment: autoescaped, strict, with the filters people's formats need.

``day`` (``05/01/2022``), ``moment`` (``05/01/2022 14:03:07``, Vietnam
time), ``whole`` (``3.728``) and ``percent`` (``99,92%``) take the value as
the JSON answers hold it (an ISO 8601 string, a number) and the page's
language, so a page and its JSON speak of the same values.
"""

from __future__ import annotations

from datetime import date, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from plumbing import formats


def environment(package: str = "verifier") -> Environment:
    """The templates of ``package`` (its ``templates`` folder), with the filters below."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2", "atom.j2")),
        undefined=StrictUndefined,
        auto_reload=False,  # templates are part of the release, not edited live
    )
    env.filters["day"] = _day
    env.filters["moment"] = _moment
    env.filters["whole"] = lambda value, lang="vi": formats.whole(int(value), lang)
    env.filters["percent"] = _percent
    return env


def _day(value: str | date | datetime | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return formats.day(value)


def _moment(value: str | datetime | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return formats.moment(value)


def _percent(fraction: float | None, lang: str = "vi") -> str:
    return "—" if fraction is None else formats.percent(fraction * 100, lang)
