"""Settings: ``base`` (shared, from the environment), ``dev`` (the default), ``production``, ``test``."""
