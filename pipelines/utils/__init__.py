"""Shared runtime code for flows, one package per capability."""
