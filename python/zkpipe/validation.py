"""pydantic validation errors as one message that names each bad field by its dotted path."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["describe_validation_error"]


def describe_validation_error(
    err: ValidationError, prefix: str = "", *, unknown: str = "unknown field"
) -> str:
    """Every problem in `err`, "; "-separated, each naming `prefix` + its dotted location."""
    problems = []
    for item in err.errors():
        path = ".".join(str(part) for part in item["loc"])
        name = prefix + "." + path if prefix and path else prefix or path
        if item["type"] == "extra_forbidden":
            problems.append(f"{unknown} {name!r}")
        elif item["type"] == "missing":
            problems.append(f"{name} is missing")
        elif item["type"] in ("model_type", "model_attributes_type", "dict_type"):
            problems.append(f"{name} must be a table (an object)")
        elif item["type"] == "value_error":
            reason = str(item["ctx"]["error"])
            problems.append(f"{name} {reason}" if name else reason)
        else:
            problems.append(f"{name}: {item['msg']}, got {item['input']!r}")
    return "; ".join(problems)
