"""The write path: each change is one transaction that appends an event with the next seq."""
