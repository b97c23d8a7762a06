"""Worker processes: both cores for the network sources (``[options] workers``).

With ``workers = N`` (N > 1) the relay is one main process and N workers:

- the main process binds every TCP and UDP port the workers serve; it accepts TCP
  connections and hands each to the least busy worker, and binds a UDP port once, for
  the first worker to read and the others to read in turn while it asks for help
  (relay.sources.udp.ReadShare; the batches numbered, and put back in the order they
  were read by relay.workers.reorder), so that even one sender is parsed on every core;
- each worker frames, parses, routes and renders what its sockets receive, and hands the
  rendered lines, a batch per destination at a time, to the main process over a unix
  socket (relay.workers.channel);
- the main process owns every destination, so there is still one ``messages.json`` with
  whole lines, one rotation, one subscriber port, and one set of counters and metrics.

Flow control crosses the processes through the kernel: a congested destination pauses
the main process's reading of the channels, a channel whose buffer fills pauses the
worker's connections.  Lines of one connection stay in order (one connection is one
worker, one channel, read in order).  A source is served by the workers when every
destination its log paths reach takes rendered lines as they are (file, pipe, program,
stdout) or is a subscribers feed (the workers run its clients' filters and render for
them, relay.workers.feed); others (TLS, unix sockets, stdin, NATS, or paths to the web
feed, NATS or a templated file path, which need each message) stay in the main process.
"""
