"""Deploying flows: the import graph, code bundles, and the loader that runs them."""
