"""Template folders: ``template.yaml`` (identity and parameter schema) beside ``cookiecutter.json``.

A template is data: a standard cookiecutter template whose parameters are described by a JSON Schema in
``template.yaml``. pipeforge finds the built-in templates shipped with the package, plus any folders
listed in ``PIPEFORGE_TEMPLATE_PATH`` (``os.pathsep``-separated, each a folder of template folders).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from generator.errors import ManifestError, TemplateDefinitionError, TemplateNotFoundError
from generator.yamlio import SizeLimit, load_documents, load_json, read_text

TEMPLATE_FILE = "template.yaml"
COOKIECUTTER_FILE = "cookiecutter.json"
TEMPLATE_PATH_ENV = "PIPEFORGE_TEMPLATE_PATH"
PLAIN_VERSION = "0.0.0"  # the version of a template with no template.yaml to give one
#: The largest template.yaml or cookiecutter.json read (the built-in ones are under 8 KB).
MAX_TEMPLATE_FILE_BYTES = 256 * 1024
_TEMPLATE_SIZE = SizeLimit(MAX_TEMPLATE_FILE_BYTES, "MAX_TEMPLATE_FILE_BYTES")


def builtin_templates_dir() -> Path:
    """The built-in templates: packaged in the wheel, or the repository's ``templates/`` folder."""
    packaged = Path(__file__).with_name("builtin_templates")
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of a template, from its JSON Schema property."""

    name: str
    schema: dict[str, Any]
    required: bool

    @property
    def type(self) -> str:
        return str(self.schema.get("type", "string"))

    @property
    def default(self) -> Any:
        return self.schema.get("default")

    @property
    def description(self) -> str:
        return str(self.schema.get("description", ""))

    @property
    def enum(self) -> list[Any] | None:
        value = self.schema.get("enum")
        return list(value) if isinstance(value, list) else None

    @property
    def free_text(self) -> bool:
        """A string with no pattern or enum: any text is allowed, within the universal rules."""
        return self.type == "string" and "pattern" not in self.schema and "enum" not in self.schema


@dataclass(frozen=True)
class Migration:
    """What upgrading across ``version`` does to a pipeline's recorded answers (``migrations:`` in
    template.yaml): parameters renamed, and values for new parameters instead of their schema defaults."""

    version: str
    rename: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class TemplateSpec:
    """A template folder and what its ``template.yaml`` says about it."""

    path: Path
    name: str
    version: str
    summary: str
    tags: tuple[str, ...]
    parameters: tuple[ParameterSpec, ...]
    schema: dict[str, Any]
    cookiecutter: dict[str, Any] = field(repr=False)
    migrations: tuple[Migration, ...] = ()
    changelog: str | None = None  # what changed in this version (``changelog:`` in template.yaml)
    derived: bool = False  # no template.yaml: identity and schema derived from cookiecutter.json

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary, as ``pipeforge templates --json`` prints it."""
        return {
            "name": self.name,
            "version": self.version,
            "summary": self.summary,
            "tags": list(self.tags),
            "parameters": self.schema,
        }


def _fail(path: Path, message: str) -> TemplateDefinitionError:
    return TemplateDefinitionError(f"template at {path}: {message}")


def _bounded_read(path: Path, read: Callable[[], Any]) -> Any:
    """``read()``, with a reading limit or bad JSON turned into an error naming the template (never the
    server's own folder: a template may come from anyone)."""
    try:
        return read()
    except ManifestError as exc:
        raise _fail(path, exc.message.replace(str(path) + os.sep, "")) from None
    except ValueError as exc:
        raise _fail(path, f"{COOKIECUTTER_FILE} is not valid JSON: {exc}") from None


def _read_cookiecutter(path: Path, cc_path: Path) -> Any:
    return _bounded_read(path, lambda: load_json(read_text(cc_path, limit=_TEMPLATE_SIZE), file=COOKIECUTTER_FILE,
                                                 limit=_TEMPLATE_SIZE))


def _read_files(path: Path, meta_path: Path, cc_path: Path) -> tuple[dict[str, Any], Any]:
    """template.yaml and cookiecutter.json, read within the limits (a template may come from anyone)."""
    docs = _bounded_read(path, lambda: load_documents(read_text(meta_path, limit=_TEMPLATE_SIZE),
                                                      file=TEMPLATE_FILE, limit=_TEMPLATE_SIZE))
    meta = docs[0] if docs else None
    if not isinstance(meta, dict):
        raise _fail(path, f"{TEMPLATE_FILE} must be a mapping")
    return meta, _read_cookiecutter(path, cc_path)


def is_template_folder(path: Path) -> bool:
    return (path / COOKIECUTTER_FILE).is_file()


def load_template(path: Path, *, name: str | None = None) -> TemplateSpec:
    """Read and check a template folder; a broken template is a TemplateDefinitionError naming the file.
    A folder with only cookiecutter.json is an ordinary cookiecutter template, named ``name`` (default:
    the folder's name)."""
    meta_path, cc_path = path / TEMPLATE_FILE, path / COOKIECUTTER_FILE
    if not cc_path.is_file():
        raise _fail(path, f"a template folder needs {COOKIECUTTER_FILE} (and may have {TEMPLATE_FILE})")
    if not meta_path.is_file():
        from slugify import slugify  # lazy: python-slugify only for a plain cookiecutter folder's name

        return _load_plain(path, cc_path, name or slugify(path.name, max_length=63) or "template")
    meta, cookiecutter = _read_files(path, meta_path, cc_path)
    for key in ("name", "version", "summary", "parameters"):
        if key not in meta:
            raise _fail(path, f"{TEMPLATE_FILE} lacks '{key}'")
    schema = meta["parameters"]
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        raise _fail(path, f"{TEMPLATE_FILE}: parameters must be a JSON Schema object with properties")
    required = set(schema.get("required", []))
    params = tuple(ParameterSpec(str(k), dict(v), k in required) for k, v in properties.items())
    return TemplateSpec(
        path=path,
        name=str(meta["name"]),
        version=str(meta["version"]),
        summary=str(meta["summary"]),
        tags=tuple(str(t) for t in meta.get("tags") or ()),
        parameters=params,
        schema=_plain(schema),
        cookiecutter=cookiecutter,
        migrations=_migrations(path, meta.get("migrations")),
        changelog=None if meta.get("changelog") is None else str(meta["changelog"]),
    )


def _load_plain(path: Path, cc_path: Path, name: str) -> TemplateSpec:
    """An ordinary cookiecutter template: its parameters and their schema derived from cookiecutter.json
    (``generator.cookiecutter_compat``); version 0.0.0 until a template.yaml says otherwise."""
    from generator.cookiecutter_compat import derive_schema  # lazy: Jinja only for plain cookiecutter templates
    from generator.template_env import environment  # lazy: `pipeforge templates` lists without loading Jinja

    cookiecutter = _read_cookiecutter(path, cc_path)
    if not isinstance(cookiecutter, dict):
        raise _fail(path, f"{COOKIECUTTER_FILE} must be a JSON object")
    try:
        schema = derive_schema(cookiecutter, environment(cookiecutter, name))
    except TemplateDefinitionError as exc:
        raise _fail(path, exc.message) from None
    params = tuple(ParameterSpec(k, dict(v), True) for k, v in schema["properties"].items())
    return TemplateSpec(path=path, name=name, version=PLAIN_VERSION,
                        summary=f"cookiecutter template {name} (no {TEMPLATE_FILE})", tags=("cookiecutter",),
                        parameters=params, schema=schema, cookiecutter=cookiecutter, derived=True)


def _migrations(path: Path, node: Any) -> tuple[Migration, ...]:
    if node is None:
        return ()
    if not isinstance(node, list):
        raise _fail(path, f"{TEMPLATE_FILE}: migrations must be a list of {{version, rename, defaults}}")
    found = []
    for index, item in enumerate(node):
        where = f"{TEMPLATE_FILE}: migrations[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("version"), str):
            raise _fail(path, f"{where} needs a version (the version that introduces the change)")
        unknown = set(item) - {"version", "rename", "defaults"}
        if unknown:
            raise _fail(path, f"{where}: unknown keys {sorted(unknown)} (allowed: version, rename, defaults)")
        rename, defaults = item.get("rename") or {}, item.get("defaults") or {}
        if not isinstance(rename, dict) or not all(isinstance(v, str) for v in rename.values()):
            raise _fail(path, f"{where}: rename must map old parameter names to new ones")
        if not isinstance(defaults, dict):
            raise _fail(path, f"{where}: defaults must map parameter names to values")
        found.append(Migration(item["version"], {str(k): v for k, v in rename.items()}, _plain(defaults)))
    return tuple(found)


def _plain(value: Any) -> Any:
    """LineDict/LineList to plain dict/list (for JSON output and equality)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def search_path() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(TEMPLATE_PATH_ENV, "").split(os.pathsep) if p]
    return [*extra, builtin_templates_dir()]


def _folders() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in reversed(search_path()):  # earlier entries win
        if root.is_dir():
            for child in sorted(root.iterdir()):
                if is_template_folder(child):
                    found[child.name] = child
    return found


def list_templates() -> list[TemplateSpec]:
    return [_load_cached(path) for _, path in sorted(_folders().items())]


def find_template(name: str) -> TemplateSpec:
    """A template by name, or a TemplateNotFoundError listing the ones that exist."""
    if Path(name).is_dir() and is_template_folder(Path(name)):
        return _load_cached(Path(name).resolve())
    folders = _folders()
    if name not in folders:
        known = ", ".join(sorted(folders)) or "none"
        raise TemplateNotFoundError(f"no template named '{name}'; available: {known}")
    return _load_cached(folders[name])


@cache
def _load_cached(path: Path) -> TemplateSpec:
    return load_template(path)
