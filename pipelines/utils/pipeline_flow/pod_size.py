"""CPU and memory of a flow's pod: Kubernetes quantities, checked when the flow is built."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pipelines.errors import ResourceError

# Kubernetes' resource.Quantity: a decimal number and a binary (Ki..Ei) or decimal (n..E)
# suffix, or an exponent (1e3).
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$"
)
_FACTORS = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
    "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}  # fmt: skip
_EXAMPLES = {"cpu": "'500m' (half a core) or '2'", "memory": "'512Mi' or '4Gi'"}


def quantity(text: str, what: str = "memory") -> Decimal:
    """The value of a Kubernetes quantity ('500m' is 0.5, '1Gi' is 1073741824).

    Raises:
        ResourceError: Not a quantity (e.g. '2GB', '1.5 Gi', ''), or not above zero.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    match = _QUANTITY.match(text) if isinstance(text, str) else None
    if not match:
        raise ResourceError(
            f"{what}={text!r} is not a Kubernetes quantity: write e.g. {_EXAMPLES[what]}"
        )
    suffix = match.group("suffix") or ""
    try:
        factor = (
            Decimal(10) ** int(suffix[1:]) if suffix[:1] in "eE" and suffix else _FACTORS[suffix]
        )
        value = Decimal(match.group("number")) * factor
    except (InvalidOperation, KeyError):
        raise ResourceError(f"{what}={text!r} is not a Kubernetes quantity") from None
    if value <= 0:
        raise ResourceError(f"{what}={text!r} must be above zero")
    return value


def check_resources(
    cpu: str | None, memory: str | None, cpu_limit: str | None, memory_limit: str | None
) -> None:
    """Each given quantity parses, and no request is above its limit.

    Raises:
        ResourceError: Naming the value and what to write instead.
    """
    for what, request, limit in (("cpu", cpu, cpu_limit), ("memory", memory, memory_limit)):
        requested = quantity(request, what) if request is not None else None
        limited = quantity(limit, what) if limit is not None else None
        if requested is not None and limited is not None and requested > limited:
            raise ResourceError(
                f"{what}={request!r} is above {what}_limit={limit!r}: the request is what the "
                f"pod is guaranteed, the limit what it may reach; swap them or raise the limit"
            )
