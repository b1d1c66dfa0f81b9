"""The read side: doorbells between processes, the hub that renders once, and reader sockets."""
