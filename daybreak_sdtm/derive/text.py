"""Text transforms a spec applies to collected values, and text made of several raw columns.

A ``transform:`` is a list of steps applied in order to each collected value (blanks trimmed
first), before any map or codelist lookup::

    SUBJID: {derivation: assign_no_ct, source: SUBJECT, transform: [{split: "-", part: 2}]}  # 701-1015 -> 1015
    AETERM: {derivation: assign_no_ct, source: AETERM, transform: [upper]}
    RACE: {derivation: assign_ct, source: RACE, transform: [{replace: ["\\s+", " "]}]}

Steps: ``upper``, ``lower``, ``strip``, ``squeeze`` (runs of blanks made one space),
``{extract: REGEX}`` (the first group, or the whole match, of the first match; blank when none),
``{substring: [START, LENGTH]}`` (1-based, as SAS's SUBSTR; LENGTH may be left out),
``{split: SEPARATOR, part: N}`` (the N-th part, 1-based; negative counts from the end; blank
when there are fewer parts) and ``{replace: [REGEX, WITH]}``. Steps are element-wise, so they run
once per distinct value (``derive.assign`` applies them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

_SIMPLE: dict[str, Callable[[pd.Series], pd.Series]] = {
    "upper": lambda s: s.str.upper(),
    "lower": lambda s: s.str.lower(),
    "strip": lambda s: s.str.strip(),
    "squeeze": lambda s: s.str.replace(r"\s+", " ", regex=True).str.strip(),
}
SIMPLE_STEPS = tuple(_SIMPLE)  # steps without arguments: ``upper``
STEP_NAMES = (*SIMPLE_STEPS, "extract", "substring", "split", "replace")


@dataclass(frozen=True)
class TextStep:
    """One step of a ``transform:``: its name, its arguments as the spec gave them, and what it does."""

    op: str
    args: tuple[Any, ...] = ()
    apply: Callable[[pd.Series], pd.Series] = field(default=_SIMPLE["strip"], compare=False, repr=False)

    def __str__(self) -> str:
        if not self.args:
            return self.op
        return f"{self.op} " + " ".join(repr(a) for a in self.args)

    def describe(self) -> str:
        """The step in words, for define.xml's method text."""
        match self.op:
            case "upper" | "lower":
                return f"{self.op} case"
            case "strip":
                return "surrounding blanks removed"
            case "squeeze":
                return "runs of blanks made one space"
            case "extract":
                return f"the part matching {self.args[0]!r}"
            case "substring":
                start, length = self.args
                return f"characters {start} to {start + length - 1}" if length else f"characters from {start}"
            case "split":
                return f"part {self.args[1]} of the text split at {self.args[0]!r}"
            case _:
                return f"{self.args[0]!r} replaced by {self.args[1]!r}"


def _regex(text: object) -> re.Pattern[str]:
    try:
        return re.compile(str(text))
    except re.error as exc:
        raise ValueError(f"{text!r} is not a regular expression: {exc}") from None


def _integer(value: object, what: str) -> int:
    """A whole number as the spec gives it (the spec loader hands scalars over as text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise ValueError(f"{what} must be a whole number, found {value!r}")


def parse_step(value: object) -> TextStep:
    """One spec step (``upper`` or ``{extract: REGEX}`` ...) as a TextStep; ValueError says what is wrong."""
    if isinstance(value, str):
        if value not in _SIMPLE:
            raise ValueError(f"unknown text step {value!r}")
        return TextStep(value, (), _SIMPLE[value])
    if not isinstance(value, dict) or not value:
        raise ValueError(f"expected a step name or a mapping such as {{extract: REGEX}}, found {value!r}")
    ops = [k for k in value if k in STEP_NAMES]
    if len(ops) != 1:
        raise ValueError(f"a step is one of {', '.join(STEP_NAMES)}; found {', '.join(map(str, value))}")
    op = str(ops[0])
    arg = value[op]
    extra = [str(k) for k in value if k != op and not (op == "split" and k == "part")]
    if extra:
        raise ValueError(f"{op} takes no {', '.join(extra)}")
    if op == "extract":
        pattern = _regex(arg)
        if pattern.groups > 1:
            raise ValueError(f"{arg!r} has {pattern.groups} groups; extract takes the first match of at most one")
        group = 1 if pattern.groups else 0

        def extract(s: pd.Series) -> pd.Series:
            return s.map(lambda t: m.group(group) or "" if (m := pattern.search(t)) else "")

        return TextStep(op, (pattern.pattern,), extract)
    if op == "substring":
        parts = arg if isinstance(arg, list) else [arg]
        if not 1 <= len(parts) <= 2:
            raise ValueError("substring takes [START] or [START, LENGTH]")
        start = _integer(parts[0], "substring's START")
        length = _integer(parts[1], "substring's LENGTH") if len(parts) == 2 else 0
        if start < 1 or length < 0:
            raise ValueError("substring's START counts from 1 and its LENGTH is not negative")
        stop = start - 1 + length if length else None
        return TextStep(op, (start, length), lambda s: s.str.slice(start - 1, stop))
    if op == "split":
        if not isinstance(arg, str) or not arg:
            raise ValueError("split takes the separator text, e.g. {split: '-', part: 2}")
        part = _integer(value.get("part", 1), "split's part")
        if part == 0:
            raise ValueError("split's part counts from 1 (or from -1 at the end)")
        index = part - 1 if part > 0 else part

        def split(s: pd.Series) -> pd.Series:
            pieces = s.str.split(arg, regex=False)
            return pieces.map(lambda p: p[index].strip() if -len(p) <= index < len(p) else "")

        return TextStep(op, (arg, part), split)
    if not isinstance(arg, list) or len(arg) != 2:
        raise ValueError("replace takes [REGEX, WITH]")
    pattern = _regex(arg[0])
    repl = "" if arg[1] is None else str(arg[1])
    return TextStep(op, (pattern.pattern, repl), lambda s: s.str.replace(pattern, repl, regex=True))


def parse_steps(value: object) -> tuple[TextStep, ...]:
    """A spec's ``transform:`` (one step or a list) as TextSteps; ValueError names the step at fault."""
    steps = value if isinstance(value, list) else [value]
    parsed = []
    for i, step in enumerate(steps, 1):
        try:
            parsed.append(parse_step(step))
        except ValueError as exc:
            raise ValueError(f"step {i}: {exc}") from None
    return tuple(parsed)


def transformed(text: pd.Series, steps: tuple[TextStep, ...] | None) -> pd.Series:
    """Text with the steps applied in order (element-wise: call it once per distinct value)."""
    for step in steps or ():
        text = step.apply(text).fillna("").astype(str)
    return text
