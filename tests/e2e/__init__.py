"""Failure tests of the scanner client against the real server: real processes, real HTTP."""
