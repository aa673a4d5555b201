"""A printable report of one reading: the marked text, the summary, the miscues, the photo.

:mod:`core.report.marked_text` marks the reference text word by word from a result's
errors, :mod:`core.report.photo` turns the errors into marks on the photo,
:mod:`core.report.render` writes the self-contained HTML document and
:mod:`core.report.pdf` prints it to PDF. The package knows neither FastAPI nor Ray.
"""
