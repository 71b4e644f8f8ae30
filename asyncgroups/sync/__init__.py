"""Bulk membership sync: desired state -> plan -> apply -> verify."""
