"""GroupWise agent startup files (``@domain.mta``, ``@post.poa``, ``gwia.cfg``) as an editable document.

The syntax, as the agents accept it and as old files in the wild carry it:

* Linux switches ``--switch value``, ``--switch`` (a flag) and ``--switch=value``;
  NetWare/Windows switches ``/switch-value``, ``/switch=value`` and ``/switch``.
* Values are one token, or quoted with ``"..."`` (or ``'...'``) when they hold spaces.
  There are no escapes inside quotes.
* Comments: a line whose first non-blank character is ``;``, ``#`` or ``*``.  A comment that
  holds a switch (``;--ip 10.0.0.5``) is a *commented-out* switch: :meth:`StartupFile.has` sees
  it, :meth:`StartupFile.enabled` and :meth:`StartupFile.get` do not.
* Trailing comments: ``;`` or ``#`` after whitespace, after the last switch of a line.
  ``--pw ab;c`` is the value ``ab;c``: a comment needs whitespace before it.
* A backslash right before the line ending continues a switch line (never a comment line);
  a Windows path that ends in a backslash must therefore be quoted.
* Blank lines, CRLF or LF line endings, a UTF-8 BOM, a DOS end-of-file ``^Z``.

Editing (:meth:`StartupFile.set`, :meth:`StartupFile.remove`) rewrites only the bytes of the
switch concerned, so :meth:`StartupFile.render` of an unchanged file gives back the input
byte for byte.  GroupWise treats switch names case-insensitively; so does this module.

Importing this module is cheap: pyparsing is imported on first parse, ``re`` only by the code
that parses or edits, and reading a file through :meth:`StartupFile.load_cached` needs neither.
"""

import bisect
import os
import time
from collections import namedtuple

TYPE_CHECKING = False  # not typing's: a monitor should not pay 4 ms for it
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

__all__ = ["StartupFile", "StartupFileError", "Switch", "normalize_name"]

# Values that switch a feature off when given to an enabling switch (``--imapssl disabled``).
_OFF_WORDS = frozenset({"off", "no", "false", "0", "disable", "disabled", "none"})
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"  # keep undecodable bytes exactly as they were

# Regular expressions, as patterns: ``re`` compiles (and caches) them on first use.
_HS = r"(?:[ \t\ufeff\x1a]|\\\r?\n)+"  # blanks, including a line continuation
_ONLY_BLANK = r"(?:[ \t\ufeff\x1a]|\\\r?\n)*\Z"
_BLANK_THEN_COMMENT = r"(?:[ \t\ufeff\x1a]|\\\r?\n)*(?:[;#][^\r\n]*)?(?:[ \t\x1a]*)\Z"
_COMMENT_MARKS = r"[;#*]+[ \t]*"
_NEEDS_QUOTES = r"""\A(?:$|[;#"']|--)|[\s]|\\\Z"""
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
#: The largest startup file read: real ones are a few KiB of switches and comments.
MAX_SIZE = 1 << 20


class StartupFileError(ValueError):
    """A startup file that the grammar cannot read, with the place it went wrong."""

    def __init__(self, message: str, *, line: int, column: int, source: "Optional[str]" = None) -> None:
        self.reason = message
        self.line = line
        self.column = column
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}line {line}, column {column}: {message}")


_SWITCH_FIELDS = "name value style separator quoted commented start end value_start value_end line column"


class Switch(namedtuple("Switch", _SWITCH_FIELDS)):
    """One switch as written in the file (a named tuple: immutable, and cheaper than typing's).

    * ``name`` (str), ``value`` (str, or None for a flag; without its quotes);
    * ``style`` (str): ``"--"`` (Linux) or ``"/"`` (NetWare/Windows);
    * ``separator`` (str): the text between name and value: blanks, ``"="``, ``"-"`` or ``""``
      for a flag;
    * ``quoted``, ``commented`` (bool);
    * ``start``/``end`` (int) delimit the switch text (prefix, name, separator, value) and
      ``value_start``/``value_end`` (int or None) its value including any quotes, as offsets
      into the text; ``line`` and ``column`` (int, from 1) are where it starts.
    """

    __slots__ = ()

    @property
    def key(self) -> str:
        """The case-insensitive name GroupWise matches on."""
        return self.name.lower()

    @property
    def text(self) -> str:
        sep = self.separator if self.value is not None else ""
        shown = "" if self.value is None else (f'"{self.value}"' if self.quoted else self.value)
        return f"{self.style}{self.name}{sep}{shown}"


def normalize_name(name: str) -> str:
    """``"--IP"``, ``"/ip"`` and ``"ip"`` all name the switch ``"ip"``."""
    bare = name[2:] if name.startswith("--") else name[1:] if name.startswith(("/", "-")) else name
    # letters, digits, "_" and "."; single inner hyphens; a letter or digit first
    if not (bare[:1].isalnum() and set(bare) <= _NAME_CHARS and "--" not in bare and not bare.endswith("-")):
        raise ValueError(f"not a switch name: {name!r}")
    return bare.lower()


def _line_starts(text: str) -> "List[int]":
    starts = [0]
    end = text.find("\n")
    while end >= 0:
        starts.append(end + 1)
        end = text.find("\n", end + 1)
    return starts


class _Tok:
    __slots__ = ("kind", "loc", "text")

    def __init__(self, kind: str, loc: int, text: str) -> None:
        self.kind, self.loc, self.text = kind, loc, text


_GRAMMAR: "Dict[str, Any]" = {}


def _grammar() -> "Dict[str, Any]":
    """Build the pyparsing grammar once, on first use.

    pyparsing's camelCase names: RHEL 8 ships pyparsing 2.1, which lacks the snake_case names
    of 3.0; 3.x keeps the camelCase ones."""
    if _GRAMMAR:
        return _GRAMMAR
    import pyparsing as pp

    def tok(kind: str, pattern: str) -> "Any":
        expr = pp.Regex(pattern).setName(kind)
        expr.setParseAction(lambda s, loc, t: [_Tok(kind, loc, t[0])])
        return expr

    hs = pp.Regex(_HS).suppress().setName("blank")
    value = tok("value", r"""(?:"[^"\r\n]*"|'[^'\r\n]*'|(?![;#"']|--)(?:[^\s\\]|\\(?!\r?\n))+)""")
    linux = tok("switch", r"--[A-Za-z0-9][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*(?=[=\s\\]|\Z)") + pp.Optional(
        tok("sep", "=") + value | tok("sep", _HS) + value
    )
    netware = tok("switch", r"/[A-Za-z][A-Za-z0-9_.]*(?=[-=\s\\]|\Z)") + pp.Optional(tok("sep", "[-=]") + value)
    switch = pp.Group(linux | netware)
    trailing = pp.Regex(r"[;#][^\r\n]*").suppress().setName("comment")
    switches = switch + pp.ZeroOrMore(hs + switch) + pp.Optional(hs + trailing) + pp.Optional(hs)
    comment_line = tok("comment", r"[;#*][^\r\n]*")
    body = pp.Optional(hs) + pp.Optional(comment_line | switches)
    eol = pp.Regex(r"\r?\n").suppress()
    document = pp.ZeroOrMore(body + eol) + pp.Optional(body) + pp.StringEnd()
    commented = switches + pp.StringEnd()
    for expr in (document, commented):
        expr.leaveWhitespace()
        expr.parseWithTabs()  # offsets must be offsets into the text, not into a tab-expanded copy
    _GRAMMAR.update(pp=pp, document=document, commented=commented)
    return _GRAMMAR


class StartupFile:
    """A parsed startup file: the exact text plus its switches in file order."""

    def __init__(self, text: str, *, path: "Optional[str]" = None) -> None:
        self.path = path
        self._original = text
        self._text = text
        self._switches: List[Switch] = []
        self._line_starts: List[int] = []
        self._reparse(text)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: "Union[str, bytes]", *, source: "Optional[str]" = None) -> "StartupFile":
        if isinstance(text, bytes):
            text = text.decode(_ENCODING, _ERRORS)
        return cls(text, path=source)

    @classmethod
    def load(cls, path: "Union[str, os.PathLike[str]]") -> "StartupFile":
        """Read and parse *path*: a regular file of at most :data:`MAX_SIZE` bytes, or an
        ``OSError`` (:class:`mailha.files.FileRefused` for a FIFO, a device or a huge file)."""
        from ..files import read_bytes

        data = read_bytes(path, MAX_SIZE, "startup file")
        return cls(data.decode(_ENCODING, _ERRORS), path=os.fspath(path))

    @classmethod
    def load_cached(cls, path: "Union[str, os.PathLike[str]]",
                    cache_dir: "Union[str, os.PathLike[str]]") -> "StartupFile":
        """Like :meth:`load`, reusing the switches parsed earlier from the same file contents.

        For a monitor that reads the file every few seconds: a hit costs a stat, a read and a
        CRC, and imports neither pyparsing nor ``re`` nor ``json``.  The entry
        (``startup-<name>-<crc of path>.cache`` in ``cache_dir``, a directory the caller owns)
        is keyed on the file's size, mtime, inode and content CRC, so an edit within the same
        second is still seen.  It holds only offsets into the text, from which each switch is
        rebuilt exactly as a parse builds it.
        """
        import zlib

        from ..files import read_bytes_and_stat

        path = os.fspath(path)
        data, st = read_bytes_and_stat(path, MAX_SIZE, "startup file")
        key = f"{_CACHE_MAGIC} {st.st_size} {st.st_mtime_ns} {st.st_ino} {zlib.crc32(data)}"
        name = "".join(c if c in _NAME_CHARS else "_" for c in os.path.basename(path))[:64]
        path_crc = zlib.crc32(path.encode(_ENCODING, _ERRORS))
        entry = os.path.join(os.fspath(cache_dir), f"startup-{name}-{path_crc:08x}.cache")
        text = data.decode(_ENCODING, _ERRORS)
        try:
            with open(entry, encoding=_ENCODING, errors=_ERRORS, newline="") as handle:
                cached = handle.read().split("\n")
        except OSError:
            cached = []
        if cached[:2] == [key, path]:
            found = cls._from_offsets(text, path, cached[2:])
            if found is not None:
                return found
        parsed = cls(text, path=path)  # no entry, or a stale/corrupt one: parse again
        if "\n" not in path:
            offsets = [_offsets(s) for s in parsed._switches]
            tmp = f"{entry}.{os.getpid()}.tmp"
            try:
                os.makedirs(os.fspath(cache_dir), exist_ok=True)
                with open(tmp, "w", encoding=_ENCODING, errors=_ERRORS, newline="") as handle:
                    handle.write("\n".join([key, path, *offsets, ""]))
                os.replace(tmp, entry)
            except OSError:
                pass  # a cache that cannot be written only costs time
        return parsed

    @classmethod
    def _from_offsets(cls, text: str, path: str, lines: "List[str]") -> "Optional[StartupFile]":
        """A StartupFile from a cache entry's switch lines (see :func:`_offsets`); None if corrupt."""
        self = cls.__new__(cls)
        self.path, self._original, self._text = path, text, text
        self._line_starts = _line_starts(text)
        self._switches = []
        if lines[-1:] != [""]:
            return None  # torn: every entry ends with a line ending
        for line in lines[:-1]:
            offsets = _parse_offsets(line, len(text))
            if offsets is None or text[offsets[0]] not in "-/":
                return None
            self._switches.append(self._switch_at(text, *offsets))
        return self

    # -- reading ------------------------------------------------------------------------------

    @property
    def switches(self) -> "List[Switch]":
        """Every switch, active and commented out, in file order."""
        return list(self._switches)

    def active(self) -> "List[Switch]":
        return [s for s in self._switches if not s.commented]

    def find(self, name: str, *, commented: bool = False) -> "List[Switch]":
        """The occurrences of one switch: active ones, or with ``commented=True`` all of them."""
        key = normalize_name(name)
        return [s for s in self._switches if s.key == key and (commented or not s.commented)]

    def switch(self, name: str) -> "Optional[Switch]":
        """The occurrence in effect: the last active one (a later switch overrides an earlier one)."""
        found = self.find(name)
        return found[-1] if found else None

    def get(self, name: str, default: "Optional[str]" = None) -> "Optional[str]":
        """The value of the switch in effect; ``None`` for a flag; ``default`` when absent."""
        found = self.switch(name)
        return default if found is None else found.value

    def get_all(self, name: str) -> "List[Optional[str]]":
        return [s.value for s in self.find(name)]

    def has(self, name: str) -> bool:
        """The switch appears at all, even commented out."""
        return bool(self.find(name, commented=True))

    def enabled(self, name: str) -> bool:
        """The switch is active (not commented out) and not given an "off" value such as ``disabled``."""
        found = self.switch(name)
        return found is not None and (found.value is None or found.value.strip().lower() not in _OFF_WORDS)

    def get_int(self, name: str, default: "Optional[int]" = None) -> "Optional[int]":
        found = self.switch(name)
        if found is None or found.value is None:
            return default
        try:
            return int(found.value, 10)
        except ValueError:
            raise StartupFileError(
                f"--{found.name} needs a number, not {found.value!r}", line=found.line, column=found.column, source=self.path
            ) from None

    def port(self, name: str, default: "Optional[int]" = None) -> "Optional[int]":
        """A TCP port switch, checked to be 1-65535."""
        value = self.get_int(name, default)
        if value is not None and not 0 < value < 65536:
            found = self.switch(name)
            line, column = (found.line, found.column) if found else (0, 0)
            raise StartupFileError(f"--{name} {value} is not a TCP port", line=line, column=column, source=self.path)
        return value

    @property
    def home(self) -> "Optional[str]":
        return self.get("home")

    @property
    def ip(self) -> "Optional[str]":
        """The ``--ip`` address the agent binds to, or ``None`` when it listens on all addresses."""
        value = self.get("ip")
        return value or None

    @property
    def changed(self) -> bool:
        return self._text != self._original

    def render(self) -> str:
        return self._text

    def render_bytes(self) -> bytes:
        return self._text.encode(_ENCODING, _ERRORS)

    # -- editing ------------------------------------------------------------------------------

    def set(self, name: str, value: "Optional[str]" = None) -> None:
        """Give every active occurrence of ``name`` this value (``None`` makes it a flag), or add it.

        A new switch goes on its own line right after a commented-out occurrence if there is one
        (``;--ip 10.0.0.5`` stays as it was), else at the end, in the file's style and line ending.
        """
        key = normalize_name(name)
        if value is not None and ("\r" in value or "\n" in value):
            raise ValueError("a switch value cannot span lines")
        active = self.find(key)
        if active:
            edits = [(s.start, s.end, self._switch_text(s.style, s.name, s.separator, value, s.quoted)) for s in active]
        else:
            commented = self.find(key, commented=True)
            if commented:
                anchor = commented[-1]
                style, shown = anchor.style, anchor.name
                at = self._logical_line_end(anchor.end)
            else:
                style, shown = self._dominant_style(), name.lstrip("-/") or key
                at = len(self._text)
            eol = self._dominant_eol()
            prefix = eol if at > 0 and not self._text[:at].endswith("\n") else ""
            sep = " " if style == "--" else "-"
            edits = [(at, at, prefix + self._switch_text(style, shown, sep, value, False) + eol)]
        expect = [(k, value if k == key and not c else v, c) for k, v, c in self._summary()]
        if not active:
            expect = None  # an insertion: checked by the re-parse alone
        self._apply(edits, expect)

    def remove(self, name: str) -> int:
        """Remove every active occurrence; returns how many.  Commented-out ones stay.

        A switch alone on its line takes the whole line (and its trailing comment) with it;
        a switch sharing its line with others takes only its own text and the blanks before it.
        """
        import re

        edits = []
        for s in self.find(name):
            line_start = self._line_starts[s.line - 1]
            line_end = self._logical_line_end(s.end)
            before, after = self._text[line_start : s.start], self._text[s.end : self._eol_start(line_end)]
            if re.match(_ONLY_BLANK, before) and re.match(_BLANK_THEN_COMMENT, after):
                edits.append((line_start, line_end, ""))
            else:
                blanks = re.search(_HS + r"\Z", before)
                start = line_start + blanks.start() if blanks else s.start
                edits.append((start, s.end, ""))
        key = normalize_name(name)
        self._apply(edits, [(k, v, c) for k, v, c in self._summary() if k != key or c])
        return len(edits)

    def write_with_backup(self, path: "Optional[Union[str, os.PathLike[str]]]" = None, *,
                          backup: bool = True) -> "Optional[str]":
        """Write the text atomically (temp file, fsync, rename, fsync of the directory).

        The existing file keeps its mode and owner and, with ``backup``, is first copied to
        ``<file>.mailha-bak.<UTC timestamp>``.  Nothing is written when the file on disk already
        holds this text.  Returns the backup's path, or ``None`` when no backup was made.
        """
        from ..files import rewrite

        target = os.fspath(path if path is not None else self.path or "")
        if not target:
            raise ValueError("no path to write to")
        data = self.render_bytes()
        if not os.path.lexists(target):
            with open(target, "xb") as handle:  # a new file: nothing to keep or back up
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            backup_path = None
        else:
            backup_path = None
            if backup:
                backup_path = _unique(f"{target}.mailha-bak.{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
            if not rewrite(target, data, backup_path):
                return None
        self.path = target
        self._original = self._text
        return backup_path

    # -- internals ----------------------------------------------------------------------------

    def _reparse(self, text: str) -> None:
        old = self._line_starts
        self._line_starts = _line_starts(text)
        try:
            self._switches = self._parse_switches(text)
        except StartupFileError:
            self._line_starts = old
            raise
        self._text = text

    def _position(self, loc: int) -> "Tuple[int, int]":
        line = bisect.bisect_right(self._line_starts, loc)
        return line, loc - self._line_starts[line - 1] + 1

    def _parse_switches(self, text: str) -> "List[Switch]":
        import re  # already imported by pyparsing

        g = _grammar()
        pp = g["pp"]
        try:
            result = g["document"].parseString(text, parseAll=True)
        except pp.ParseBaseException as exc:
            raise self._error(text, exc.loc) from None
        switches: List[Switch] = []
        for item in result:
            if isinstance(item, _Tok):  # a comment line: does it hold commented-out switches?
                marks = re.match(_COMMENT_MARKS, item.text)
                rest = item.text[marks.end() :] if marks else ""
                if not rest.startswith(("--", "/")):
                    continue
                try:
                    inner = g["commented"].parseString(rest, parseAll=True)
                except pp.ParseBaseException:
                    continue
                offset = item.loc + (marks.end() if marks else 0)
                switches.extend(self._make_switch(text, list(group), offset, True) for group in inner)
            else:
                switches.append(self._make_switch(text, list(item), 0, False))
        return switches

    def _make_switch(self, text: str, toks: "List[_Tok]", offset: int, commented: bool) -> "Switch":
        head = toks[0]
        start = head.loc + offset
        name_end = start + len(head.text)
        if len(toks) == 1:
            return self._switch_at(text, start, name_end, None, name_end, commented)
        value = toks[2]  # toks[1] is the separator, which lies between name_end and the value
        value_start = value.loc + offset
        return self._switch_at(text, start, name_end, value_start, value_start + len(value.text), commented)

    def _switch_at(
        self, text: str, start: int, name_end: int, value_start: "Optional[int]", end: int, commented: bool
    ) -> "Switch":
        """The switch written at ``text[start:end]``: from a parse, or from a cache entry."""
        style = "--" if text.startswith("--", start) else "/"
        name = text[start + len(style) : name_end]
        line, column = self._position(start)
        if value_start is None:
            return Switch(name, None, style, "", False, commented, start, end, None, None, line, column)
        raw = text[value_start:end]
        quoted = len(raw) >= 2 and raw[0] in "\"'" and raw[-1] == raw[0]
        value = raw[1:-1] if quoted else raw
        separator = text[name_end:value_start]
        return Switch(name, value, style, separator, quoted, commented, start, end, value_start, end, line, column)

    def _error(self, text: str, loc: int) -> "StartupFileError":
        import re

        loc = min(loc, len(text))
        line, column = self._position(loc)
        found = re.match(r"[^\s]*", text[loc:]).group(0)[:40]
        line_text = text[self._line_starts[line - 1] : loc]
        at_line_start = bool(re.match(_ONLY_BLANK, line_text))
        if found[:1] in ("'", '"') and not re.match(r"\"[^\"\r\n]*\"|'[^'\r\n]*'", text[loc:]):
            message = f"unterminated quoted value {found!r}"
        elif at_line_start:
            message = f"expected a switch (--name or /name) or a comment, found {found!r}"
        elif found[:1] in ("=", "-") and re.search(r"[A-Za-z0-9_.]\Z", line_text):
            message = f"missing value after {found[0]!r}"
        elif found.startswith(("-", "/")):
            message = f"malformed switch {found!r}"
        else:
            message = f"unexpected text {found!r} (quote a value that holds spaces)"
        owner = re.findall(r"(?:--|/)([A-Za-z0-9_.-]+)", line_text)
        if owner and _is_secret(owner[-1]):  # never echo any part of a password
            message = f"malformed value of --{owner[-1]} (value not shown; quote a value that holds spaces)"
        return StartupFileError(message, line=line, column=column, source=self.path)

    def _logical_line_end(self, loc: int) -> int:
        """Offset just past the line ending of the (continued) line holding ``loc``."""
        pos = loc
        while True:
            nl = self._text.find("\n", pos)
            if nl < 0:
                return len(self._text)
            eol_start = nl - 1 if nl > 0 and self._text[nl - 1] == "\r" else nl
            if eol_start > 0 and self._text[eol_start - 1] == "\\" and nl >= loc:
                pos = nl + 1  # a continuation: the logical line goes on
                continue
            return nl + 1

    def _eol_start(self, line_end: int) -> int:
        if self._text[:line_end].endswith("\r\n"):
            return line_end - 2
        if self._text[:line_end].endswith("\n"):
            return line_end - 1
        return line_end

    def _dominant_eol(self) -> str:
        crlf = self._text.count("\r\n")
        return "\r\n" if crlf and crlf * 2 >= self._text.count("\n") else "\n"

    def _dominant_style(self) -> str:
        styles = [s.style for s in self._switches if not s.commented]
        return "/" if styles and styles.count("/") * 2 > len(styles) else "--"

    @staticmethod
    def _switch_text(style: str, name: str, separator: str, value: "Optional[str]", quoted: bool) -> str:
        if value is None:
            return f"{style}{name}"
        if not separator:
            separator = " " if style == "--" else "-"
        import re

        if quoted or re.search(_NEEDS_QUOTES, value):
            if '"' in value:
                raise ValueError(f"cannot write a value holding both a double quote and a blank: {value!r}")
            value = f'"{value}"'
        return f"{style}{name}{separator}{value}"

    def _summary(self) -> "List[Tuple[str, Optional[str], bool]]":
        return [(s.key, s.value, s.commented) for s in self._switches]

    def _apply(self, edits: "Iterable[Tuple[int, int, str]]",
               expect: "Optional[List[Tuple[str, Optional[str], bool]]]") -> None:
        """Apply the edits, then check that the file reads as ``expect``; else keep the old text.

        The check catches the one ambiguity of the syntax: ``--flag /x`` reads ``/x`` as the
        flag's value, so making a switch a flag, or removing the switch between the two, would
        change what a neighbour means.
        """
        text = self._text
        for start, end, replacement in sorted(edits, reverse=True):
            text = text[:start] + replacement + text[end:]
        if text == self._text:
            return
        old = (self._text, self._switches, self._line_starts)
        self._reparse(text)  # raises (and keeps the old text) if an edit broke the syntax
        if expect is not None and self._summary() != expect:
            self._text, self._switches, self._line_starts = old
            raise ValueError("this change would alter how a neighbouring switch reads (--flag /value); edit the file by hand")


_CACHE_MAGIC = "mailha-startup-cache-3"  # first line of a cache entry: a new format, a new name


def _offsets(switch: "Switch") -> str:
    """A cache entry's line for *switch*: ``start name_end value_start end commented``.

    The rest of a switch is text between these offsets (see :meth:`StartupFile._switch_at`).
    A flag has ``-`` for its value_start.
    """
    name_end = switch.start + len(switch.style) + len(switch.name)
    value_start = "-" if switch.value_start is None else switch.value_start
    return f"{switch.start} {name_end} {value_start} {switch.end} {int(switch.commented)}"


def _is_number(text: str) -> bool:
    """ASCII digits only (``isdigit()`` also takes "²", which int() refuses)."""
    return text != "" and not text.strip("0123456789")


def _parse_offsets(line: str, size: int) -> "Optional[Tuple[int, int, Optional[int], int, bool]]":
    """The fields of :func:`_offsets`'s line, checked to be in order within *size*; else None."""
    fields = line.split(" ")
    if len(fields) != 5 or not all(_is_number(f) for f in fields[:2] + fields[3:]):
        return None
    start, name_end, end, commented = int(fields[0]), int(fields[1]), int(fields[3]), int(fields[4])
    if fields[2] == "-":
        value_start, valid = None, name_end == end
    else:
        value_start = int(fields[2]) if _is_number(fields[2]) else -1
        valid = name_end <= value_start < end
    if not (valid and start < name_end and end <= size and commented in (0, 1)):
        return None
    return start, name_end, value_start, end, bool(commented)
_SECRET_WORDS = ("pass", "pwd", "secret", "key")


def _is_secret(name: str) -> bool:
    """Switches such as --httppassword, --keypasswd, --hapassword (not --keyfile: a path)."""
    lowered = name.lower()
    return lowered != "keyfile" and any(word in lowered for word in _SECRET_WORDS)


def _unique(path: str) -> str:
    candidate, n = path, 0
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{path}.{n}"
    return candidate
