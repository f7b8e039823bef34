"""What DataJoint 2.x does differently, one rule per incompatibility.

Each rule says what happens on 2.x and what replaces the construct, as read from
DataJoint 2.3.5 itself (``datajoint/__init__.py``, ``settings.py``,
``declare.py``, ``autopopulate.py``, ``schemas.py``, ``expression.py``) and
compared with 0.14.10. The scanner attaches a rule to every place it finds;
the rule's text is what a maintainer reads, so it names the exact 2.x behaviour
(exception, warning, silent change) rather than "incompatible".
"""

from __future__ import annotations

from dataclasses import dataclass

#: The construct fails on 2.x (an exception at import, declaration or call).
ERROR = "error"
#: It still runs on 2.x, but means something else: data written or read differs.
CHANGED = "changed"
#: It works on 2.x with a DeprecationWarning, and goes in a later release.
DEPRECATED = "deprecated"

SEVERITIES = (ERROR, CHANGED, DEPRECATED)


@dataclass(frozen=True)
class Rule:
    """One incompatibility between DataJoint 0.14 and 2.x."""

    id: str
    severity: str
    title: str
    on_2x: str
    replacement: str


_RULES = (
    Rule(
        "removed-name",
        ERROR,
        "a name DataJoint 2.x no longer has",
        "AttributeError (module 'datajoint' has no attribute ...) when the line runs, "
        "usually at import",
        "the 2.x name, where there is one",
    ),
    Rule(
        "removed-method",
        ERROR,
        "a method or property of Schema, Table or Diagram that DataJoint 2.x no longer has",
        "AttributeError: 'Schema' object has no attribute ... when the line runs",
        "the 2.x method, where there is one",
    ),
    Rule(
        "config-custom",
        ERROR,
        'dj.config["custom"]',
        "KeyError: Setting 'custom' not found: the 2.x Config (pydantic, extra keys "
        "forbidden) has no free-form section; dj.config.get('custom') always returns "
        "its default",
        "keep Element settings outside dj.config (a module-level dict, environment "
        "variables such as DATABASE_PREFIX); 2.x has no schema-name prefix setting "
        "(database.database_prefix is deprecated and prefixes nothing)",
    ),
    Rule(
        "config-unknown-key",
        ERROR,
        "a dj.config key DataJoint 2.x does not have",
        "KeyError (Setting '...' not found) or pydantic ValidationError (Object has no "
        "attribute ...) on read and write",
        "the 2.x key where one exists (see datajoint.settings.Config); otherwise remove the access",
    ),
    Rule(
        "config-obsolete-key",
        ERROR,
        "a dj.config key whose behaviour is built into DataJoint 2.x",
        "KeyError: Setting '...' not found",
        "delete the statement: 2.x always behaves as the key asked for",
    ),
    Rule(
        "config-membership",
        ERROR,
        "key in dj.config",
        "AttributeError: 'int' object has no attribute 'split': the 2.x Config has no "
        "__contains__, so Python probes it with dj.config[0], [1], ...",
        "dj.config.get(key) is not None, for a key 2.x has",
    ),
    Rule(
        "config-method",
        ERROR,
        "a dict method of the 0.14 dj.config",
        "AttributeError: the 2.x Config is a settings object with get, load, "
        "get_store_spec, override and save_template only",
        "assign keys one at a time (dj.config[key] = value), dj.config.load(path), or "
        "datajoint.json",
    ),
    Rule(
        "type-boolean",
        ERROR,
        "attribute type boolean",
        "DataJointError: Unsupported attribute type boolean, when the table is declared",
        "bool (the 2.x core type, tinyint on MySQL, boolean on PostgreSQL)",
    ),
    Rule(
        "type-attach",
        ERROR,
        "attribute type attach (bare or @store)",
        "DataJointError: Unsupported attribute type attach, when the table is declared",
        "the codec <attach> (in the table) or <attach@store>",
    ),
    Rule(
        "type-external",
        ERROR,
        "an external-store type written the 0.14 way (blob@store, filepath@store)",
        "DataJointError: Unsupported attribute type ..., when the table is declared",
        "the codec form <blob@store> / <filepath@store>; the store is configured in "
        'dj.config["stores"]',
    ),
    Rule(
        "type-enum-quotes",
        ERROR,
        "an enum whose values are in double quotes",
        "the SQL DataJoint 2.3.5 generates is invalid: the type is copied into the column "
        'comment (":enum(...):") after the comment\'s double quotes were escaped, so MySQL '
        "reports a syntax error at declaration",
        "the same enum with single-quoted values",
    ),
    Rule(
        "type-mysql-only",
        ERROR,
        "a MySQL-only native type (tinyint, double, mediumint, unsigned, *text, year)",
        "declares on MySQL; on PostgreSQL 2.x passes native types through as written, and "
        "the server has no such type (CREATE TABLE fails)",
        "the core type that is the same column on MySQL (tinyint -> int8, double -> "
        "float64); unsigned, mediumint, *text and year have none: choose a core type",
    ),
    Rule(
        "type-native-blob",
        CHANGED,
        "bare blob / tinyblob / mediumblob / longblob",
        "declares, with only a warning, a raw-bytes column: a numpy array or dict no "
        "longer serialises into it (2.3.5 refuses it on insert, MySQL; PostgreSQL has "
        "no such type at all) and values a 0.14 pipeline wrote read back as bytes",
        "the codec <blob> (DataJoint's serialisation, as 0.14's blob did); bytes if raw "
        "binary was meant",
    ),
    Rule(
        "computed-new-key",
        DEPRECATED,
        "a Computed or Imported table that adds primary-key attributes of its own",
        "forbidden by 2.x (AutoPopulate._declare_check: 'Auto-populated table ... has "
        "non-FK primary key attribute(s)'), but not enforced in 2.3.5: Table._declare_check "
        "comes first in Computed's and Imported's method order, so the table still "
        "declares; a release that fixes the order refuses it",
        "take the extra key attributes into a Part table of the Computed/Imported "
        "table (one make() per key of its key source), or, to keep the 0.14 layout, set "
        'dj.config["jobs.allow_new_pk_fields_in_computed_tables"] = True before activation',
    ),
    Rule(
        "drop-force",
        ERROR,
        "schema.drop(force=...)",
        "TypeError: Schema.drop() got an unexpected keyword argument 'force' (2.x: "
        "drop(prompt=None)); a positional True now means prompt=True, the opposite",
        "drop(prompt=False) for force=True; drop(prompt=None) for force=False (prompt "
        "follows safemode, as 0.14 did)",
    ),
    Rule(
        "fetch-deprecated",
        DEPRECATED,
        "query.fetch(...)",
        "DeprecationWarning: fetch() is deprecated in DataJoint 2.0",
        "to_arrays(...) (fetch() / fetch('a', 'b')), to_dicts() (as_dict=True), "
        "to_pandas() (format='frame'), keys() (fetch('KEY'))",
    ),
    Rule(
        "fetch-argument",
        ERROR,
        "a fetch argument DataJoint 2.x does not accept",
        "TypeError: fetch() got an unexpected keyword argument (download_path, ...); "
        "AttributeError for dj.key, which 2.x no longer has",
        "to_arrays / to_dicts with the attributes; configure downloads with "
        'dj.config["download_path"]',
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}

#: Names of datajoint 0.14.10's ``__all__`` that 2.3.5 does not have, with the
#: 2.x name (or None when there is none to substitute mechanically) and advice.
REMOVED_NAMES: dict[str, tuple[str | None, str]] = {
    "schema": ("Schema", "dj.Schema (same arguments)"),
    "ERD": ("Diagram", "dj.Diagram"),
    "Di": ("Diagram", "dj.Diagram"),
    "create_virtual_module": ("VirtualModule", "dj.VirtualModule (same arguments)"),
    "key": (None, 'the string "KEY" in fetch, or query.keys()'),
    "key_hash": (None, "hash the key yourself (hashlib over its sorted items)"),
    "kill": (None, "SHOW PROCESSLIST / KILL through dj.conn().query"),
    "set_password": (None, "ALTER USER through dj.conn().query"),
    "AttributeAdapter": (None, "a dj.Codec subclass, used as <name> in definitions"),
}

#: Public methods and properties of 0.14.10's Schema, Table and Diagram that 2.3.5 lacks,
#: matched by name on any object (they are distinctive enough), with the 2.x name (and
#: its renamed keywords) or None, and advice. Common words (``log``, ``save``, ``code``,
#: ``external``, ``target``) are left out: matching them by name would mostly find
#: other objects.
REMOVED_METHODS: dict[str, tuple[str | None, dict[str, str], str]] = {
    "spawn_missing_classes": (
        "make_classes",
        {"context": "into"},
        "schema.make_classes(into=...) (context= is into=)",
    ),
    "size_on_disk": (
        None,
        {},
        "SUM(data_length + index_length) of information_schema.tables, through dj.conn().query",
    ),
    "topo_sort": (
        None,
        {},
        "networkx.topological_sort(dj.conn().dependencies) (a networkx graph in 2.x)",
    ),
}

#: Every key DataJoint 2.3.5's ``Config`` accepts (``stores.*`` is free-form).
CONFIG_KEYS_2X = frozenset(
    {
        "database.host",
        "database.user",
        "database.password",
        "database.backend",
        "database.port",
        "database.name",
        "database.reconnect",
        "database.use_tls",
        "database.database_prefix",
        "database.create_tables",
        "connection.charset",
        "display.limit",
        "display.width",
        "display.show_tuple_count",
        "display.diagram_direction",
        "display.diagram_theme",
        "jobs.auto_refresh",
        "jobs.keep_completed",
        "jobs.stale_timeout",
        "jobs.default_priority",
        "jobs.version_method",
        "jobs.allow_new_pk_fields_in_computed_tables",
        "jobs.add_job_metadata",
        "provenance.capture",
        "provenance.source",
        "stores",
        "loglevel",
        "safemode",
        "ignore_config_file",
        "query_cache",
        "download_path",
    }
)
#: Sections of the 2.x Config: reading ``dj.config["display"]`` is valid.
CONFIG_SECTIONS_2X = frozenset(key.split(".")[0] for key in CONFIG_KEYS_2X if "." in key)

#: 0.14 keys whose behaviour 2.x always has: the statement setting them can go.
OBSOLETE_CONFIG_KEYS = frozenset({"enable_python_native_blobs"})

#: Methods of 0.14's dict-like Config that 2.x's settings object lacks.
REMOVED_CONFIG_METHODS = frozenset(
    {
        "clear",
        "items",
        "keys",
        "pop",
        "popitem",
        "save",
        "save_global",
        "save_local",
        "setdefault",
        "update",
        "values",
    }
)


def config_key_status(key: str) -> str | None:
    """The rule a ``dj.config[key]`` access breaks, or None when 2.x accepts ``key``."""
    if key in CONFIG_KEYS_2X or key in CONFIG_SECTIONS_2X or key.startswith("stores."):
        return None
    if key == "custom" or key.startswith("custom."):
        return "config-custom"
    if key in OBSOLETE_CONFIG_KEYS:
        return "config-obsolete-key"
    return "config-unknown-key"
