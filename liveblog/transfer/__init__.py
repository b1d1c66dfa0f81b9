"""A story as one JSON file: `liveblog export` writes it (exporter.py), `liveblog import` loads
it into another instance (importer.py); file_format.py says what the file holds."""
