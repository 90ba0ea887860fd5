"""Type stubs of the ``caveat`` package."""

import datetime
import os
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import pyarrow

from . import _caveat

PathLike = Union[str, os.PathLike[str]]

FINDINGS_SCHEMA: pyarrow.Schema

@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: str
    message: str
    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    help: Optional[str]
    rendered: str

class CaveatError(Exception):
    message: str
    diagnostics: List[Diagnostic]
    def __init__(self, message: str, diagnostics: Sequence[Diagnostic]) -> None: ...

class PolicyError(CaveatError, ValueError): ...

class DataError(CaveatError, ValueError):
    findings: Optional[pyarrow.Table]
    def __init__(
        self,
        message: str,
        diagnostics: Sequence[Diagnostic],
        findings: Optional[pyarrow.Table] = None,
    ) -> None: ...

@dataclass(frozen=True)
class Rule:
    index: int
    id: str
    effect: str
    keys: Tuple[str, ...]
    across: bool
    reads_all: bool

class Policy:
    _compiled: _caveat.Policy
    def __init__(self, compiled: _caveat.Policy) -> None: ...
    @property
    def rules(self) -> List[Rule]: ...
    @property
    def today(self) -> str: ...
    @property
    def warnings(self) -> List[Diagnostic]: ...
    def check(
        self,
        data: Union[
            pyarrow.Table,
            pyarrow.RecordBatch,
            Any,  # a Polars or pandas DataFrame, or an object with __arrow_c_stream__
            Iterable[Mapping[str, Any]],
        ],
        *,
        id_field: str = "id",
        name: str = "data",
    ) -> pyarrow.Table: ...
    def check_files(
        self,
        paths: Union[PathLike, Sequence[PathLike]],
        *,
        id_field: str = "id",
        records: Optional[str] = None,
        jobs: int = 1,
    ) -> pyarrow.Table: ...

def compile(
    source: Union[PathLike, Sequence[PathLike], None] = None,
    *,
    text: Optional[str] = None,
    name: str = "<policy>",
    today: Union[str, datetime.date, None] = None,
) -> Policy: ...
def _looks_like_text(source: str) -> bool: ...
