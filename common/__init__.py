"""Pieces every app shares and none owns: the audit log and the read-only admin base.

It imports no other app of the project, so any of them (and the site package) may import it.
"""
