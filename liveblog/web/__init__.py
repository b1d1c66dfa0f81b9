"""HTTP and WebSocket endpoints; routes.py holds the whole URL map."""
