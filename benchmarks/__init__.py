"""Ratio benchmarks for asyncgroups; see ``benchmarks/README.md``."""
