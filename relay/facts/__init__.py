"""syslog-ng's facts and its C-compatible helpers: the leaf layer of the relay.

Every other layer may import these modules; they import nothing else of the relay (but
``relay.errors``), so a fact about syslog-ng is written once, here:

- ``relay.facts.names``: facilities, severities, macro and date names, pair aliases, type
  hints, protocols and defaults;
- ``relay.facts.cnum``: numbers and addresses read as C reads them (strtol, atoi, strtod,
  inet_aton);
- ``relay.facts.goption``: command-line style options read as GLib's GOption reads them;
- ``relay.facts.allow``: allow lists of CIDR networks, for the listeners.
"""
