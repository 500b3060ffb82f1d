"""The one YAML reader and writer: safe, strict and fast.

Every YAML file scalecli reads (presets, law files, ``scale.yaml``, ``scale check`` specs, the
hardware table) goes through :func:`load_mapping`:

* ``yaml.safe_load`` semantics, with libyaml's C parser when PyYAML has it (same safety: the
  safe constructor builds only plain data), about 6x faster on a preset with 1,000 draws;
* a key given twice in one mapping is an error (PyYAML silently keeps the last one, so a second
  ``assert:`` block would drop the first);
* tags, anchors and aliases are refused (plain data never needs them; they are how a file
  builds objects or expands to a memory-exhausting size);
* nesting deeper than ``MAX_DEPTH`` is refused before anything is built.
"""

from __future__ import annotations

from typing import Any

from scalecli.errors import InputError

MAX_DEPTH = 32


def _loader_class():
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc, valid-type]
        """safe_load that refuses duplicate keys."""

    def construct_mapping(loader, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise InputError(
                        f"key {key!r} appears twice (lines {seen[key]} and {key_node.start_mark.line + 1}); "
                        "keep one"
                    )
                seen[key] = key_node.start_mark.line + 1
            except TypeError:
                raise InputError(
                    f"line {key_node.start_mark.line + 1}: a mapping key must be text or a number"
                ) from None
        return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


_LOADER = None


def _check_depth(node, origin: str) -> None:
    """Iteratively: no deeper than MAX_DEPTH, and no node reached twice (an alias)."""
    seen: set[int] = set()
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"{origin}: YAML nested more than {MAX_DEPTH} levels deep")
        if id(current) in seen:
            raise InputError(f"{origin}: YAML anchors and aliases are not allowed")
        seen.add(id(current))
        value = current.value
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):
                    stack.append((item[0], depth + 1))
                    stack.append((item[1], depth + 1))
                else:
                    stack.append((item, depth + 1))


def load_mapping(text: str, origin: str) -> dict[str, Any]:
    """A YAML mapping from ``text``; malformed YAML, duplicate keys, tags, anchors, deep nesting
    and non-mappings are InputErrors that name ``origin`` (and the line, when known)."""
    import yaml

    global _LOADER
    if _LOADER is None:
        _LOADER = _loader_class()
    if any(c in text for c in "&*!"):
        _reject_constructs(text, origin)
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(f"{origin}: file is empty; expected a YAML mapping")
        _check_depth(node, origin)
        data = loader.construct_document(node)
    except InputError as exc:
        message = exc.raw
        raise InputError(message if message.startswith(origin) else f"{origin}: {message}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"{origin}: malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise InputError(f"{origin}: YAML nested too deeply") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise InputError(f"{origin}: expected a YAML mapping at the top level, got {type(data).__name__}")
    return data


def _reject_constructs(text: str, origin: str) -> None:
    import yaml

    try:
        for token in yaml.scan(text):
            if isinstance(token, yaml.TagToken):
                raise InputError(
                    f"{origin}: YAML tags such as {token.value[0]}{token.value[1]} are not allowed"
                )
            if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
                raise InputError(
                    f"{origin}: YAML anchors and aliases (&{token.value}, *{token.value}) are not allowed"
                )
    except yaml.YAMLError:
        return  # malformed: the loader reports it with its line number


def dump(data: Any, width: int = 80) -> str:
    """Block-style YAML of plain data (libyaml's emitter when available)."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=width)
