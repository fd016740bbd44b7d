"""The one error the contract raises: which field broke which rule."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from contract.plain_errors import plain_message


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One broken rule: the dotted field path and what was expected there."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class ContractError(ValueError):
    """A topic or payload that does not follow wire contract v1."""

    def __init__(self, problems: list[FieldProblem], *, what: str = "payload") -> None:
        self.problems = tuple(problems)
        self.what = what
        super().__init__(f"invalid {what}: " + "; ".join(str(p) for p in self.problems))

    @property
    def field(self) -> str:
        """The first offending field, for counters and log lines."""
        return self.problems[0].field if self.problems else "?"

    @classmethod
    def single(cls, field: str, rule: str, *, what: str = "payload") -> ContractError:
        """An error with exactly one problem."""
        return cls([FieldProblem(field, rule)], what=what)

    @classmethod
    def from_validation(cls, err: ValidationError, *, what: str = "payload") -> ContractError:
        """Translate pydantic's error list into field problems."""
        problems = [
            FieldProblem(
                ".".join(str(p) for p in e["loc"]) or "(root)",
                plain_message(e),
            )
            for e in err.errors(include_url=False)
        ]
        return cls(problems, what=what)
