"""The audit layer: everything that writes ``JobRecord`` rows.

``queue`` wraps a backend so that every enqueue gets a record, ``on_commit`` sends jobs once a
transaction commits, ``writer`` is the web process's background writer, ``recorder`` the
worker's, ``inserts`` and ``updates`` the bulk SQL both use, ``rows`` and ``payloads`` turn jobs
into storable values, ``salvage`` sets aside the rows a database refuses all the same,
``lookup`` finds a job in Redis, else in its record, ``state`` copies what Redis knows onto a
record, and ``migrated`` says when its migrations are not applied (``migrate`` not run).
"""
