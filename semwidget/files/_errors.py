"""The errors a file semwidget reads can raise: each names the file and what was expected.

All are ``ValueError`` subclasses, so code that caught ``ValueError`` before keeps working.
"""

from __future__ import annotations


class FileFormatError(ValueError):
    """A file is not what it should be: damaged, truncated, of another format, too large
    for what it claims to hold, or not a regular file inside its folder."""


class MissingFileError(FileFormatError, FileNotFoundError):
    """A file that another file names (the arrays of a JSON manifest) is not there."""


class ModelMismatchError(ValueError):
    """A file was made for another model (another fingerprint or other latent shapes)."""
