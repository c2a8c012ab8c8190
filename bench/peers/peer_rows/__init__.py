"""The table the one-ORM-insert job of every peer writes a row to (created by ``migrate --run-syncdb``)."""
