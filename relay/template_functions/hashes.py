"""The functions of syslog-ng 3.38's cryptofuncs module: the digests (``hash``, ``sha1``,
``sha256``, ``sha512``, ``md5``; ``md4`` as OpenSSL 3 refuses it) and ``uuid``.

Part of the templates stage (``relay.template_functions``).
"""

from __future__ import annotations

import hashlib
import uuid

from relay.errors import TemplateError
from relay.message import LogMessage
from relay.template_functions._common import (
    CompileContext,
    FunctionCompiler,
    Render,
    compile_args,
    goption,
    to_bytes,
)


def _compile_hash(name: str, args: list[str], context: CompileContext) -> Render:
    opts, rest = goption(name, args, {"length": ("l", "int")})
    if not rest:
        raise TemplateError("$(hash) parsing failed, invalid number of arguments")
    digest = "sha256" if name == "hash" else name
    if digest == "md4":
        raise TemplateError("MD4 hash function is not available starting with OpenSSL 3.0.")
    renders = compile_args(rest, context)
    size = hashlib.new(digest).digest_size * 2
    length = int(opts.get("length", 0))  # type: ignore[call-overload]
    if length <= 0 or length > size:
        length = size  # a negative length reads past the digest in syslog-ng: not followed

    def render(msg: LogMessage) -> str:
        h = hashlib.new(digest)
        for r in renders:
            h.update(to_bytes(r(msg)))
        return h.hexdigest()[:length]

    return render


def _compile_uuid(name: str, args: list[str], context: CompileContext) -> Render:
    compile_args(args, context)
    return lambda msg: str(uuid.uuid4())


FUNCTIONS: dict[str, FunctionCompiler] = {
    "hash": _compile_hash,
    "sha1": _compile_hash,
    "sha256": _compile_hash,
    "sha512": _compile_hash,
    "md4": _compile_hash,
    "md5": _compile_hash,
    "uuid": _compile_uuid,
}
