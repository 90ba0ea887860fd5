"""Type stubs of the compiled extension ``caveat._caveat`` (use the ``caveat`` package)."""

from typing import Any, Iterable, List, Optional, Sequence, Tuple

import pyarrow

_DiagnosticTuple = Tuple[
    str, str, str, Optional[str], Optional[int], Optional[int], Optional[str], str
]

class CompileFailed(Exception):
    """args: (message, diagnostics)."""

class DataFailed(Exception):
    """args: (message, diagnostics, findings or None)."""

class Policy:
    def check_arrow(
        self,
        data: Any,
        name: str,
        id_field: str,
        first_row: int = 0,
        split: bool = False,
    ) -> Any: ...
    def check_objects(
        self, items: Iterable[Any], name: str, id_field: str
    ) -> pyarrow.Table: ...
    def check_files(
        self,
        paths: Sequence[str],
        id_field: str,
        records: Optional[str] = None,
        jobs: int = 1,
    ) -> pyarrow.Table: ...
    def group_all_values(
        self, data: Any, rule: int, token: Optional[str], id_field: str
    ) -> str: ...
    def group_findings(
        self,
        data: Any,
        rule: int,
        token: Optional[str],
        id_field: str,
        all: Optional[str] = None,
    ) -> pyarrow.Table: ...
    def rules(self) -> List[Tuple[int, str, str, List[str], bool, bool]]: ...
    def warnings(self) -> List[_DiagnosticTuple]: ...
    def today(self) -> str: ...
    def across_reads(self) -> List[str]: ...

def compile_paths(paths: Sequence[str], today: Optional[str] = None) -> Policy: ...
def compile_text(text: str, name: str, today: Optional[str] = None) -> Policy: ...
def combine_all(parts: Sequence[str]) -> str: ...
