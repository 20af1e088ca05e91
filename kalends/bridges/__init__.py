"""Providers: one small async Protocol (``base``) and one module or subpackage per provider."""
