"""Shared pieces: the closed and open bases, time windows, links, rejected rows."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Closed(BaseModel):
    """A fixed set of keys; an unknown key is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """Declared keys plus any others, passed through unchanged (see each subclass for
    why its payload is open)."""

    model_config = ConfigDict(extra="allow")


#: A count as a role may see it: exact (an integer) or protected (``"<5"``, rounded).
ShownCount = int | str


class Window(Closed):
    """A time window as used: ISO 8601 naive UTC instants, ``null`` when unbounded."""

    start: str | None = Field(description="inclusive start")
    end_exclusive: str | None = Field(description="exclusive end")


class Link(Closed):
    """An OGC API style link."""

    rel: str
    href: str
    type: str | None = None


class Rejection(Closed):
    """One rejected input row: spreadsheet row number (header is row 1) or 1-based
    feature number."""

    file: str
    row: int
    field: str
    reason: str
