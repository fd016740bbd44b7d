"""A reader for the line protocol grammar, so tests can check that what is written reads back."""

from __future__ import annotations

from dataclasses import dataclass

from services.ingest.line_protocol import FieldValue


@dataclass(frozen=True, slots=True)
class ReadPoint:
    """A point as a line protocol parser sees it."""

    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    time: int


class _Cursor:
    def __init__(self, line: str) -> None:
        self.line = line
        self.at = 0

    def peek(self) -> str:
        return self.line[self.at] if self.at < len(self.line) else ""

    def name(self, stops: str) -> str:
        """Read up to an unescaped stop character; a backslash escapes the next character."""
        out = []
        while self.at < len(self.line) and self.line[self.at] not in stops:
            char = self.line[self.at]
            if char == "\\" and self.at + 1 < len(self.line) and self.line[self.at + 1] in stops:
                char = self.line[self.at + 1]
                self.at += 1
            out.append(char)
            self.at += 1
        return "".join(out)

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} at {self.at} in {self.line!r}")
        self.at += 1

    def string(self) -> str:
        self.expect('"')
        out = []
        while True:
            char = self.line[self.at]
            if char == "\\" and self.line[self.at + 1] in '\\"':
                out.append(self.line[self.at + 1])
                self.at += 2
            elif char == '"':
                self.at += 1
                return "".join(out)
            else:
                out.append(char)
                self.at += 1

    def value(self) -> FieldValue:
        if self.peek() == '"':
            return self.string()
        text = self.name(", ")
        if text in ("true", "false"):
            return text == "true"
        if text.endswith("i"):
            return int(text[:-1])
        return float(text)


def read_line(line: str) -> ReadPoint:
    """Parse one line of line protocol."""
    cursor = _Cursor(line)
    measurement = cursor.name(", ")
    tags: dict[str, str] = {}
    while cursor.peek() == ",":
        cursor.at += 1
        key = cursor.name(",= ")
        cursor.expect("=")
        tags[key] = cursor.name(",= ")
    cursor.expect(" ")
    fields: dict[str, FieldValue] = {}
    while True:
        key = cursor.name(",= ")
        cursor.expect("=")
        fields[key] = cursor.value()
        if cursor.peek() != ",":
            break
        cursor.at += 1
    cursor.expect(" ")
    time = int(line[cursor.at :])
    return ReadPoint(measurement, tags, fields, time)
