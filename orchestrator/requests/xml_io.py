"""Observation requests as XML files: parse and validate against `resources/request.xsd`, export.

`pyros submit`, the web API (XML bodies) and the user simulator read files with `parse_request`;
`pyros export` writes them with `request_to_xml`. Errors name the line and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources

from lxml import etree
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.errors import InputError
from orchestrator.requests.builder import RequestBuilder, Submitted
from orchestrator.requests.spec import AlbumSpec, PlanSpec, RequestSpec, SequenceSpec

XSD_NAME = "request.xsd"
FORMAT_VERSION = "1"


@cache
def request_schema() -> etree.XMLSchema:
    with resources.files("orchestrator.resources").joinpath(XSD_NAME).open("rb") as xsd:
        return etree.XMLSchema(etree.parse(xsd))


def _parser() -> etree.XMLParser:
    # Request files come from users: no entity expansion, no DTD, no network (XXE-safe).
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )


@dataclass
class ParsedRequest:
    """The spec, and the line of each element by its field path (to locate builder errors)."""

    spec: RequestSpec
    source: str
    lines: dict[str, int] = field(default_factory=dict)

    def locate(self, exc: InputError) -> InputError:
        """The same error, its field prefixed with the file and line it comes from."""
        path = "request" if exc.field in ("name", "program", "sequences") else exc.field
        while path and path not in self.lines:
            path = path.rpartition(".")[0]
        where = f"{self.source} line {self.lines[path]}" if path else self.source
        return type(exc)(f"{where}: {exc.field}", exc.reason)


def parse_request(data: bytes, source: str = "request") -> ParsedRequest:
    """Parse and validate one request document; raises InputError naming the line and the field."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else "?")
        raise InputError(
            f"{source} line {line}", f"not well-formed XML: {_one_line(exc.msg)}"
        ) from None
    schema = request_schema()
    if not schema.validate(root):
        error = schema.error_log[0]
        raise InputError(f"{source} line {error.line}", _one_line(_schema_message(error))) from None
    return _to_spec(root, source)


def _one_line(text: str, limit: int = 300) -> str:
    """libxml2 messages may hold newlines and the offending text: one short line, always."""
    text = " ".join(text.split())
    text = re.sub(r"'([^'\s]{40})[^'\s]{4,}'", r"'\1...'", text)  # a 10 MB value, shortened
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _schema_message(error: etree._LogEntry) -> str:
    # libxml2 says "Element 'target', attribute 'dec_deg': ..." which already names the field.
    return f"does not match the request schema: {error.message}"


def _to_spec(root: etree._Element, source: str) -> ParsedRequest:
    lines = {"request": root.sourceline}
    sequences = []
    for i, seq_el in enumerate(root.iterchildren("sequence")):
        where = f"sequences[{i}]"
        lines[where] = seq_el.sourceline
        target = seq_el.find("target")
        window = seq_el.find("window")
        constraints = seq_el.find("constraints")
        c = constraints.attrib if constraints is not None else {}
        for name in ("target_name", "ra_deg", "dec_deg"):
            lines[f"{where}.{name}"] = target.sourceline
        for name in ("window_start", "window_end", "preferred_time"):
            lines[f"{where}.{name}"] = window.sourceline
        if constraints is not None:
            for name in ("min_altitude_deg", "max_airmass", "min_moon_separation_deg", "twilight"):
                lines[f"{where}.{name}"] = constraints.sourceline
        albums = []
        for j, album_el in enumerate(seq_el.iterchildren("album")):
            lines[f"{where}.albums[{j}]"] = album_el.sourceline
            plans = []
            for k, plan_el in enumerate(album_el.iterchildren("plan")):
                lines[f"{where}.albums[{j}].plans[{k}]"] = plan_el.sourceline
                plans.append(
                    PlanSpec(
                        filter_name=plan_el.get("filter"),
                        exposure_s=float(plan_el.get("exposure_s")),
                        count=int(plan_el.get("count", "1")),
                        binning=int(plan_el.get("binning", "1")),
                    )
                )
            albums.append(AlbumSpec(channel=album_el.get("channel"), plans=plans))
        sequences.append(
            SequenceSpec(
                name=seq_el.get("name"),
                target_name=target.get("name"),
                ra_deg=float(target.get("ra_deg")),
                dec_deg=float(target.get("dec_deg")),
                window_start=_datetime(window.get("start"), window, source),
                window_end=_datetime(window.get("end"), window, source),
                duration_s=float(seq_el.get("duration_s")),
                albums=albums,
                priority=float(seq_el.get("priority", "0")),
                preferred_time=_datetime(window.get("preferred"), window, source),
                min_altitude_deg=float(c.get("min_altitude_deg", "30")),
                max_airmass=_float(c.get("max_airmass")),
                min_moon_separation_deg=_float(c.get("min_moon_separation_deg")),
                twilight=c.get("twilight"),
                is_urgent=_bool(seq_el.get("urgent", "false")),
            )
        )
    spec = RequestSpec(
        name=root.get("name"),
        program=root.get("program"),
        is_alert=_bool(root.get("alert", "false")),
        sequences=sequences,
    )
    return ParsedRequest(spec, source, lines)


def _float(text: str | None) -> float | None:
    return None if text is None else float(text)


def _bool(text: str) -> bool:
    return text.strip() in ("true", "1")  # the two true spellings of xs:boolean


def _datetime(text: str | None, element: etree._Element, source: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as exc:  # valid xs:dateTime that Python cannot hold, e.g. 24:00:00
        raise InputError(
            f"{source} line {element.sourceline}", f"cannot read date-time {text!r}: {exc}"
        ) from None


def request_to_xml(spec: RequestSpec) -> bytes:
    """The spec as a request document (every value written out, so a re-read gives the same)."""
    root = etree.Element("request", version=FORMAT_VERSION, name=spec.name)
    if spec.program is not None:
        root.set("program", spec.program)
    if spec.is_alert:
        root.set("alert", "true")
    for seq in spec.sequences:
        seq_el = etree.SubElement(root, "sequence", name=seq.name, duration_s=_num(seq.duration_s))
        seq_el.set("priority", _num(seq.priority))
        if seq.is_urgent:
            seq_el.set("urgent", "true")
        etree.SubElement(
            seq_el,
            "target",
            name=seq.target_name,
            ra_deg=_num(seq.ra_deg),
            dec_deg=_num(seq.dec_deg),
        )
        window = etree.SubElement(
            seq_el, "window", start=_iso(seq.window_start), end=_iso(seq.window_end)
        )
        if seq.preferred_time is not None:
            window.set("preferred", _iso(seq.preferred_time))
        constraints = etree.SubElement(
            seq_el, "constraints", min_altitude_deg=_num(seq.min_altitude_deg)
        )
        if seq.max_airmass is not None:
            constraints.set("max_airmass", _num(seq.max_airmass))
        if seq.min_moon_separation_deg is not None:
            constraints.set("min_moon_separation_deg", _num(seq.min_moon_separation_deg))
        if seq.twilight is not None:
            constraints.set("twilight", seq.twilight)
        for album in seq.albums:
            album_el = etree.SubElement(seq_el, "album", channel=album.channel)
            for plan in album.plans:
                etree.SubElement(
                    album_el,
                    "plan",
                    filter=plan.filter_name,
                    exposure_s=_num(plan.exposure_s),
                    count=str(plan.count),
                    binning=str(plan.binning),
                )
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def _num(value: float) -> str:
    # repr is the shortest text that reads back as the same float; 60.0 is written 60.
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def submit_xml(
    builder: RequestBuilder,
    sessions: sessionmaker[Session],
    data: bytes,
    source: str,
    username: str,
    via: str = "xml",
) -> Submitted:
    """Parse, validate and submit one XML request; builder errors also name the file's line."""
    parsed = parse_request(data, source)
    try:
        return builder.submit(sessions, parsed.spec, username, via)
    except InputError as exc:
        raise parsed.locate(exc) from None
