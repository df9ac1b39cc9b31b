"""The org: records in SQLite, writes validated as Salesforce validates them, SOQL queries.

`Org` is the stand-in's data and rules without HTTP, so seeding 150,000 records takes seconds
(one transaction, `executemany`) while still passing every record through the same checks a
REST create makes. The HTTP server in `server.py` is a thin layer over it.

Query paging: the first page runs the query once, keeps the ordered list of matching Ids (not
the records) under a query locator, and each later page fetches its slice of Ids. Locators
stay valid until they have been idle for 15 minutes or until ten newer ones exist (the oldest
is then dropped, as Salesforce does with a user's eleventh open cursor); asking for an expired
one answers INVALID_QUERY_LOCATOR.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from commands.ids import to_18

from .compiler import Column, Compiled, Compiler, RelNode
from .errors import SalesforceError, invalid_type, not_found
from .schema import (
    KEY_PREFIXES,
    ORG_PREFIX,
    QUERY_LOCATOR_PREFIX,
    Field,
    SObject,
    build_schema,
    lookup_object,
)
from .soql import parse
from .values import UTC, coerce, fast_to_18, format_datetime, normalize_id, to_json

DEFAULT_API_VERSION = "59.0"
DEFAULT_PAGE_SIZE = 2000
MAX_AGGREGATE_ROWS = 2000
MAX_OPEN_CURSORS = 10
CURSOR_IDLE_SECONDS = 15 * 60
DEFAULT_USERNAME = "integration@billing-ops.example"

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_POD = "8a"  # characters 4-5 of every Id: the "instance" part


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def _column_sql(f: Field) -> str:
    name = f'"{f.name}"'
    if f.name == "Id":
        return f"{name} TEXT PRIMARY KEY NOT NULL"
    if f.type == "boolean":
        return f"{name} INTEGER NOT NULL DEFAULT 0"
    if f.type == "int":
        return f"{name} INTEGER"
    if f.is_number:
        return f"{name} REAL"
    if f.is_string:
        return f"{name} TEXT COLLATE NOCASE"
    return f"{name} TEXT"


@dataclass
class _Cursor:
    compiled: Compiled
    ids: list[str]
    page_size: int
    touched: float


class Org:
    """One Salesforce org: schema, records and the rules writes and queries obey.

    `stripe_customer_field` names the Account's "Stripe Customer ID" field (a list adds several,
    None adds none); `pm_stripe_customer_field` adds the same on `blng__PaymentMethod__c`.
    `path` None keeps the data in a private temporary SQLite file removed by `close()`.
    `set_audit_fields` is Salesforce's "Set Audit Fields upon Record Creation" permission:
    with it, creates may set CreatedDate, CreatedById, LastModifiedDate, LastModifiedById
    (seed data uses it to back-date transactions). `clock` returns "now" (aware, UTC) for
    timestamps and date literals, so tests can pin the date.
    """

    def __init__(
        self,
        stripe_customer_field: str | list[str] | tuple[str, ...] | None = "Stripe_Customer_Id__c",
        path: str | os.PathLike[str] | None = None,
        *,
        pm_stripe_customer_field: str | list[str] | tuple[str, ...] | None = None,
        set_audit_fields: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.objects: dict[str, SObject] = build_schema(
            stripe_customer_field, pm_stripe_customer_field
        )
        self.stripe_customer_field = stripe_customer_field
        self.pm_stripe_customer_field = pm_stripe_customer_field
        self.set_audit_fields = set_audit_fields
        self.clock: Callable[[], dt.datetime] = clock or (lambda: dt.datetime.now(UTC))
        self._lock = threading.RLock()
        self._depth = 0
        self._tempdir: str | None = None
        if path is None:
            self._tempdir = tempfile.mkdtemp(prefix="sf-org-")
            path = os.path.join(self._tempdir, "org.sqlite3")
        self.path = os.fspath(path)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA cache_size=-65536")  # 64 MB: large seeds stay in memory
        if self._tempdir:
            self._conn.execute("PRAGMA journal_mode=MEMORY")
            self._conn.execute("PRAGMA synchronous=OFF")
        else:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._readable: dict[str, bool] = {name: True for name in self.objects}
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._insert_sql: dict[str, tuple[list[str], str]] = {}
        self._create_tables()
        self.org_id = self._meta("org_id") or to_18(ORG_PREFIX + _POD + "0000000SbX")
        self._counter = int(self._meta("id_counter") or 0)
        self._autonumbers: dict[str, int] = {
            name: int(self._meta(f"autonumber:{name}") or 0) for name in self.objects
        }
        self.default_user_id = self.ensure_user(DEFAULT_USERNAME, "Integration User")
        self._closed = False

    # storage ---------------------------------------------------------------------------------

    def _create_tables(self) -> None:
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS _sandbox_meta (key TEXT PRIMARY KEY, value TEXT)"
            )
            for obj in self.objects.values():
                columns = ", ".join(_column_sql(f) for f in obj.fields.values())
                self._conn.execute(f'CREATE TABLE IF NOT EXISTS "{obj.name}" ({columns})')
                existing = {
                    row[1] for row in self._conn.execute(f'PRAGMA table_info("{obj.name}")')
                }
                for f in obj.fields.values():
                    if f.name not in existing:
                        self._conn.execute(f'ALTER TABLE "{obj.name}" ADD COLUMN {_column_sql(f)}')
                for f in obj.fields.values():
                    # Indexes where lookups and joins need them; each one costs seeding time.
                    wanted = (
                        (f.type == "reference" and not f.audit and f.name != "OwnerId")
                        or (f.name_field and not f.auto_number)
                        or (f.name == "CreatedDate" and obj.name == "blng__PaymentTransaction__c")
                        or (
                            f.custom
                            and f.type == "string"
                            and ("Stripe" in f.label or "Token" in f.label)
                        )
                    )
                    if wanted:
                        self._conn.execute(
                            f'CREATE INDEX IF NOT EXISTS "ix_{obj.name}_{f.name}" '
                            f'ON "{obj.name}" ("{f.name}")'
                        )
                names = list(obj.fields)
                quoted = ", ".join(f'"{n}"' for n in names)
                sql = f'INSERT INTO "{obj.name}" ({quoted}) VALUES ({", ".join("?" * len(names))})'
                self._insert_sql[obj.name] = (names, sql)

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM _sandbox_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: Any) -> None:
        self._conn.execute(
            "INSERT INTO _sandbox_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all (nestable: SQLite savepoints)."""
        with self._lock:
            name = f"sp{self._depth}"
            self._depth += 1
            self._conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                self._conn.execute(f"ROLLBACK TO {name}")
                self._conn.execute(f"RELEASE {name}")
                raise
            else:
                self._set_meta("id_counter", self._counter)
                self._conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1

    def close(self) -> None:
        """Close the database; a private temporary database is deleted."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cursors.clear()
            self._conn.close()
            if self._tempdir:
                shutil.rmtree(self._tempdir, ignore_errors=True)

    def __enter__(self) -> Org:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ids and names ---------------------------------------------------------------------------

    def mint_id(self, prefix: str) -> str:
        """A new 18-character Id with the given key prefix (unique within this org)."""
        with self._lock:
            self._counter += 1
            return fast_to_18(prefix + _POD + "0" + _base62(self._counter, 9))

    def _autonumber(self, obj: SObject) -> str | None:
        if not obj.autonumber_format:
            return None
        self._autonumbers[obj.name] += 1
        number = self._autonumbers[obj.name]
        head, _, rest = obj.autonumber_format.partition("{")
        width = len(rest.rstrip("}"))
        return f"{head}{number:0{width}d}"

    def sobject(self, name: str) -> SObject:
        """The object for a name (any case); INVALID_TYPE if unknown or not visible."""
        obj = lookup_object(self.objects, name) if isinstance(name, str) else None
        if obj is None or not self._readable[obj.name]:
            raise invalid_type(name)
        return obj

    def set_access(self, sobject: str, readable: bool) -> None:
        """Hide an object from the API user, as a missing object permission does."""
        obj = lookup_object(self.objects, sobject)
        if obj is None:
            raise invalid_type(sobject)
        self._readable[obj.name] = bool(readable)

    def readable(self, sobject: str) -> bool:
        return self._readable.get(sobject, False)

    def ensure_user(self, username: str, name: str | None = None) -> str:
        """The User Id for a username, creating the User record if needed."""
        with self._lock:
            row = self._conn.execute(
                'SELECT "Id" FROM "User" WHERE "Username" = ?', (username,)
            ).fetchone()
            if row:
                return row[0]
            user = self.objects["User"]
            now = format_datetime(self.clock())
            user_id = self.mint_id(user.key_prefix)
            record = {
                "Id": user_id,
                "Username": username,
                "Name": name or username,
                "Email": username if "@" in username else f"{username}@example.com",
                "IsActive": 1,
                "IsDeleted": 0,
                "CreatedDate": now,
                "CreatedById": user_id,
                "LastModifiedDate": now,
                "LastModifiedById": user_id,
                "SystemModstamp": now,
            }
            names, sql = self._insert_sql["User"]
            with self.transaction():
                self._conn.execute(sql, [record.get(n) for n in names])
            return user_id

    # describe --------------------------------------------------------------------------------

    def describe_global(self, version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [
                obj.summary(version) for obj in self.objects.values() if self._readable[obj.name]
            ],
        }

    def describe(self, sobject: str, version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
        obj = self.sobject(sobject)
        return obj.describe(version)

    # validation ------------------------------------------------------------------------------

    def _prepare(
        self,
        obj: SObject,
        fields: Any,
        *,
        insert: bool,
        csv: bool = False,
        ref_cache: dict[str, set[str]] | None = None,
    ) -> dict[str, Any]:
        """Checked, converted values of one write, or the SalesforceError Salesforce gives."""
        if not isinstance(fields, dict):
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of SObject from "
                "the request body: expected a JSON object",
            )
        values: dict[str, Any] = {}
        locked: list[str] = []
        exact = obj.fields
        for key, raw in fields.items():
            if key == "attributes":
                continue
            f = exact.get(key) or (obj.field(key) if isinstance(key, str) else None)
            if f is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
                )
            if csv and raw == "":
                continue  # an empty cell leaves the field as it is
            writable = f.createable if insert else f.updateable
            if not writable and not (insert and f.audit and self.set_audit_fields):
                locked.append(f.name)
                continue
            if csv and raw == "#N/A":
                raw = None
            values[f.name] = coerce(f, raw, csv=csv)
        if locked:
            raise SalesforceError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(locked)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.",
                locked,
            )
        if insert:
            missing = [name for name in obj.required_fields if values.get(name) is None]
        else:
            missing = [
                name
                for name, value in values.items()
                if value is None and obj.fields[name].required
            ]
        if missing:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        for name, value in values.items():
            f = obj.fields[name]
            if f.type == "reference" and value is not None:
                self._check_reference(f, value, ref_cache)
        return values

    def _check_reference(self, f: Field, value: str, ref_cache: dict[str, set[str]] | None) -> None:
        target = self.objects[f.reference_to[0]]
        if value[:3] != target.key_prefix:
            raise SalesforceError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                f"{f.label}: id value of incorrect type: {value}",
                [f.name],
            )
        if ref_cache is not None:
            known = ref_cache.get(target.name)
            if known is None:
                known = {row[0] for row in self._conn.execute(f'SELECT "Id" FROM "{target.name}"')}
                ref_cache[target.name] = known
            exists = value in known
        else:
            exists = (
                self._conn.execute(
                    f'SELECT 1 FROM "{target.name}" WHERE "Id" = ?', (value,)
                ).fetchone()
                is not None
            )
        if not exists:
            raise SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name]
            )

    def _complete_insert(self, obj: SObject, values: dict[str, Any], now: str) -> dict[str, Any]:
        record_id = self.mint_id(obj.key_prefix)
        row = {**obj.insert_defaults, **values}
        row["Id"] = record_id
        autonumber = self._autonumber(obj)
        if autonumber:
            row["Name"] = autonumber
        if "OwnerId" in obj.fields and row.get("OwnerId") is None:
            row["OwnerId"] = self.default_user_id
        row.setdefault("CreatedDate", now)
        row.setdefault("CreatedById", self.default_user_id)
        row.setdefault("LastModifiedDate", row["CreatedDate"])
        row.setdefault("LastModifiedById", row["CreatedById"])
        row["SystemModstamp"] = row["LastModifiedDate"]
        row["IsDeleted"] = 0
        return row

    # writes ----------------------------------------------------------------------------------

    def _writable_object(self, sobject: str) -> SObject:
        obj = self.sobject(sobject)
        if not obj.createable:
            raise SalesforceError(
                400,
                "INVALID_TYPE",
                f"sObject type '{obj.name}' is not supported for this operation.",
            )
        return obj

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        """Insert one record (the checks of a REST create); returns its 18-character Id."""
        return self.create_many(sobject, [fields])[0]

    def create_many(
        self, sobject: str, records: list[dict[str, Any]], *, csv: bool = False
    ) -> list[str]:
        """Insert records in one transaction, all or none; fast enough to seed 150,000.

        The first invalid record raises its SalesforceError (with `.index` set to its
        position) and nothing is inserted.
        """
        obj = self._writable_object(sobject)
        with self._lock:
            checked = self._check_inserts(obj, records, csv)
            for index, item in enumerate(checked):
                if isinstance(item, SalesforceError):
                    item.index = index  # type: ignore[attr-defined]
                    raise item
            rows = [row for row in checked if isinstance(row, dict)]
            self._insert_rows(obj, rows)
            return [row["Id"] for row in rows]

    def create_each(
        self, sobject: str, records: list[dict[str, Any]], *, csv: bool = False
    ) -> list[str | SalesforceError]:
        """Insert the valid records, report the others: partial success, one result each.

        This is how sObject Collections with `allOrNone: false` and Bulk API jobs behave.
        """
        obj = self._writable_object(sobject)
        with self._lock:
            checked = self._check_inserts(obj, records, csv)
            self._insert_rows(obj, [row for row in checked if isinstance(row, dict)])
            return [item if isinstance(item, SalesforceError) else item["Id"] for item in checked]

    def _check_inserts(
        self, obj: SObject, records: list[dict[str, Any]], csv: bool
    ) -> list[dict[str, Any] | SalesforceError]:
        now = format_datetime(self.clock())
        ref_cache: dict[str, set[str]] | None = {} if len(records) > 20 else None
        checked: list[dict[str, Any] | SalesforceError] = []
        for fields in records:
            try:
                values = self._prepare(obj, fields, insert=True, csv=csv, ref_cache=ref_cache)
            except SalesforceError as exc:
                checked.append(exc)
                continue
            checked.append(self._complete_insert(obj, values, now))
        return checked

    def _insert_rows(self, obj: SObject, rows: list[dict[str, Any]]) -> None:
        # Rows grouped by which columns they fill: nulls are left to the column default
        # rather than bound one by one (binding dominates the cost of large seeds).
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for row in rows:
            filled = {k: v for k, v in row.items() if v is not None}
            groups.setdefault(tuple(filled), []).append(tuple(filled.values()))
        with self.transaction():
            for names, values in groups.items():
                columns = ", ".join(f'"{n}"' for n in names)
                marks = ", ".join("?" * len(names))
                self._conn.executemany(
                    f'INSERT INTO "{obj.name}" ({columns}) VALUES ({marks})', values
                )
            if obj.autonumber_format:
                self._set_meta(f"autonumber:{obj.name}", self._autonumbers[obj.name])

    def _existing_id(self, obj: SObject, record_id: Any) -> str:
        normalized = normalize_id(record_id) if isinstance(record_id, str) else None
        if normalized is None or normalized[:3] != obj.key_prefix:
            raise not_found()
        row = self._conn.execute(
            f'SELECT 1 FROM "{obj.name}" WHERE "Id" = ?', (normalized,)
        ).fetchone()
        if row is None:
            raise not_found()
        return normalized

    def update(
        self, sobject: str, record_id: str, fields: dict[str, Any], *, csv: bool = False
    ) -> None:
        """Update one record (the checks of a REST PATCH); NOT_FOUND if it does not exist."""
        obj = self._writable_object(sobject)
        with self._lock:
            normalized = self._existing_id(obj, record_id)
            values = self._prepare(obj, fields, insert=False, csv=csv)
            now = format_datetime(self.clock())
            values.update(
                LastModifiedDate=now, SystemModstamp=now, LastModifiedById=self.default_user_id
            )
            assignments = ", ".join(f'"{name}" = ?' for name in values)
            with self.transaction():
                self._conn.execute(
                    f'UPDATE "{obj.name}" SET {assignments} WHERE "Id" = ?',
                    [*values.values(), normalized],
                )

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete a record, its master-detail children, and clear lookups that pointed to it."""
        obj = self._writable_object(sobject)
        with self._lock:
            normalized = self._existing_id(obj, record_id)
            with self.transaction():
                self._delete_ids(obj, [normalized])

    def _delete_ids(self, obj: SObject, ids: list[str]) -> None:
        if not ids:
            return
        marks = ", ".join("?" * len(ids))
        for other in self.objects.values():
            for f in other.fields.values():
                if f.type != "reference" or f.reference_to[0] != obj.name:
                    continue
                if f.master_detail:
                    children = [
                        row[0]
                        for row in self._conn.execute(
                            f'SELECT "Id" FROM "{other.name}" WHERE "{f.name}" IN ({marks})', ids
                        )
                    ]
                    self._delete_ids(other, children)
                else:
                    self._conn.execute(
                        f'UPDATE "{other.name}" SET "{f.name}" = NULL '
                        f'WHERE "{f.name}" IN ({marks})',
                        ids,
                    )
        self._conn.execute(f'DELETE FROM "{obj.name}" WHERE "Id" IN ({marks})', ids)

    # reads -----------------------------------------------------------------------------------

    def get(
        self,
        sobject: str,
        record_id: str,
        fields: list[str] | None = None,
        version: str = DEFAULT_API_VERSION,
    ) -> dict[str, Any]:
        """One record as REST GET returns it (all fields, or the named ones)."""
        obj = self.sobject(sobject)
        if fields:
            chosen = []
            for name in fields:
                f = obj.field(name.strip())
                if f is None:
                    raise SalesforceError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name.strip()}' on sobject of type {obj.name}",
                    )
                chosen.append(f)
        else:
            chosen = list(obj.fields.values())
        with self._lock:
            normalized = self._existing_id(obj, record_id)
            columns = ", ".join(f'"{f.name}"' for f in chosen)
            row = self._conn.execute(
                f'SELECT {columns} FROM "{obj.name}" WHERE "Id" = ?', (normalized,)
            ).fetchone()
        record: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/sobjects/{obj.name}/{normalized}",
            }
        }
        for f, value in zip(chosen, row, strict=True):
            record[f.name] = to_json(f, value)
        return record

    def count(self, sobject: str) -> int:
        """How many records of an object exist (no access check: a test helper)."""
        obj = lookup_object(self.objects, sobject)
        if obj is None:
            raise invalid_type(sobject)
        with self._lock:
            return self._conn.execute(f'SELECT COUNT(*) FROM "{obj.name}"').fetchone()[0]

    def existing_ids(self, sobject: str, ids: list[str]) -> set[str]:
        """Which of these (normalized) Ids exist as records of the object."""
        obj = self.sobject(sobject)
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), 900):
                chunk = ids[start : start + 900]
                marks = ", ".join("?" * len(chunk))
                found.update(
                    row[0]
                    for row in self._conn.execute(
                        f'SELECT "Id" FROM "{obj.name}" WHERE "Id" IN ({marks})', chunk
                    )
                )
        return found

    # queries ---------------------------------------------------------------------------------

    def compile(self, soql: str) -> Compiled:
        query = parse(soql)
        return Compiler(self.objects, self.readable, self.clock(), soql).compile(query)

    def query(
        self, soql: str, page_size: int = DEFAULT_PAGE_SIZE, version: str = DEFAULT_API_VERSION
    ) -> dict[str, Any]:
        """The first page of a SOQL query, shaped as the REST `query` resource answers."""
        compiled = self.compile(soql)
        with self._lock:
            if compiled.kind == "count":
                total = self._conn.execute(compiled.sql, compiled.params).fetchone()[0]
                return {"totalSize": total, "done": True, "records": []}
            if compiled.kind == "aggregate":
                return self._aggregate(compiled)
            ids = [row[0] for row in self._conn.execute(compiled.sql, compiled.params)]
            page_size = max(1, int(page_size))
            first = ids[:page_size]
            result: dict[str, Any] = {"totalSize": len(ids), "done": len(ids) <= page_size}
            if len(ids) > page_size:
                locator = self._open_cursor(compiled, ids, page_size)
                result["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{page_size}"
            result["records"] = self._page(compiled, first, version)
            return result

    def query_more(self, locator: str, version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
        """The page a `nextRecordsUrl` locator (`01g...-2000`) points at."""
        with self._lock:
            self._expire_cursors()
            cursor_id, _, offset_text = locator.partition("-")
            cursor = self._cursors.get(cursor_id)
            if cursor is None or not (offset_text.isascii() and offset_text.isdigit()):
                raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.touched = time.monotonic()
            self._cursors.move_to_end(cursor_id)
            offset = int(offset_text)
            ids = cursor.ids[offset : offset + cursor.page_size]
            end = offset + len(ids)
            result: dict[str, Any] = {"totalSize": len(cursor.ids), "done": end >= len(cursor.ids)}
            if not result["done"]:
                result["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{end}"
            result["records"] = self._page(cursor.compiled, ids, version)
            return result

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a query (all pages), as a list."""
        result = self.query(soql)
        records = list(result["records"])
        while not result["done"]:
            locator = result["nextRecordsUrl"].rsplit("/", 1)[1]
            result = self.query_more(locator)
            records.extend(result["records"])
        return records

    def _open_cursor(self, compiled: Compiled, ids: list[str], page_size: int) -> str:
        self._expire_cursors()
        cursor_id = self.mint_id(QUERY_LOCATOR_PREFIX)
        self._cursors[cursor_id] = _Cursor(compiled, ids, page_size, time.monotonic())
        while len(self._cursors) > MAX_OPEN_CURSORS:
            self._cursors.popitem(last=False)
        return cursor_id

    def _expire_cursors(self) -> None:
        limit = time.monotonic() - CURSOR_IDLE_SECONDS
        for cursor_id in [k for k, c in self._cursors.items() if c.touched < limit]:
            del self._cursors[cursor_id]

    def _aggregate(self, compiled: Compiled) -> dict[str, Any]:
        rows = self._conn.execute(compiled.sql, compiled.params).fetchall()
        if len(rows) > MAX_AGGREGATE_ROWS:
            raise SalesforceError(
                400,
                "MALFORMED_QUERY",
                "Aggregate query does not support queryMore(), use LIMIT to restrict the "
                "results to a single batch",
            )
        records = []
        for row in rows:
            record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for column, value in zip(compiled.agg_columns, row, strict=True):
                if column.kind == "count":
                    record[column.key] = int(value or 0)
                elif column.kind == "number":
                    record[column.key] = None if value is None else float(value)
                else:
                    assert column.field is not None
                    record[column.key] = to_json(column.field, value)
            records.append(record)
        return {"totalSize": len(records), "done": True, "records": records}

    def _page(self, compiled: Compiled, ids: list[str], version: str) -> list[dict[str, Any]]:
        rows: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            sql = compiled.fetch_sql.replace("{ids}", ", ".join("?" * len(chunk)))
            for row in self._conn.execute(sql, chunk):
                rows[row[0]] = row
        present = [i for i in ids if i in rows]
        records = [
            self._build(rows[i], compiled.nodes, compiled.sobject, i, version) for i in present
        ]
        for plan in compiled.children:
            grouped: dict[str, list[dict[str, Any]]] = {}
            for start in range(0, len(present), 900):
                chunk = present[start : start + 900]
                sql = plan.sql.replace("{ids}", ", ".join("?" * len(chunk)))
                for row in self._conn.execute(sql, [*chunk, *plan.params]):
                    bucket = grouped.setdefault(row[0], [])
                    if plan.limit is None or len(bucket) < plan.limit:
                        bucket.append(self._build(row, plan.nodes, plan.sobject, row[1], version))
            for record_id, record in zip(present, records, strict=True):
                children = grouped.get(record_id)
                record[plan.key] = (
                    {"totalSize": len(children), "done": True, "records": children}
                    if children
                    else None
                )
        return records

    def _build(
        self,
        row: tuple[Any, ...],
        nodes: list[Column | RelNode],
        obj: SObject,
        record_id: str,
        version: str,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/sobjects/{obj.name}/{record_id}",
            }
        }
        for node in nodes:
            if isinstance(node, Column):
                record[node.key] = to_json(node.field, row[node.index])
            else:
                parent_id = row[node.id_index]
                record[node.key] = (
                    None
                    if parent_id is None
                    else self._build(row, node.nodes, node.sobject, parent_id, version)
                )
        return record


__all__ = ["DEFAULT_API_VERSION", "DEFAULT_USERNAME", "KEY_PREFIXES", "Org"]
