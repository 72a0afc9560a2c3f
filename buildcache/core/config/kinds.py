"""Pure: the converters of core/config/schema.py, one per kind of setting: a TOML value -> the typed
value, or a ConfigError that names the file and the key (through the Reader)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from buildcache.core.build_inputs import (
    CONTEXT_NAME,
    ENV_NAME,
    LABEL_KEY,
    SECRET_ID,
    Secret,
    context_value,
    parse_ssh,
)
from buildcache.core.config.declare import Setting
from buildcache.core.config.reader import Reader, as_written, kind_of
from buildcache.core.platforms import PlatformError, normal_platform
from buildcache.core.reference import ImageRef, ReferenceError, parse_image_name
from buildcache.errors import UsageError

TAG_CHARS = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
DURATION = re.compile(r"(\d{1,4})([hdw])")
BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def images(reader: Reader, setting: Setting, key: str, value: Any) -> tuple[ImageRef, ...]:
    if value is None and not setting.required:
        return ()  # a variant's own: none, the config's
    names = string_list(reader, key, value)
    if not names:
        raise reader.error(key, "must name at least one image")
    images = tuple(image_ref(reader, key, name) for name in names)
    for n, image in enumerate(images):
        if image in images[:n]:
            first = names[images.index(image)]
            raise reader.error(
                key, f"names the same image twice: {first!r} and {names[n]!r} are both {image}"
            )
    return images


def image(reader: Reader, setting: Setting, key: str, value: Any) -> ImageRef | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise reader.error(key, f"must be a string, not {kind_of(value)}")
    return image_ref(reader, key, value)


def image_ref(reader: Reader, key: str, value: str) -> ImageRef:
    try:
        image = parse_image_name(value.strip())
    except ReferenceError as error:
        # a tag or a digest is the one mistake with a reason behind it worth saying
        hint = "buildcache makes the tags" if "without a tag or digest" in str(error) else None
        raise reader.error(key, str(error), hint=hint) from None
    path = value.strip().partition("/")[2]
    if path != path.lower():
        reader.notes.append(f"{key}: {value.strip()!r} is pushed as {image} (lowercase)")
    return image


def platforms(reader: Reader, setting: Setting, key: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    platforms = _normal_platforms(reader, key, value)
    if len(set(platforms)) != len(platforms):
        raise reader.error(key, f"names a platform twice: {', '.join(platforms)}")
    if not platforms and setting.default:
        raise reader.error(key, "must name at least one platform")
    return platforms


def _normal_platforms(reader: Reader, key: str, value: Any) -> tuple[str, ...]:
    """Each platform as BuildKit names it (linux/x86_64 is linux/amd64)."""
    try:
        return tuple(normal_platform(p) for p in string_list(reader, key, value))
    except PlatformError as error:
        raise reader.error(key, str(error)) from None


def path_kind(reader: Reader, setting: Setting, key: str, value: Any) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise reader.error(key, f"must be a string, not {kind_of(value)}")
    if not value.strip():
        raise reader.error(key, "must not be empty")
    return reader.root / value


def name(reader: Reader, setting: Setting, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise reader.error(
            key, f"must be a non-empty string without surrounding spaces, not {as_written(value)}"
        )
    return value


def args(reader: Reader, setting: Setting, key: str, value: Any) -> dict[str, str]:
    args: dict[str, str] = {}
    for name, arg in mapping(reader, key, value).items():
        if not BUILD_ARG_NAME.fullmatch(name):
            raise reader.error(f"{key}.{name}", "is not a valid build argument name")
        args[name] = _arg(reader, f"{key}.{name}", name, arg)
    return args


def _arg(reader: Reader, where: str, name: str, arg: Any) -> str:
    if isinstance(arg, bool | float):
        # 3.10 in TOML is the float 3.1: refuse rather than build the wrong thing.
        raise reader.error(
            where,
            f"must be a string, not {kind_of(arg)}",
            hint=f'quote it: {name} = "{str(arg).lower() if isinstance(arg, bool) else arg}"',
        )
    if isinstance(arg, dict):
        return env_value(reader, where, arg)
    if not isinstance(arg, str | int):
        raise reader.error(where, f"must be a string, not {kind_of(arg)}")
    return str(arg)


def env_value(reader: Reader, key: str, value: Mapping[str, Any]) -> str:
    """`{ env = "GIT_SHA" }` (or with `default = "dev"`): the value of a variable of the run."""
    variable, default = _env_and_default(reader, key, value)
    if variable in reader.env:
        reader.sources[key] = f"env {variable}"
        return reader.env[variable]
    if default is None:
        raise reader.error(
            key,
            f"takes its value from the environment variable {variable}, which is not set",
            hint=f'set it, or give a default: {{ env = "{variable}", default = "..." }}',
        )
    return default


def _env_and_default(reader: Reader, key: str, value: Mapping[str, Any]) -> tuple[str, str | None]:
    """The variable `{ env = ... }` names, and its default if it has one."""
    variable, default = value.get("env"), value.get("default")
    if set(value) - {"env", "default"} or not isinstance(variable, str):
        raise reader.error(key, 'must be a string or { env = "NAME" } (with an optional default)')
    if not ENV_NAME.fullmatch(variable) or not isinstance(default, str | None):
        raise reader.error(key, f"{{ env = {variable!r} }} must name a variable; a default is text")
    return variable, default


def secrets(reader: Reader, setting: Setting, key: str, value: Any) -> tuple[Secret, ...]:
    """`[secrets] id = { env = "NAME" }` or `{ file = "path" }`, optionally `required = false`."""
    return tuple(
        _secret(reader, f"{key}.{secret_id}", secret_id, body)
        for secret_id, body in mapping(reader, key, value).items()
    )


def _secret(reader: Reader, where: str, secret_id: str, body: Any) -> Secret:
    if not SECRET_ID.fullmatch(secret_id):
        raise reader.error(where, "is not a secret id (letters, digits, '_', '.', '-')")
    env, file, required = _secret_fields(reader, where, body)
    if env is not None:
        if not (isinstance(env, str) and ENV_NAME.fullmatch(env)):
            raise reader.error(where + ".env", f"{env!r} is not an environment variable's name")
        return Secret(secret_id, env=env, required=required)
    if not (isinstance(file, str) and file.strip() and "," not in file):
        raise reader.error(where + ".file", "must be a path without commas")
    return Secret(secret_id, file=reader.root / Path(file).expanduser(), required=required)


def _secret_fields(reader: Reader, where: str, body: Any) -> tuple[Any, Any, bool]:
    """A secret's env or file (one of them), and whether it is required."""
    if not isinstance(body, dict) or set(body) - {"env", "file", "required"}:
        raise reader.error(where, 'must be { env = "NAME" } or { file = "path" }')
    env, file, required = body.get("env"), body.get("file"), body.get("required", True)
    if (env is None) == (file is None):
        raise reader.error(where, 'must name one of env or file, e.g. { env = "PYPI_TOKEN" }')
    if not isinstance(required, bool):
        raise reader.error(where + ".required", f"must be true or false, not {kind_of(required)}")
    return env, file, required


def ssh(reader: Reader, setting: Setting, key: str, value: Any) -> tuple[str, ...]:
    """`ssh = ["default"]` (the agent of SSH_AUTH_SOCK) or `["deploy=keys/id_ed25519"]`."""
    entries = []
    for entry in string_list(reader, key, value):
        try:
            entries.append(parse_ssh(entry, reader.root))
        except UsageError as error:
            raise reader.error(key, error.message.removeprefix("--ssh "), hint=error.hint) from None
    return tuple(entries)


def contexts(reader: Reader, setting: Setting, key: str, value: Any) -> dict[str, str]:
    """`[contexts] name = "../shared"` or `"docker-image://..."`: named build contexts."""
    found = {}
    for context, text in mapping(reader, key, value).items():
        if not CONTEXT_NAME.fullmatch(context) or not isinstance(text, str) or not text.strip():
            raise reader.error(
                f"{key}.{context}", "must be a folder or a docker-image:// reference"
            )
        found[context] = context_value(text.strip(), reader.root)
    return found


def refs(reader: Reader, setting: Setting, key: str, value: Any) -> tuple[ImageRef, ...]:
    """Image references with a tag (extra cache sources, read after the variant's own)."""
    found = []
    for text in string_list(reader, key, value):
        try:
            ref = ImageRef.parse(text)
        except ReferenceError as error:
            raise reader.error(key, str(error)) from None
        if not ref.tag:
            raise reader.error(key, f"{text!r} needs a tag, e.g. {text}:buildcache-slim")
        found.append(ref)
    return tuple(found)


def names(reader: Reader, setting: Setting, key: str, value: Any) -> tuple[str, ...]:
    return tuple(string_list(reader, key, value))


def provenance(reader: Reader, setting: Setting, key: str, value: Any) -> str:
    if value is False or value in ("false", "off"):
        return "off"
    if value not in ("auto", "min", "max"):
        raise reader.error(key, f'must be "min", "max", false or "auto", not {as_written(value)}')
    return str(value)


def tag_prefix(reader: Reader, setting: Setting, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise reader.error(key, f"must be a string, not {kind_of(value)}")
    if value and not TAG_CHARS.fullmatch(value + "x"):
        raise reader.error(
            key, f"{value!r} cannot start a Docker tag (letters, digits, '_', '.', '-')"
        )
    return value


def tag_suffix(reader: Reader, setting: Setting, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise reader.error(key, f"must be a string, not {kind_of(value)}")
    if value and not TAG_CHARS.fullmatch("x" + value):
        raise reader.error(
            key, f"{value!r} cannot end a Docker tag (letters, digits, '_', '.', '-')"
        )
    return value


def tag_pattern(reader: Reader, setting: Setting, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise reader.error(key, f"must be a non-empty string, not {as_written(value)}")
    if not TAG_CHARS.fullmatch(re.sub(r"\{\{\s*date\s+'[^']*'\s*\}\}", "0", value)):
        raise reader.error(
            key,
            f"{value!r} is not a Docker tag pattern (letters, digits, '_', '.', '-', and {{{{date 'YYYYMMDD'}}}})",
        )
    return value


def tags(reader: Reader, setting: Setting, key: str, value: Any) -> tuple[str, ...]:
    tags = tuple(string_list(reader, key, value))
    for tag in tags:
        if not TAG_CHARS.fullmatch(tag) or len(tag) > 128:
            raise reader.error(key, f"{tag!r} is not a valid Docker tag")
    return tags


def latest(reader: Reader, setting: Setting, key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value != "auto":
        raise reader.error(key, f'must be "auto", true or false, not {as_written(value)}')
    return "auto"


def choice(reader: Reader, setting: Setting, key: str, value: Any) -> str:
    if value not in setting.choices:
        close = difflib.get_close_matches(str(value), setting.choices, n=1)
        raise reader.error(
            key,
            f"must be {' or '.join(as_written(c) for c in setting.choices)}, not {as_written(value)}",
            hint=f"perhaps you meant '{close[0]}'?" if close else None,
        )
    return str(value)


def boolean(reader: Reader, setting: Setting, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise reader.error(key, f"must be true or false, not {kind_of(value)}")
    return value


def number(reader: Reader, setting: Setting, key: str, value: Any) -> float:
    integer = setting.kind == "int"
    kind_ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not kind_ok or not 0 <= value <= setting.high:
        kind = "a whole number" if integer else "a number"
        raise reader.error(
            key, f"must be {kind} from 0 to {setting.high:g}, not {as_written(value)}"
        )
    return value  # type: ignore[no-any-return]


def options(reader: Reader, setting: Setting, key: str, value: Any) -> dict[str, str]:
    if setting.kind == "labels":
        return {
            name: _label(reader, f"{key}.{name}", name, label)
            for name, label in mapping(reader, key, value).items()
        }
    options: dict[str, str] = {}
    for name, option in mapping(reader, key, value).items():
        if setting.kind == "cache-options" and name in ("type", "ref", "mode"):
            raise reader.error(
                f"{key}.{name}",
                "is set by buildcache itself",
                hint="use cache.image, cache.tag-prefix and cache.mode",
            )
        options[name] = _option(reader, f"{key}.{name}", option)
    return options


def _option(reader: Reader, where: str, option: Any) -> str:
    """An option's value as text (true, false, a number, a string), which takes no comma."""
    if isinstance(option, bool):
        return "true" if option else "false"
    if not isinstance(option, str | int) or "," in str(option):
        raise reader.error(where, "must be a string without commas")
    return str(option)


def _label(reader: Reader, where: str, name: str, label: Any) -> str:
    """Any text, under a label key."""
    if not LABEL_KEY.fullmatch(name) or not isinstance(label, str):
        raise reader.error(where, "must be a string, under a label key")
    return label


def duration(reader: Reader, setting: Setting, key: str, value: Any) -> timedelta:
    match = DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise reader.error(
            key, f'must be a duration such as "30d", "2w" or "12h", not {as_written(value)}'
        )
    hours = {"h": 1, "d": 24, "w": 24 * 7}[match.group(2)]
    return timedelta(hours=int(match.group(1)) * hours)


# shapes


def mapping(reader: Reader, key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise reader.error(key, f"must be a table, not {kind_of(value)}")
    return value


def string_list(reader: Reader, key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise reader.error(key, f"must be a list of non-empty strings, not {kind_of(value)}")
    odd = next((v for v in value if not (isinstance(v, str) and v.strip())), None)
    if odd is not None or any(not isinstance(v, str) for v in value):
        what = "an empty string" if isinstance(odd, str) else kind_of(odd)
        raise reader.error(key, f"must be a list of non-empty strings, not a list with {what}")
    return [v.strip() for v in value]


def tag_rules(reader: Reader, setting: Setting, key: str, value: Any) -> tuple[str, ...]:
    """metadata-action's `tags` lines, each read now so that a mistake names its key."""

    def check(lines: tuple[str, ...]) -> None:
        from buildcache.core.plan.rules import input_lines, parse_rule

        for line in input_lines(lines):  # `#` comments and blank lines left out
            parse_rule(line)

    return _metadata_lines(reader, key, value, check)


def tag_flavor(reader: Reader, setting: Setting, key: str, value: Any) -> tuple[str, ...]:
    """metadata-action's `flavor` lines."""

    def check(lines: tuple[str, ...]) -> None:
        from buildcache.core.plan.rules import parse_flavor

        parse_flavor(lines)

    return _metadata_lines(reader, key, value, check)


def _metadata_lines(
    reader: Reader, key: str, value: Any, check: Callable[[tuple[str, ...]], None]
) -> tuple[str, ...]:
    """Lines of metadata-action's inputs, checked as its reader checks them; none: the
    shorthand keys make the tags, and the rule reader is not imported."""
    lines = tuple(string_list(reader, key, value))
    if lines:
        try:
            check(lines)
        except UsageError as error:
            # the rule reader names the key as [tags] has it; a variant's own says its own
            own = "tags." + key.rsplit(".", 1)[-1]
            raise reader.error(key, error.message.removeprefix(f"{own}: ")) from None
    return lines


CONVERTERS: dict[str, Callable[[Reader, Setting, str, Any], Any]] = {
    "images": images,
    "image": image,
    "platforms": platforms,
    "path": path_kind,
    "name": name,
    "args": args,
    "tag-prefix": tag_prefix,
    "tag-suffix": tag_suffix,
    "tag-pattern": tag_pattern,
    "tags": tags,
    "latest": latest,
    "choice": choice,
    "bool": boolean,
    "int": number,
    "number": number,
    "options": options,
    "cache-options": options,
    "duration": duration,
    "labels": options,
    "secrets": secrets,
    "ssh": ssh,
    "contexts": contexts,
    "refs": refs,
    "provenance": provenance,
    "names": names,
    "tag-rules": tag_rules,
    "tag-flavor": tag_flavor,
}
