"""The ``asyncgroups`` command-line interface."""
