"""caveat: procurement policies as code, checked over Arrow tables, DataFrames and Spark.

    >>> import caveat
    >>> policy = caveat.compile("deny vendor DJI after 2018-05-23")
    >>> findings = policy.check([{"id": "AF-1", "vendor": "DJI", "date": "2018-11-14"}])
    >>> findings.column("record").to_pylist()
    ['AF-1']

``compile`` takes policy files or folders (as ``caveat check`` does) or policy text; ``check``
takes a ``pyarrow.Table`` or ``RecordBatch``, a Polars or pandas DataFrame, or an iterable of
dicts, and returns the findings as a ``pyarrow.Table``. A policy that does not compile raises
:class:`PolicyError`, records that cannot be read raise :class:`DataError`; both carry the
diagnostics ``caveat check`` would print.
"""

from __future__ import annotations

import datetime
import operator
import os
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

from . import _caveat

__all__ = [
    "compile",
    "Policy",
    "Rule",
    "Diagnostic",
    "CaveatError",
    "PolicyError",
    "DataError",
    "FINDINGS_SCHEMA",
]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic, as ``caveat check`` prints it.

    ``code`` is stable (``caveat::parse::expected``); ``file``, ``line`` and ``column`` say where
    (``None`` when the diagnostic has no place); ``rendered`` is the text the CLI shows, with the
    source lines and the help.
    """

    code: str
    severity: str
    message: str
    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    help: Optional[str]
    rendered: str

    def __str__(self) -> str:
        return self.rendered


class CaveatError(Exception):
    """An error of caveat, with the diagnostics that explain it."""

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics: List[Diagnostic] = list(diagnostics)

    def __str__(self) -> str:
        shown = "\n".join(d.rendered.rstrip() for d in self.diagnostics)
        return f"{self.message}\n{shown}" if shown else self.message


class PolicyError(CaveatError, ValueError):
    """The policies do not compile: a syntax error, an unknown name, a lint error…"""


class DataError(CaveatError, ValueError):
    """Records cannot be read: a column of a type caveat does not read, a null record…

    ``findings`` holds what the readable records gave, when there was a check to run.
    """

    def __init__(
        self, message: str, diagnostics: Sequence[Diagnostic], findings: Any = None
    ) -> None:
        super().__init__(message, diagnostics)
        self.findings = findings


def _diagnostics(raw: Iterable[Tuple[Any, ...]]) -> List[Diagnostic]:
    return [Diagnostic(*d) for d in raw]


def _translated(error: BaseException) -> BaseException:
    """A ``_caveat`` failure as the package's exception."""
    if isinstance(error, _caveat.CompileFailed):
        message, raw = error.args
        return PolicyError(message, _diagnostics(raw))
    if isinstance(error, _caveat.DataFailed):
        message, raw, findings = error.args
        return DataError(message, _diagnostics(raw), findings)
    return error


@dataclass(frozen=True)
class Rule:
    """A rule of a compiled policy set.

    ``keys`` are the names of a group rule's ``per`` keys (empty for a per-record rule);
    ``across`` says whether it is a rule across records (``per`` or ``all.``); ``reads_all``
    whether it reads ``all.NAME``.
    """

    index: int
    id: str
    effect: str
    keys: Tuple[str, ...]
    across: bool
    reads_all: bool


#: The words a policy statement starts with: a string that starts with one and a blank is text.
_STATEMENT_WORDS = frozenset(
    "deny warn note require rule let alias import waive test record".split()
)


def _looks_like_text(source: str) -> bool:
    """Whether a string is policy text rather than a path: it names no existing file, and it
    holds a newline, or it starts with a statement's keyword and a blank (``deny vendor
    "PRI/DJI"``), or it has a blank and neither ends in ``.policy`` nor has a ``/``. A single
    word (``policies``, ``us-rules``) is a path: no policy is one word, and a misspelt path is
    then "not found" rather than a syntax error."""
    if os.path.exists(source):
        return False
    if "\n" in source:
        return True
    stripped = source.strip()
    if not stripped.startswith("#") and len(stripped.split()) == 1:
        return False
    words = stripped.split(None, 1)
    if len(words) == 2 and (words[0] in _STATEMENT_WORDS or words[0].startswith("#")):
        return True
    return not (stripped.endswith(".policy") or "/" in stripped or os.sep in stripped)


def compile(
    source: Union[PathLike, Sequence[PathLike], None] = None,
    *,
    text: Optional[str] = None,
    name: str = "<policy>",
    today: Union[str, "datetime.date", None] = None,
) -> "Policy":
    """Compiles policies into a :class:`Policy`.

    ``source`` is a policy file or folder, a list of them (imports are followed, folders walked
    as ``caveat check`` walks them), or policy text (a string that is not a path: it holds a
    newline, or starts with a statement's keyword and a blank, or has a blank and neither ends
    in ``.policy`` nor has a ``/``; a single word is a path). ``text=`` gives policy
    text explicitly, named ``name`` in diagnostics. ``today`` (a date or ``YYYY-MM-DD``) is the
    day waivers are applied as of, as ``--today``; by default the current date (UTC), as
    ``caveat check``. :attr:`Policy.warnings` holds the waivers expired or expiring.

    Raises :class:`PolicyError` with the diagnostics ``caveat check`` prints.
    """
    day = None if today is None else str(today)
    try:
        if text is not None:
            return Policy(_caveat.compile_text(text, name, day))
        if source is None:
            raise TypeError("compile() needs policy paths or text")
        if isinstance(source, str) and _looks_like_text(source):
            return Policy(_caveat.compile_text(source, name, day))
        if isinstance(source, (str, os.PathLike)):
            paths = [os.fspath(source)]
        else:
            paths = [os.fspath(p) for p in source]
        return Policy(_caveat.compile_paths(paths, day))
    except (_caveat.CompileFailed, _caveat.DataFailed) as error:
        raise _translated(error) from None


def _arrow(data: Any) -> Any:
    """``data`` as an object with the Arrow PyCapsule interface, or ``None`` for Python objects."""
    module = type(data).__module__
    if module.startswith("pandas"):
        import pyarrow as pa

        # An index that is not a plain range is a column (`set_index("id")` keeps the ids).
        try:
            return pa.Table.from_pandas(data, preserve_index=None)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            # pyarrow gives one type to a column: an object column that mixes them fails here.
            raise DataError(
                f"a column of the DataFrame cannot be read as one type: {_arrow_reason(error)}; "
                f"give the column one type (`df[column].astype(str)`) or pass the rows as dicts "
                f"(`df.to_dict(\"records\")`)",
                [],
            ) from None
    if module.startswith("polars"):
        # A LazyFrame is a query: its result is the records.
        return (data.collect() if hasattr(data, "collect") else data).to_arrow()
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        return _unsliced(data)
    return None


def _arrow_reason(error: BaseException) -> str:
    """pyarrow's conversion error as one sentence (its arguments are the cause, then the column)."""
    parts = [str(a) for a in error.args] or [str(error)]
    return "; ".join(reversed(parts))


def _unsliced(data: Any) -> Any:
    """pyarrow ``data`` whose arrays start at an offset (a slice, or a batch of a table split by
    ``to_batches``), copied: the Arrow import caveat uses cannot read a sliced array of structs
    that holds structs. Other data is returned as it is."""
    if not type(data).__module__.startswith("pyarrow"):
        return data
    import pyarrow as pa

    if isinstance(data, pa.Table):
        sliced = any(chunk.offset for column in data.columns for chunk in column.chunks)
    elif isinstance(data, pa.RecordBatch):
        sliced = any(column.offset for column in data.columns)
    elif isinstance(data, pa.ChunkedArray):
        sliced = any(chunk.offset for chunk in data.chunks)
    elif isinstance(data, pa.Array):
        sliced = data.offset != 0
    else:
        return data
    if not sliced:
        return data
    return data.take(pa.array(range(len(data)), pa.int64()))


class Policy:
    """A compiled policy set: check records against it with :meth:`check`."""

    def __init__(self, compiled: "_caveat.Policy") -> None:
        self._compiled = compiled

    @property
    def today(self) -> str:
        """The day the waivers are applied as of, ``YYYY-MM-DD``."""
        return self._compiled.today()

    @property
    def warnings(self) -> List[Diagnostic]:
        """Waivers that expired (no longer applied) or expire soon, as of :attr:`today`."""
        return _diagnostics(self._compiled.warnings())

    @property
    def rules(self) -> List[Rule]:
        """The rules, in policy order."""
        return [
            Rule(index, rule_id, effect, tuple(keys), across, reads_all)
            for index, rule_id, effect, keys, across, reads_all in self._compiled.rules()
        ]

    def check(self, data: Any, *, id_field: str = "id", name: str = "data") -> Any:
        """Checks records and returns their findings as a ``pyarrow.Table``.

        ``data`` is a ``pyarrow.Table``, ``RecordBatch`` or array of structs (or anything with
        the Arrow PyCapsule interface), a Polars or pandas DataFrame, or an iterable of dicts.
        Each row is a record (a null row of an array is a :class:`DataError`, not skipped);
        nested structs and lists are mappings and lists. ``id_field`` (dotted) names a record; a
        record without one is named ``NAME#ROW``.

        The table has a row per finding, in the order ``caveat check`` reports them (see
        :data:`FINDINGS_SCHEMA`): ``row`` is the record's position in the input (a group's
        first record's); group findings have ``group``, ``keys``, ``members`` (rows) and
        ``member_records``.

        Raises :class:`DataError` when a column has a type caveat does not read or a record is
        null (or not a dict).
        """
        try:
            arrow = _arrow(data)
            if arrow is not None:
                return self._compiled.check_arrow(arrow, name, id_field)
            if isinstance(data, (str, bytes, dict)):
                raise TypeError(
                    f"check() takes a table, a DataFrame or an iterable of dicts, "
                    f"not a `{type(data).__name__}` (use check_files for files)"
                )
            return self._compiled.check_objects(data, name, id_field)
        except (_caveat.CompileFailed, _caveat.DataFailed) as error:
            raise _translated(error) from None

    def check_files(
        self,
        paths: Union[PathLike, Sequence[PathLike]],
        *,
        id_field: str = "id",
        records: Optional[str] = None,
        jobs: int = 1,
    ) -> Any:
        """Checks data files (YAML, JSON, JSON Lines, CSV; folders walked) as ``caveat check``
        reads them, with ``--id-field``, ``--records`` and ``--jobs``. Returns the findings as
        :meth:`check` does, with ``file``, ``line`` and ``column`` set; ``row`` is the record's
        position in its file.

        Raises :class:`DataError` when a file or record cannot be read (its ``findings`` hold
        the others').
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        # As ``--jobs``: at most 256 threads (more only costs the time of making them).
        try:
            count = operator.index(jobs)
        except TypeError:
            count = -1
        if isinstance(jobs, bool) or not 0 <= count <= 256:
            raise ValueError(f"jobs must be a whole number from 0 to 256, not {jobs!r}")
        jobs = count
        try:
            return self._compiled.check_files(
                [os.fspath(p) for p in paths], id_field, records, jobs
            )
        except (_caveat.CompileFailed, _caveat.DataFailed) as error:
            raise _translated(error) from None

    def __repr__(self) -> str:
        return f"<caveat.Policy with {len(self.rules)} rules>"


def _findings_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("rule", pa.string(), nullable=False),
            pa.field("effect", pa.string(), nullable=False),
            pa.field("record", pa.string(), nullable=False),
            pa.field("message", pa.string(), nullable=False),
            ("cite", pa.string()),
            pa.field("row", pa.int64(), nullable=False),
            ("group", pa.string()),
            ("keys", pa.map_(pa.string(), pa.string())),
            ("members", pa.list_(pa.int64())),
            ("member_records", pa.list_(pa.string())),
            ("file", pa.string()),
            ("line", pa.int64()),
            ("column", pa.int64()),
        ]
    )


def __getattr__(name: str) -> Any:
    if name == "FINDINGS_SCHEMA":
        return _findings_schema()
    raise AttributeError(f"module 'caveat' has no attribute {name!r}")
