"""Options read the way GLib's GOption reads an argument vector.

Leaf layer (``relay.facts``).  syslog-ng hands the words of ``$(format-json ...)`` and of
the template functions that take options to ``g_option_context_parse``; ``read_options``
cuts the same words into the same options, in order, and says the same things about bad
ones.  What an option means is the caller's business.

    word    = "--" name ["=" value]      ; a long option
            / "-" letter                 ; a short one (several in one word if allowed)
            / "--"                       ; every word after it is positional
            / "-" / text                 ; positional
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class OptionError(ValueError):
    """A word that GOption would refuse; the text says which and why."""


def read_options(
    argv: list[str],
    takes_value: Mapping[str, bool],
    shorts: Mapping[str, str],
    *,
    grouped_shorts: bool = True,
) -> Iterator[tuple[str | None, str | None, str]]:
    """(name, value, as written) for each option and (None, word, word) for each
    positional word, in order.

    ``takes_value`` maps each long name to whether it takes a value (the next word, or
    what follows "=").  ``shorts`` maps letters to long names.  With ``grouped_shorts``
    one word may hold several letters ("-ab"); without it a short option is one letter.
    A flag given a value ("--flag=x") keeps the value: the caller decides.
    """
    i = 0
    n = len(argv)
    while i < n:
        arg = argv[i]
        i += 1
        if arg == "--":
            for rest in argv[i:]:
                yield None, rest, rest
            return
        if not arg.startswith("-") or arg == "-":
            yield None, arg, arg
            continue
        pending: list[tuple[str, str, str | None]] = []
        if arg.startswith("--"):
            name, eq, inline = arg[2:].partition("=")
            if name not in takes_value:
                raise OptionError(f"unknown option {arg}")
            pending.append((name, arg, inline if eq else None))
        elif grouped_shorts:
            for letter in arg[1:]:
                if letter not in shorts:
                    raise OptionError(f"unknown option -{letter}")
                pending.append((shorts[letter], "-" + letter, None))
        else:
            if len(arg) != 2 or arg[1] not in shorts:
                raise OptionError(f"unknown option {arg}")
            pending.append((shorts[arg[1]], arg, None))
        for name, shown, value in pending:
            if takes_value[name] and value is None:
                if i >= n:
                    raise OptionError(f"missing argument for {shown}")
                value = argv[i]
                i += 1
            yield name, value, shown
