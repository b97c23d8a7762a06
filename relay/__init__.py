"""relay: an asyncio syslog-to-JSON stream relay.

The package reads in the order a message travels: sources -> framing -> parse ->
message -> pipeline (filters, rewrites, log paths) -> templates -> destinations.
"""

__version__ = "0.1.0"
